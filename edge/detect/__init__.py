"""Face detectors: `make_detector(kind)` gives one by name.

base.py            Detection, the model checksum, frame checks
yunet.py           YuNet (OpenCV's FaceDetectorYN): the room detector, the default
blazeface.py       MediaPipe's BlazeFace graph (anchors, decoding, weighted NMS) in numpy
litert.py          BlazeFace short-range on LiteRT: one face close to the camera
blazeface_full.py  BlazeFace full-range (192 px) on LiteRT
mediapipe.py       BlazeFace through MediaPipe's own runtime (installed separately): the reference;
                   mediapipe_import.py imports only its face-detection part
hold.py            a detection held over the frames between two detector runs (--detect-every)
"""

from __future__ import annotations

from fer_edge import defaults
from fer_edge.defaults import DETECTORS
from fer_edge.detector_choices import BY_NAME
from fer_edge.edge.detect.base import Detection, check_confidence, check_frame, expected_sha256, read_verified
from fer_edge.edge.detect.litert import FaceDetector
from fer_edge.errors import FerEdgeError

__all__ = ["DETECTORS", "Detection", "FaceDetector", "check_confidence", "check_frame", "expected_sha256",
           "make_detector", "read_verified"]


def make_detector(kind: str = defaults.DETECTOR, min_confidence: float = defaults.MIN_CONFIDENCE, threads: int = 1):
    """The face detector by name (fer_edge.detector_choices): "yunet"/"yunet320" (OpenCV, yunet.py),
    "blazeface" or "blazeface-full" (LiteRT) or "mediapipe" (MediaPipe's Tasks runtime, installed separately, for
    checking the LiteRT decoding against it)."""
    if kind in BY_NAME and BY_NAME[kind].max_side is not None:
        from fer_edge.edge.detect.yunet import YuNetDetector

        return YuNetDetector(min_confidence, threads=threads, max_side=BY_NAME[kind].max_side)
    if kind == "blazeface-full":
        from fer_edge.edge.detect.blazeface_full import FullRangeDetector

        return FullRangeDetector(min_confidence, threads=threads)
    if kind == "blazeface":
        return FaceDetector(min_confidence, threads=threads)
    if kind == "mediapipe":
        from fer_edge.edge.detect.mediapipe import MediaPipeFaceDetector

        return MediaPipeFaceDetector(min_confidence)
    raise FerEdgeError(f"unknown detector {kind!r}: use one of {', '.join(DETECTORS)}")
