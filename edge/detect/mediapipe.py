"""MediaPipe's own Tasks FaceDetector on the same BlazeFace file: the reference that edge/detect/blazeface.py
is tested against (`--detector mediapipe`). Not part of the device install: `pip install --no-deps
mediapipe absl-py certifi` adds it (its declared requirements would add a second, GUI OpenCV).

Its boxes are MediaPipe's: whole pixels, the left and top edges clamped into the frame.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_edge.console import quiet_native_stderr
from fer_edge.edge.detect.base import Closing, Detection, check_confidence, check_frame, read_verified
from fer_edge.edge.detect.mediapipe_import import import_face_detection
from fer_edge.errors import FerEdgeError
from fer_edge.faces import to_rgb
from fer_edge.interrupts import interrupts_deferred
from fer_edge.paths import face_detector_model
from fer_edge import defaults


class MediaPipeFaceDetector(Closing):
    """`detect(frame) -> [Detection]` through MediaPipe's Tasks API in IMAGE mode."""

    def __init__(self, min_confidence: float = defaults.MIN_CONFIDENCE, model_path: str | os.PathLike | None = None):
        self.min_confidence = check_confidence(min_confidence)
        self._det = None
        path = Path(model_path) if model_path is not None else face_detector_model()
        data = read_verified(path)
        self._mp = import_face_detection()
        options = self._mp.FaceDetectorOptions(
            base_options=self._mp.BaseOptions(model_asset_buffer=data),
            min_detection_confidence=self.min_confidence,
        )
        try:
            with quiet_native_stderr():
                self._det = self._mp.FaceDetector.create_from_options(options)
                # The first detection allocates buffers (and logs about them): not part of any frame.
                self.detect(np.zeros((128, 128, 3), np.uint8))
        except (RuntimeError, ValueError) as exc:
            self.close()
            raise FerEdgeError(f"{path}: not a usable face detector model ({exc})") from None
        self.path = path

    def detect(self, frame: np.ndarray) -> list[Detection]:
        if self._det is None:
            raise RuntimeError("MediaPipeFaceDetector used after close()")
        check_frame(frame)
        rgb = to_rgb(frame)  # always a fresh contiguous array, as MediaPipe's Image needs
        with interrupts_deferred():  # an Image cut short by Ctrl-C/SIGTERM prints a traceback when freed
            result = self._det.detect(self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb))
        h, w = frame.shape[:2]
        out = []
        for d in result.detections:
            bb = d.bounding_box
            if bb.width <= 0 or bb.height <= 0:
                continue
            score = float(d.categories[0].score) if d.categories else 0.0
            points = tuple((float(k.x) * w, float(k.y) * h) for k in (d.keypoints or []))
            out.append(Detection((float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height)),
                                 score, points))
        return out

    def close(self) -> None:
        # Closed explicitly: the task's __del__ at interpreter exit raises from its C library.
        if self._det is not None:
            with quiet_native_stderr():
                self._det.close()
            self._det = None
