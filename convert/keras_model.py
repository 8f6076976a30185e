"""Load a trained .keras model and check it is one fer-edge can convert: one (S, S, C) grey-level
input with C 1 or 3, one 7-way output in fer_edge.labels order."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from fer_edge.convert.quiet import native_stderr_captured
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS, NUM_CLASSES

KERAS_SUFFIXES = (".keras", ".h5")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def model_name(path: str | os.PathLike) -> str:
    """`models/baseline.keras` -> `baseline`; `ferlite.best.keras` -> `ferlite`."""
    return Path(path).name.split(".")[0]


def check_keras_file(path: str | os.PathLike) -> Path:
    """Refuse anything that cannot be a Keras model file before TensorFlow is imported."""
    p = Path(path)
    if not p.exists():
        raise FerEdgeError(f"{p}: no such file")
    if not p.is_file():
        raise FerEdgeError(f"{p}: not a file (expected a .keras model)")
    if p.suffix.lower() not in KERAS_SUFFIXES:
        raise FerEdgeError(f"{p}: not a Keras model file (expected a .keras file)")
    # A .keras file is a zip archive, a legacy .h5 an HDF5 file; check the content, not only the name.
    if p.suffix.lower() == ".keras" and not zipfile.is_zipfile(p):
        raise FerEdgeError(f"{p}: not a Keras model file (a .keras file is a zip archive; this is not)")
    if p.suffix.lower() == ".h5":
        with open(p, "rb") as fh:
            if fh.read(8) != _HDF5_SIGNATURE:
                raise FerEdgeError(f"{p}: not a Keras model file (not HDF5)")
    return p


def load_keras_model(path: str | os.PathLike):
    """The model in `path`, checked by `model_geometry`; a FerEdgeError for anything unusable."""
    p = check_keras_file(path)
    with native_stderr_captured():  # TensorFlow's start-up lines
        import keras

        if keras.backend.backend() != "tensorflow":
            raise FerEdgeError(f"conversion needs Keras' TensorFlow backend, not {keras.backend.backend()!r}"
                               " (unset KERAS_BACKEND)")
        try:
            # compile=False: the training loss/metrics (custom fer_edge losses) play no part in inference.
            model = keras.models.load_model(p, compile=False)
        except Exception as exc:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FerEdgeError(f"{p}: not a loadable Keras model ({detail[:300]})") from None
    model_geometry(model, str(p))
    return model


def model_geometry(model, where: str = "model") -> tuple[int, int]:
    """(input size S, channels C) of a model taking (S, S, C) and giving 7 class scores."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise FerEdgeError(f"{where}: has {len(model.inputs)} inputs and {len(model.outputs)} outputs,"
                           " expected one face input and one class-score output")
    in_shape = tuple(model.inputs[0].shape)
    out_shape = tuple(model.outputs[0].shape)
    if len(in_shape) != 4 or in_shape[1] is None or in_shape[1] != in_shape[2] or in_shape[3] not in (1, 3):
        raise FerEdgeError(f"{where}: input shape {in_shape[1:]} is not (S, S, 1) or (S, S, 3)")
    if len(out_shape) != 2 or out_shape[1] != NUM_CLASSES:
        classes = out_shape[-1] if len(out_shape) >= 2 else out_shape
        raise FerEdgeError(f"{where}: output has {classes} classes, expected {NUM_CLASSES}"
                           f" ({', '.join(EMOTIONS)}); output shape {out_shape[1:]}")
    return int(in_shape[1]), int(in_shape[3])
