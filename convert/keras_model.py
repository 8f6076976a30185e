"""Load a trained .keras model and check it is one fer-edge can convert: one (S, S, C) grey-level
input with C 1 or 3, one 7-way output in fer_edge.labels order."""

from __future__ import annotations

import os
from pathlib import Path

from fer_edge.errors import FerEdgeError
from fer_edge.keras_files import check_keras_file, host_extra_hint, import_keras, load_keras_file
from fer_edge.labels import EMOTIONS, NUM_CLASSES

__all__ = ["check_keras_file", "load_keras_model", "model_geometry", "model_name"]


def model_name(path: str | os.PathLike) -> str:
    """`models/baseline.keras` -> `baseline`; `ferlite.best.keras` -> `ferlite`."""
    return Path(path).name.split(".")[0]


def load_keras_model(path: str | os.PathLike):
    """The model in `path`, checked by `model_geometry`; a FerEdgeError for anything unusable."""
    p = check_keras_file(path)
    try:
        keras = import_keras()
    except ImportError as exc:  # found but not importable (TensorFlow missing behind Keras)
        raise FerEdgeError(f"converting needs Keras and TensorFlow ({exc}): {host_extra_hint()}") from None
    if keras.backend.backend() != "tensorflow":
        raise FerEdgeError(f"conversion needs Keras' TensorFlow backend, not {keras.backend.backend()!r}"
                           " (unset KERAS_BACKEND)")
    model = load_keras_file(p)
    model_geometry(model, str(p))
    from fer_edge.train.reparam import is_branched

    if is_branched(model):  # would run, but slower: the branches are a training form
        raise FerEdgeError(f"{p}: holds RepVGG training branches (a --reparam run's best.keras);"
                           " convert the run's folded <model>.keras")
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
