"""Flip test-time augmentation: a face's probabilities averaged with those of its mirror image.

The one definition of `--tta flip`, used by `fer-edge evaluate` (on FER2013 arrays) and by the
runtime (`fer-edge run`, `bench`: FlipClassifier around a model or an ensemble), so the accuracy
`evaluate` reports is the accuracy `run` delivers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import ModelInfo
from fer_edge.defaults import TTA_CHOICES



def mirror(faces: np.ndarray) -> np.ndarray:
    """Faces mirrored left-right: axis 2 is the width of (N, H, W) and of (N, H, W, C) alike."""
    return faces[:, :, ::-1]


def flip_averaged(predict: Callable[[np.ndarray], np.ndarray], faces: np.ndarray) -> np.ndarray:
    """The mean of `predict` on the faces and on their mirror images."""
    return (predict(faces) + predict(mirror(faces))) / 2


def check_tta(tta: str | None) -> str | None:
    """'flip' or None (for None or 'none'); anything else is a FerEdgeError."""
    if tta is None or tta == "none":
        return None
    if tta == "flip":
        return "flip"
    raise FerEdgeError(f"unknown test-time augmentation {tta!r}: choose {' or '.join(TTA_CHOICES)}")


class FlipClassifier:
    """The classifier interface the pipeline uses (`info`, `labels`, `predict`) with flip TTA: each
    face costs two passes of the model (or of every member of an ensemble)."""

    tta = "flip"

    def __init__(self, inner):
        self.inner = inner

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    @property
    def labels(self) -> list[str]:
        return self.inner.labels

    @property
    def members(self) -> list:
        """The model files' classifiers, as an ensemble lists them (reports name each file)."""
        return list(getattr(self.inner, "members", [self.inner]))

    def predict(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) == 0:
            return self.inner.predict(batch)
        return flip_averaged(self.inner.predict, batch)
