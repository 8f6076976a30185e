"""Class probabilities from a Keras model on FER2013 arrays, with optional flip test-time augmentation."""

from __future__ import annotations

import numpy as np

from fer_edge.tta import flip_averaged  # the one definition of flip TTA, as the runtime's
from fer_edge.train.batches import to_model_input


def model_input_spec(model) -> tuple[int, int]:
    shape = model.inputs[0].shape
    return int(shape[1]), int(shape[-1])


def predict_keras(model, images: np.ndarray, batch_size: int = 256, tta_flip: bool = False) -> np.ndarray:
    size, channels = model_input_spec(model)

    def predict(faces):
        return np.asarray(model.predict_on_batch(faces), dtype=np.float32)

    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input(images[start : start + batch_size], size, channels)
        out.append(flip_averaged(predict, x) if tta_flip else predict(x))
    return np.concatenate(out) if out else np.zeros((0, 7), np.float32)
