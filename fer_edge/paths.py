"""Where shipped files live: `models/` is installed as the package `fer_edge.models`, so the same
lookup works from a source checkout, an editable install and a wheel."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fer_edge.errors import FerEdgeError

# `fer-edge run` uses the first of these that exists: the most accurate shipped int8 model first
# (today ferfast, ahead of the baseline and ferlite on PublicTest at the baseline's latency; see models/*.md).
DEFAULT_MODEL_NAMES = ("ferfast_int8.tflite", "ferfast112_int8.tflite", "baseline_int8.tflite", "ferlite_int8.tflite")
FACE_DETECTOR_NAME = "face_detection_short_range.tflite"


def models_dir() -> Path:
    return Path(str(resources.files("fer_edge.models")))


def default_model() -> Path:
    for name in DEFAULT_MODEL_NAMES:
        path = models_dir() / name
        if path.is_file():
            return path
    raise FerEdgeError(f"no shipped model in {models_dir()} (looked for {', '.join(DEFAULT_MODEL_NAMES)}); pass --model")


def face_detector_model() -> Path:
    path = models_dir() / FACE_DETECTOR_NAME
    if not path.is_file():
        raise FerEdgeError(f"face detector model {path} is missing from this install")
    return path
