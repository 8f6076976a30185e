"""Face detection: MediaPipe's BlazeFace short-range model (models/, checksum-verified) on LiteRT.

The model runs on ai-edge-litert, the interpreter the expression model already uses, and its
output is decoded by edge/blazeface.py the way MediaPipe's face-detection graph decodes it. The
MediaPipe runtime is not needed: its aarch64 wheel dies with SIGILL on a Raspberry Pi 4's
Cortex-A72, has no wheel for Python 3.13 on older releases, and its logging client reaches for a
Google endpoint on every run. `make_detector("mediapipe")` still runs MediaPipe's own Tasks
detector (edge/mediapipe_detector.py), as the reference the decoding is tested against.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.detector_choices import BY_NAME, DEFAULT_DETECTOR, DETECTORS  # noqa: F401  (DETECTORS: make_detector's kinds)
from fer_edge.edge import blazeface
from fer_edge.errors import FerEdgeError
from fer_edge.paths import face_detector_model

CHECKSUM_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels (may reach past the edges)
    score: float
    # (x, y) frame pixels of the detector's keypoint_names: blazeface.KEYPOINTS (eyes, nose tip, mouth
    # centre, ear tragions) or yunet.KEYPOINTS (eyes, nose tip, mouth corners)
    keypoints: tuple[tuple[float, float], ...] = ()


def expected_sha256(model_path: Path) -> str | None:
    """The checksum listed for this file in SHA256SUMS beside it, or None when it is not listed."""
    sums = model_path.parent / CHECKSUM_FILE
    if not sums.is_file():
        return None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == model_path.name:
            return parts[0].lower()
    return None


def read_verified(model_path: Path) -> bytes:
    """The model file's bytes, after checking them against SHA256SUMS when the file is listed there."""
    try:
        data = model_path.read_bytes()
    except OSError as exc:
        raise FerEdgeError(f"{model_path}: cannot read face detector model ({exc.strerror})") from None
    want = expected_sha256(model_path)
    if want is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise FerEdgeError(f"{model_path}: checksum {got[:12]}... does not match {CHECKSUM_FILE} "
                               f"({want[:12]}...); the file is damaged or replaced, reinstall fer-edge")
    return data


def check_confidence(min_confidence: float) -> float:
    if not 0.0 <= min_confidence <= 1.0:
        raise FerEdgeError(f"--min-confidence must lie in 0..1, got {min_confidence}")
    return float(min_confidence)


def check_frame(frame: np.ndarray) -> None:
    """A ValueError for what no detector can read: the API's callers get it instead of a crash in native code."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"expected an image as a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image (as OpenCV reads it), got {frame.dtype}")
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4))):
        raise ValueError(f"expected an (H, W) grey or (H, W, 3) BGR image, got shape {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"expected an image of at least 1x1 pixels, got shape {frame.shape}")


class FaceDetector:
    """`detect(frame) -> [Detection]` for a BGR (OpenCV), BGRA or grey uint8 frame, best score first."""

    keypoint_names = blazeface.KEYPOINTS
    # the graph's options (face_detection_short_range.pbtxt); FullRangeDetector has its own
    input_size, strides, anchors_per_layer = blazeface.INPUT_SIZE, blazeface.STRIDES, blazeface.ANCHORS_PER_LAYER
    model_kind = "BlazeFace short-range"

    def __init__(self, min_confidence: float = 0.5, model_path: str | os.PathLike | None = None, threads: int = 1):
        self.min_confidence = check_confidence(min_confidence)
        path = Path(model_path) if model_path is not None else self.default_model()
        data = read_verified(path)
        from ai_edge_litert.interpreter import Interpreter

        from fer_edge.edge.console import quiet_native_stderr

        try:
            with quiet_native_stderr():
                self._interp = Interpreter(model_content=data, num_threads=max(1, int(threads)))
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise FerEdgeError(f"{path}: not a usable face detector model ({exc})") from None
        inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        shape = tuple(int(s) for s in inputs[0]["shape"]) if len(inputs) == 1 else ()
        by_width = {int(o["shape"][-1]): o["index"] for o in outputs}
        if (shape != (1, self.input_size, self.input_size, 3) or inputs[0]["dtype"] != np.float32
                or sorted(by_width) != [1, blazeface.COORDS]):
            raise FerEdgeError(f"{path}: not {self.model_kind} (input {shape}, outputs of width {sorted(by_width)})")
        self._input = inputs[0]["index"]
        self._boxes, self._scores = by_width[blazeface.COORDS], by_width[1]
        self._anchors = blazeface.ssd_anchors(self.input_size, self.strides, self.anchors_per_layer)
        if self._interp.get_tensor(self._boxes).shape[1] != len(self._anchors):
            raise FerEdgeError(f"{path}: not {self.model_kind} ({len(self._anchors)} anchors expected)")
        self.path = path

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self._interp is None:
            raise RuntimeError("FaceDetector used after close()")
        check_frame(frame)
        box = blazeface.letterbox_for(frame.shape[1], frame.shape[0])
        self._interp.set_tensor(self._input, blazeface.input_tensor(frame, box, self.input_size))
        self._interp.invoke()
        scores = blazeface.scores_from_logits(self._interp.get_tensor(self._scores))
        if not (scores >= self.min_confidence).any():  # the common frame: no face, nothing to decode
            return []
        boxes, points, kept = blazeface.decode(self._interp.get_tensor(self._boxes)[0], scores, self._anchors,
                                               self.min_confidence, self.input_size)
        boxes, points, kept = blazeface.weighted_nms(boxes, points, kept)
        pixel_boxes, pixel_points = blazeface.to_frame(boxes, points, box)
        return [Detection(tuple(map(float, b)), float(s), tuple((float(x), float(y)) for x, y in p))
                for b, p, s in zip(pixel_boxes, pixel_points, kept)]

    @staticmethod
    def default_model() -> Path:
        return face_detector_model()

    def close(self) -> None:
        self._interp = None

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_detector(kind: str = DEFAULT_DETECTOR, min_confidence: float = 0.5, threads: int = 1):
    """The face detector by name (fer_edge.detector_choices): "yunet"/"yunet320" (OpenCV, edge/yunet.py),
    "blazeface" or "blazeface-full" (LiteRT) or "mediapipe" (MediaPipe's Tasks runtime, installed separately, for
    checking the LiteRT decoding against it)."""
    if kind in BY_NAME and BY_NAME[kind].max_side is not None:
        from fer_edge.edge.yunet import YuNetDetector

        return YuNetDetector(min_confidence, threads=threads, max_side=BY_NAME[kind].max_side)
    if kind == "blazeface-full":
        from fer_edge.edge.blazeface_full import FullRangeDetector

        return FullRangeDetector(min_confidence, threads=threads)
    if kind == "blazeface":
        return FaceDetector(min_confidence, threads=threads)
    if kind == "mediapipe":
        from fer_edge.edge.mediapipe_detector import MediaPipeFaceDetector

        return MediaPipeFaceDetector(min_confidence)
    raise FerEdgeError(f"unknown detector {kind!r}: use one of {', '.join(DETECTORS)}")
