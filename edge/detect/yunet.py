"""The room detector: YuNet (OpenCV Zoo, 2023mar; models/, checksum-verified) through OpenCV's
`cv2.FaceDetectorYN`, which the install already has (opencv-python-headless >= 4.8).

OpenCV runs the network and decodes it (priors, boxes, five landmarks, NMS); this wrapper chooses
the input size, maps boxes and landmarks back to frame pixels and returns `detector.Detection`s.
A frame whose long side exceeds `max_side` is shrunk to it first: the network's cost grows with the
input's area (a Pi 4, published: 81 ms at 640x480, 21 ms at 320x240) while recall on small faces
falls with it (`benchmarks/detection_recall.py --sides` reports recall and time by input size).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from fer_edge.edge.detect.base import Closing, Detection, check_confidence, check_frame, read_verified
from fer_edge.errors import FerEdgeError
from fer_edge.faces import YUNET_MARGIN, YUNET_SHIFT
from fer_edge.paths import models_dir

MODEL_NAME = "face_detection_yunet_2023mar.onnx"
# YuNet's five landmarks, in its output order (the person's right eye first, as BlazeFace's)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "right_mouth_corner", "left_mouth_corner")
NMS_IOU = 0.3  # OpenCV Zoo's demo default
TOP_K = 5000  # candidates kept before NMS: OpenCV Zoo's demo default


def _bgr(frame: np.ndarray) -> np.ndarray:
    """YuNet reads 3-channel BGR."""
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def input_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size the network sees: the frame's own, or shrunk so its long side is `max_side`."""
    if not max_side or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def _create(path: Path, data: bytes, size: tuple[int, int], score: float):
    """From the verified bytes (the file cannot change between the check and the load); an OpenCV
    without the from-memory overload gets the path."""
    try:
        return cv2.FaceDetectorYN.create("onnx", np.frombuffer(data, np.uint8), np.zeros(0, np.uint8), size, score,
                                         NMS_IOU, TOP_K)
    except TypeError:
        return cv2.FaceDetectorYN.create(str(path), "", size, score, NMS_IOU, TOP_K)


class YuNetDetector(Closing):
    """`detect(frame) -> [Detection]` for a BGR, BGRA or grey uint8 frame, best score first; each
    Detection has the five KEYPOINTS."""

    keypoint_names = KEYPOINTS
    crop = (YUNET_MARGIN, YUNET_SHIFT)  # the face crop around YuNet's box (fer_edge/faces.py, calibrated)

    def __init__(self, min_confidence: float = 0.5, model_path: str | os.PathLike | None = None,
                 threads: int | None = None, max_side: int | None = 640):
        self.min_confidence = check_confidence(min_confidence)
        if max_side is not None and (not isinstance(max_side, int) or max_side < 32):
            raise FerEdgeError(f"YuNet input side must be a whole number >= 32, got {max_side!r}")
        self.max_side = max_side
        path = Path(model_path) if model_path is not None else models_dir() / MODEL_NAME
        if not path.is_file():
            raise FerEdgeError(f"face detector model {path} is missing from this install")
        data = read_verified(path)
        if threads is not None:
            # OpenCV's one thread pool runs the network: --threads sizes it as it sizes LiteRT's.
            cv2.setNumThreads(max(1, int(threads)))
        from fer_edge.console import quiet_native_stderr

        self._size = (320, 320)
        try:
            with quiet_native_stderr():  # OpenCV's DNN warns about targets on every load
                self._det = _create(path, data, self._size, self.min_confidence)
                self._det.detect(np.zeros((self._size[1], self._size[0], 3), np.uint8))  # fails here, not mid-run
        except cv2.error as exc:
            raise FerEdgeError(f"{path}: not a usable YuNet face detector model "
                               f"({str(exc).strip().splitlines()[-1][:200]})") from None
        self.path = path

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self._det is None:
            raise RuntimeError("YuNetDetector used after close()")
        check_frame(frame)
        image = _bgr(frame)
        h, w = image.shape[:2]
        size = input_size(w, h, self.max_side)
        if size != (w, h):
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        if size != self._size:
            self._det.setInputSize(size)
            self._size = size
        _, rows = self._det.detect(np.ascontiguousarray(image))
        if rows is None or not len(rows):
            return []
        rows = rows[np.argsort(-rows[:, 14], kind="stable")].astype(np.float64)
        sx, sy = w / size[0], h / size[1]
        out = []
        for r in rows:
            box = (r[0] * sx, r[1] * sy, r[2] * sx, r[3] * sy)
            points = tuple((float(r[4 + 2 * i] * sx), float(r[5 + 2 * i] * sy)) for i in range(len(KEYPOINTS)))
            out.append(Detection(tuple(map(float, box)), float(r[14]), points))
        return out

    def close(self) -> None:
        self._det = None
