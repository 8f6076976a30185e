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
    # Run the detector on every Nth frame of a video and hold its boxes between, or at once on a new
    # scene (edge/detect/hold.py; the default of --detect-every; stills: each one). YuNet at 640 px costs
    # 81 ms on a Pi 4 (published), about 20 ms a frame at N = 4; against detecting every frame, the
    # held boxes still cover 0.976 of the faces (IoU 0.3; 0.962 at 0.5) on the multi-face clip with its
    # scene cuts, all of them on the three one-face clips; 0.979 at N = 3, 0.948 at N = 6
    # (benchmarks/detect_every.py).
    every: int = 1


CHOICES = (
    DetectorChoice("yunet", "YuNet (OpenCV) at up to 640 px, on every 4th video frame: a room, faces at 1-5 m, "
                            "several at once", max_side=640, every=4),
    DetectorChoice("yunet320", "YuNet at up to 320 px, on every frame: a room at a quarter of the cost per "
                               "detection; faces within ~3 m", max_side=320),
    DetectorChoice("blazeface", "BlazeFace short-range (LiteRT): one face close to the camera (within ~2 m)"),
    DetectorChoice("blazeface-full", "BlazeFace full-range (LiteRT, 192 px): a group filling the frame; misses "
                                     "small faces"),
    DetectorChoice("mediapipe", "BlazeFace short-range through MediaPipe's own runtime (installed separately: "
                                "pip install --no-deps mediapipe absl-py certifi), to check the LiteRT decoding"),
)
DETECTORS = tuple(c.name for c in CHOICES)
# Users point a camera at a room (kiosks, classrooms, robots): the room detector is the default.
DEFAULT_DETECTOR = "yunet"
BY_NAME = {c.name: c for c in CHOICES}


def help_text() -> str:
    return "Face detector: " + "; ".join(f"{c.name}: {c.help}" for c in CHOICES) + "."
