"""Class probabilities from a Keras model on FER2013 arrays, with optional flip test-time augmentation."""

from __future__ import annotations

import numpy as np

from fer_edge.train.batches import to_model_input


def model_input_spec(model) -> tuple[int, int]:
    shape = model.inputs[0].shape
    return int(shape[1]), int(shape[-1])


def predict_keras(model, images: np.ndarray, batch_size: int = 256, tta_flip: bool = False) -> np.ndarray:
    size, channels = model_input_spec(model)
    out = []
    for start in range(0, len(images), batch_size):
        x = to_model_input(images[start : start + batch_size], size, channels)
        p = model.predict_on_batch(x)
        p = np.asarray(p, dtype=np.float32)
        if tta_flip:
            p = (p + np.asarray(model.predict_on_batch(x[:, :, ::-1, :]), dtype=np.float32)) / 2
        out.append(p)
    return np.concatenate(out) if out else np.zeros((0, 7), np.float32)
