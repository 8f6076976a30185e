"""MediaPipe's BlazeFace full-range model (192x192, `face_detection_full_range_sparse.tflite`, models/,
checksum-verified) on LiteRT, decoded by edge/detect/blazeface.py with the full-range graph's options
(mediapipe/modules/face_detection/face_detection_full_range.pbtxt: tensor 192x192, one anchor layer
of stride 4 with no interpolated anchor, 2304 boxes, offsets scaled by 192). The same letterbox,
sigmoid, weighted NMS and projection as the short-range graph.

Reach (`benchmarks/detection_recall.py --by-size` on cmu-mit-faces): recall 0.61 for faces a tenth to a
fifth of the image's long side, where the short-range model finds 0.15 and YuNet 0.91; 0.351 in all
(short-range 0.156, YuNet 0.935).
"""

from __future__ import annotations

from pathlib import Path

from fer_edge.edge.detect.litert import FaceDetector
from fer_edge.errors import FerEdgeError
from fer_edge.paths import models_dir

MODEL_NAME = "face_detection_full_range_sparse.tflite"
INPUT_SIZE = 192
STRIDES = (4,)
ANCHORS_PER_LAYER = 1  # interpolated_scale_aspect_ratio 0.0: only the aspect-ratio-1 anchor


class FullRangeDetector(FaceDetector):
    input_size, strides, anchors_per_layer = INPUT_SIZE, STRIDES, ANCHORS_PER_LAYER
    model_kind = "BlazeFace full-range"

    @staticmethod
    def default_model() -> Path:
        path = models_dir() / MODEL_NAME
        if not path.is_file():
            raise FerEdgeError(f"face detector model {path} is missing from this install")
        return path
