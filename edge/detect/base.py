"""What every face detector shares: Detection (box, score, keypoints in frame pixels), the
checksum check of a shipped model file, and the checks of a frame and a confidence."""


from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.errors import FerEdgeError

CHECKSUM_FILE = "SHA256SUMS"


@dataclass(frozen=True)
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels (may reach past the edges)
    score: float
    # (x, y) frame pixels of the detector's keypoint_names: blazeface.KEYPOINTS (eyes, nose tip, mouth
    # centre, ear tragions) or yunet.KEYPOINTS (eyes, nose tip, mouth corners)
    keypoints: tuple[tuple[float, float], ...] = ()


def expected_sha256(model_path: Path) -> str | None:
    """The checksum listed for this file in SHA256SUMS beside it, or None when it is not listed."""
    sums = model_path.parent / CHECKSUM_FILE
    if not sums.is_file():
        return None
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == model_path.name:
            return parts[0].lower()
    return None


def read_verified(model_path: Path) -> bytes:
    """The model file's bytes, after checking them against SHA256SUMS when the file is listed there."""
    try:
        data = model_path.read_bytes()
    except OSError as exc:
        raise FerEdgeError(f"{model_path}: cannot read face detector model ({exc.strerror})") from None
    want = expected_sha256(model_path)
    if want is not None:
        got = hashlib.sha256(data).hexdigest()
        if got != want:
            raise FerEdgeError(f"{model_path}: checksum {got[:12]}... does not match {CHECKSUM_FILE} "
                               f"({want[:12]}...); the file is damaged or replaced, reinstall fer-edge")
    return data


def check_confidence(min_confidence: float) -> float:
    if not 0.0 <= min_confidence <= 1.0:
        raise FerEdgeError(f"--min-confidence must lie in 0..1, got {min_confidence}")
    return float(min_confidence)


def check_frame(frame: np.ndarray) -> None:
    """A ValueError for what no detector can read: the API's callers get it instead of a crash in native code."""
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"expected an image as a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image (as OpenCV reads it), got {frame.dtype}")
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (1, 3, 4))):
        raise ValueError(f"expected an (H, W) grey or (H, W, 3) BGR image, got shape {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise ValueError(f"expected an image of at least 1x1 pixels, got shape {frame.shape}")


class Closing:
    """A detector is a context manager that closes itself (its `close()` drops the native runtime)."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
