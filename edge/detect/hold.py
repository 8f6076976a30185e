"""Holding a detection for the frames between detector runs (`--detect-every N`).

The pipeline runs the detector on a frame, then reuses its boxes for up to N - 1 following frames,
unless a frame is not the same scene any more: another size, or a 32x24 grey thumbnail that differs
from the detected frame's by more than SCENE_CHANGE grey levels on average (a cut, a new picture
passed to the API without `reset()`, the camera swung round). Then the detector runs at once.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_edge.faces import to_gray

THUMB = (32, 24)
# Mean absolute difference (grey levels, 0..255) of the thumbnails above which a frame is a new
# scene. On the shared clips the three cuts of the multi-face clip measure 26.2-29.6 frame to frame,
# while frames 3 apart within a shot stay at or below 17.3 (the low-light clip's moving camera; the
# other one-face clips 5.9 and 13.6), so 20 lies between.
SCENE_CHANGE = 20.0


def thumbnail(image: np.ndarray) -> np.ndarray:
    """32x24 grey levels, from every step-th pixel first (about twice the thumbnail's size): converting
    and shrinking the whole frame made a held frame's detect stage 0.25-0.66 ms (`fer-edge bench`'s
    median at 640x480-1280x720)."""
    h, w = image.shape[:2]
    step = max(1, min(w // THUMB[0], h // THUMB[1]) // 2)
    sampled = np.ascontiguousarray(image[::step, ::step])
    return cv2.resize(to_gray(sampled), THUMB, interpolation=cv2.INTER_AREA).astype(np.int16)


class DetectionHold:
    """`get(image)`: the held detections when this frame may reuse them, else None (then run the
    detector and `put` its result)."""

    def __init__(self, every: int = 1):
        self.every = max(1, int(every))
        self.reset()

    def reset(self) -> None:
        self._shape: tuple[int, ...] | None = None
        self._thumb: np.ndarray | None = None
        self._detections: list = []
        self._since = 0

    def get(self, image: np.ndarray) -> list | None:
        if self._shape is None or self._since >= self.every or image.shape != self._shape:
            return None
        if float(np.abs(thumbnail(image) - self._thumb).mean()) > SCENE_CHANGE:
            return None
        self._since += 1
        return self._detections

    def put(self, image: np.ndarray, detections: list) -> None:
        if self.every == 1:
            return
        self._shape, self._thumb, self._detections, self._since = image.shape, thumbnail(image), detections, 1
