"""Face detectors: `make_detector(kind)` gives one by name.

base.py       Detection, the model checksum, frame checks
blazeface.py  MediaPipe's BlazeFace graph (anchors, decoding, weighted NMS) in numpy
litert.py     BlazeFace short-range on LiteRT: the default
mediapipe.py  the same model through MediaPipe's own runtime (installed separately): the reference
"""

from __future__ import annotations

from fer_edge import defaults
from fer_edge.defaults import DETECTORS
from fer_edge.edge.detect.base import Detection, check_confidence, check_frame, expected_sha256, read_verified
from fer_edge.edge.detect.litert import FaceDetector
from fer_edge.errors import FerEdgeError

__all__ = ["DETECTORS", "Detection", "FaceDetector", "check_confidence", "check_frame", "expected_sha256",
           "make_detector", "read_verified"]


def make_detector(kind: str = defaults.DETECTOR, min_confidence: float = defaults.MIN_CONFIDENCE, threads: int = 1):
    """The face detector by name: "blazeface" (LiteRT, the default) or "mediapipe" (MediaPipe's Tasks
    runtime, installed separately, for checking the first against it)."""
    if kind == "blazeface":
        return FaceDetector(min_confidence, threads=threads)
    if kind == "mediapipe":
        from fer_edge.edge.detect.mediapipe import MediaPipeFaceDetector

        return MediaPipeFaceDetector(min_confidence)
    raise FerEdgeError(f"unknown detector {kind!r}: use one of {', '.join(DETECTORS)}")
