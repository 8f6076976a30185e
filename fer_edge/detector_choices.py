"""The face detector choices: the one definition of their names, the default, and which scene each
is for (`fer-edge run/bench --detector`, `fer_edge.Recognizer(detector=...)`). Plain data, no numpy
or model code, so `--help` loads nothing heavy. Figures: docs/performance.md ("Face detectors").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorChoice:
    name: str
    help: str
    max_side: int | None = None  # YuNet: the long side of the network's input (a larger frame is shrunk)
    # Run the detector on every Nth frame of a video and hold its boxes between (the default of
    # --detect-every): YuNet at 640 px costs 81 ms on a Pi 4, 27 ms a frame at 3; against every frame,
    # 0.96 of the faces on the multi-face clip stay covered (benchmarks/detect_every.py). Stills: every one.
    every: int = 1


CHOICES = (
    DetectorChoice("yunet", "YuNet (OpenCV) at up to 640 px, on every 3rd video frame: a room, faces at 1-5 m, "
                            "several at once", max_side=640, every=3),
    DetectorChoice("yunet320", "YuNet at up to 320 px, on every frame: a room at a quarter of the cost per "
                               "detection; faces within ~3 m", max_side=320),
    DetectorChoice("blazeface", "BlazeFace short-range (LiteRT): one face close to the camera (within ~2 m)"),
    DetectorChoice("blazeface-full", "BlazeFace full-range (LiteRT, 192 px): a few faces a little farther away, "
                                     "misses most small ones"),
    DetectorChoice("mediapipe", "BlazeFace short-range through MediaPipe's own runtime (installed separately: "
                                "pip install --no-deps mediapipe absl-py certifi), to check the LiteRT decoding"),
)
DETECTORS = tuple(c.name for c in CHOICES)
# Users point a camera at a room (kiosks, classrooms, robots): the room detector is the default.
DEFAULT_DETECTOR = "yunet"
BY_NAME = {c.name: c for c in CHOICES}


def help_text() -> str:
    return "Face detector: " + "; ".join(f"{c.name}: {c.help}" for c in CHOICES) + "."
