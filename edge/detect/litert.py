"""Face detection: MediaPipe's BlazeFace short-range model (models/, checksum-verified) on LiteRT.

The model runs on ai-edge-litert, the interpreter the expression model already uses, and its
output is decoded by edge/detect/blazeface.py the way MediaPipe's face-detection graph decodes it. The
MediaPipe runtime is not needed: its aarch64 wheel dies with SIGILL on a Raspberry Pi 4's
Cortex-A72, has no wheel for Python 3.13 on older releases, and its logging client reaches for a
Google endpoint on every run. `make_detector("mediapipe")` still runs MediaPipe's own Tasks
detector (edge/mediapipe_detector.py), as the reference the decoding is tested against.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_edge.edge.detect import blazeface
from fer_edge.errors import FerEdgeError
from fer_edge.paths import face_detector_model
from fer_edge import defaults

from fer_edge.edge.detect.base import Closing, Detection, check_confidence, check_frame, read_verified


class FaceDetector(Closing):
    """`detect(frame) -> [Detection]` for a BGR (OpenCV), BGRA or grey uint8 frame, best score first."""

    keypoint_names = blazeface.KEYPOINTS
    # the graph's options (face_detection_short_range.pbtxt); FullRangeDetector has its own
    input_size, strides, anchors_per_layer = blazeface.INPUT_SIZE, blazeface.STRIDES, blazeface.ANCHORS_PER_LAYER
    model_kind = "BlazeFace short-range"

    def __init__(self, min_confidence: float = defaults.MIN_CONFIDENCE, model_path: str | os.PathLike | None = None,
                 threads: int = 1):
        self.min_confidence = check_confidence(min_confidence)
        path = Path(model_path) if model_path is not None else self.default_model()
        data = read_verified(path)
        from ai_edge_litert.interpreter import Interpreter

        from fer_edge.console import quiet_native_stderr

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
