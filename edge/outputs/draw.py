"""Overlay for the window and the annotated video: a box per face, its label, confidence and track
id, and the frame rate. Draws on a copy; the frame itself stays what the detector saw."""

from __future__ import annotations

import cv2
import numpy as np

from fer_edge.labels import label_colour

FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, colour, thickness: int) -> None:
    """Text on a filled dark band so it stays readable on any background; `org` is its top-left corner."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    x, y = org
    y = max(y, 0)
    cv2.rectangle(img, (x, y), (x + tw + 4, y + th + base + 4), (0, 0, 0), cv2.FILLED)
    cv2.putText(img, text, (x + 2, y + th + 2), FONT, scale, colour, thickness, cv2.LINE_AA)


def annotate(frame: np.ndarray, faces, fps: float | None = None) -> np.ndarray:
    """A copy of `frame` with every face (edge.results.Face) and the FPS drawn on it."""
    out = frame.copy()
    h, w = out.shape[:2]
    scale = max(0.4, min(h, w) / 900.0)
    thick = max(1, int(round(scale * 2)))
    for face in faces:
        x, y, bw, bh = face.box
        colour = label_colour(face.label)
        cv2.rectangle(out, (x, y), (x + bw, y + bh), colour, thick)
        label = f"{face.label} {face.score:.0%} #{face.track_id}"
        (_, th), base = cv2.getTextSize(label, FONT, scale, thick)
        above = y - th - base - 4
        _text(out, label, (x, above if above >= 0 else y + bh), scale, colour, thick)
    if fps is not None:
        draw_fps(out, fps)
    return out


def draw_fps(image: np.ndarray, fps: float) -> np.ndarray:
    """The frame rate in the top-left corner of `image`, in place. The window shows it; saved videos
    leave it out unless asked (`run --fps-in-video`), as it hides a label there."""
    h, w = image.shape[:2]
    scale = max(0.4, min(h, w) / 900.0)
    _text(image, f"{fps:.1f} FPS", (4, 4), scale, (255, 255, 255), max(1, int(round(scale * 2))))
    return image
