"""What every source is: Frame(image, index, time, name) with a BGR uint8 image, the Source base,
SourceLost, the file kinds a source recognises, and OpenCV kept quiet while it opens or probes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from fer_edge.console import quiet_native_stderr
from fer_edge.errors import FerEdgeError


# What one picture may take, checked before it is decoded (a 12000x9000 photo is 108 megapixels).
MAX_IMAGE_BYTES = 256 << 20
MAX_IMAGE_PIXELS = 1 << 27
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm",
                            ".jp2"})
# Names a folder source leaves out with a warning (OpenCV reads more; these are the usual ones).
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".wmv",
                            ".flv", ".3gp", ".mjpeg", ".mjpg", ".h264", ".gif"})
PICAM_NAMES = ("picam", "picamera", "picamera2")
DEFAULT_PICAM_RESOLUTION = (640, 480)
PICAM_HINT = ("--camera picam needs picamera2, which comes from Raspberry Pi OS rather than pip: "
              "`sudo apt install python3-picamera2`, and create the venv with "
              "`python3 -m venv --system-site-packages` so it can see it")


class SourceLost(FerEdgeError):
    """A live source (camera, stream) stopped delivering frames mid-run."""

    exit_code = 3


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8 (H, W, 3)
    index: int  # position in the source (a gap means frames were dropped or skipped)
    time: float | None  # seconds: video time for files, time since start for live sources, None for images
    name: str | None = None  # file name, for image sources

    @property
    def timestamp(self) -> float | None:
        """The earlier name of `time`."""
        return self.time


def as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


@contextmanager
def quiet_opencv():
    """Silence OpenCV's multi-line backend warnings, and what FFmpeg prints straight to fd 2
    ("moov atom not found", "[tcp @ ...] Connection refused"), while opening or probing: a failure
    gets our own one-line error."""
    try:  # OpenCV 5 keeps its log level in cv2.utils.logging; OpenCV 4 (which Bookworm's numpy 1.x gets) in cv2
        from cv2.utils import logging as cv_log
    except ImportError:
        cv_log = cv2
    level = cv_log.getLogLevel()
    cv_log.setLogLevel(0)  # LOG_LEVEL_SILENT in both
    try:
        with quiet_native_stderr():
            yield
    finally:
        cv_log.setLogLevel(level)


class Source:
    """Base: attributes every source sets, iteration over frames, close()."""

    name = "source"
    fps: float | None = None  # nominal frame rate, for an output video
    frame_count: int | None = None  # known length (progress bar); None when live or unknown
    live = False  # a camera or stream: a failed read is a drop, not the end
    sequence = True  # consecutive frames show the same scene, so tracking and smoothing apply

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def close(self) -> None:
        pass

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The image scaled to fit (width, height) with its aspect kept, centred on black bars (the
    image itself when it has that size already): `bench --size`, and a video of pictures of other sizes.

    A 640x360 video frame becomes 640x480 without rescaling the face, so the detector sees the
    same face as in the original frame, just in a camera-sized picture.
    """
    width, height = size
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        return image
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    return cv2.copyMakeBorder(image, top, height - new_h - top, left, width - new_w - left,
                              cv2.BORDER_CONSTANT, value=(0, 0, 0))
