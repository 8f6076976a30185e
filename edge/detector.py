"""Face detection with MediaPipe's BlazeFace short-range model, loaded from the file in models/.

The model file is checked against models/SHA256SUMS before use, so a damaged or swapped file
gives a clear error instead of silently different boxes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_edge.edge.console import quiet_native_stderr
from fer_edge.edge.mediapipe_import import import_face_detection
from fer_edge.edge.tracker import iou_matrix
from fer_edge.errors import FerEdgeError
from fer_edge.interrupts import interrupts_deferred
from fer_edge.paths import face_detector_model

CHECKSUM_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels (may reach past the edges)
    score: float


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


class FaceDetector:
    """`detect(frame) -> [Detection]` for a BGR (OpenCV) or grey uint8 frame.

    Runs in MediaPipe's IMAGE mode for every source: its VIDEO mode only adds a timestamp
    check (BlazeFace has no temporal state), and tracking is done by edge.tracker.
    """

    def __init__(self, min_confidence: float = 0.5, model_path: str | os.PathLike | None = None):
        if not 0.0 <= min_confidence <= 1.0:
            raise FerEdgeError(f"--min-confidence must lie in 0..1, got {min_confidence}")
        self._det = None
        path = Path(model_path) if model_path is not None else face_detector_model()
        data = read_verified(path)
        self._mp = import_face_detection()
        options = self._mp.FaceDetectorOptions(
            base_options=self._mp.BaseOptions(model_asset_buffer=data),
            min_detection_confidence=float(min_confidence),
        )
        try:
            with quiet_native_stderr():
                self._det = self._mp.FaceDetector.create_from_options(options)
                # One warm-up call: the first detection allocates buffers (and logs about them),
                # so it would otherwise show up as a slow first frame.
                self.detect(np.zeros((128, 128, 3), np.uint8))
        except (RuntimeError, ValueError) as exc:
            self.close()
            raise FerEdgeError(f"{path}: not a usable face detector model ({exc})") from None
        self.path = path

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self._det is None:
            raise RuntimeError("FaceDetector used after close()")
        if frame.dtype != np.uint8:
            raise ValueError(f"expected a uint8 frame, got {frame.dtype}")
        if frame.ndim == 2:
            rgb = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        elif frame.shape[2] == 4:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB)
        else:
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)  # always a fresh contiguous array
        found = self._detect_rgb(rgb)
        if any(d.box[0] <= 0 or d.box[1] <= 0 for d in found):
            found = self._redetect_at_left_top(rgb, found)
        return found

    def _detect_rgb(self, rgb: np.ndarray) -> list[Detection]:
        with interrupts_deferred():  # an Image cut short by Ctrl-C/SIGTERM prints a traceback when freed
            result = self._det.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb))
        out = []
        for d in result.detections:
            bb = d.bounding_box
            if bb.width <= 0 or bb.height <= 0:
                continue
            score = float(d.categories[0].score) if d.categories else 0.0
            out.append(Detection((float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height)), score))
        return out

    def _redetect_at_left_top(self, rgb: np.ndarray, found: list[Detection]) -> list[Detection]:
        """MediaPipe clamps a box's left and top to 0 but keeps its size, so a face cut by the left or
        top edge comes back slid into the frame (right and bottom are not clamped). Such a face is
        detected again on the frame with a black border on those sides, where its box is whole, and
        moved back; a detection the second pass does not confirm is kept as it was."""
        at_edge = [d for d in found if d.box[0] <= 0 or d.box[1] <= 0]
        side = int(max(max(d.box[2], d.box[3]) for d in at_edge)) + 1
        left = side if any(d.box[0] <= 0 for d in at_edge) else 0
        top = side if any(d.box[1] <= 0 for d in at_edge) else 0
        padded = cv2.copyMakeBorder(rgb, top, 0, left, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        again = []
        for d in self._detect_rgb(padded):
            x, y, w, h = d.box
            again.append(Detection((x - left, y - top, w, h), d.score))
        if not again:
            return found
        ious = iou_matrix([d.box for d in found], [a.box for a in again])
        out = []
        for d, row in zip(found, ious):
            if d in at_edge and row.max() >= 0.3:
                d = again[int(row.argmax())]
            out.append(d)
        return out

    def close(self) -> None:
        # Closed explicitly: the task's __del__ at interpreter exit raises from its C library.
        if self._det is not None:
            with quiet_native_stderr():
                self._det.close()
            self._det = None

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
