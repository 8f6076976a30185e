"""`--camera picam|N` or `--source PATH|URL` to the source that reads it."""

from __future__ import annotations

import stat
from pathlib import Path


from fer_edge.edge.sources.capture_open import is_fifo
from fer_edge.console import warn
from fer_edge.defaults import check_one_source
from fer_edge.errors import FerEdgeError
from fer_edge.edge.sources.camera import CaptureSource, PicamSource
from fer_edge.edge.sources.frame import IMAGE_SUFFIXES, PICAM_NAMES, VIDEO_SUFFIXES, Source
from fer_edge.edge.sources.images import ImageSource


def _count_videos(names: list[str]) -> str:
    return "1 video" if len(names) == 1 else f"{len(names)} videos"


def parse_wxh(text: str | None, option: str = "--resolution", low: int = 1, high: int = 1 << 16) -> tuple[int, int] | None:
    """WIDTHxHEIGHT (e.g. 640x480) given to `option`; None when not given."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FerEdgeError(f"{option} takes WIDTHxHEIGHT, e.g. 640x480, got {text!r}") from None
    if not (low <= w <= high and low <= h <= high):
        if low == 1:
            raise FerEdgeError(f"{option} must be positive, got {text!r}")
        raise FerEdgeError(f"{option} must lie between {low}x{low} and {high}x{high}, got {text!r}")
    return w, h

def open_source(camera: str | None = None, source: str | None = None,
                resolution: tuple[int, int] | None = None) -> Source:
    """The source named by `--camera picam|N` or `--source PATH|URL` (exactly one of them)."""
    check_one_source(camera, source)
    if camera is not None:
        cam = camera.strip().lower()
        if cam in PICAM_NAMES:
            return PicamSource(resolution)
        if cam.isdigit():
            return CaptureSource(int(cam), f"camera {cam}", live=True, resolution=resolution)
        raise FerEdgeError(f"--camera takes `picam` or a camera number (0, 1, ...), got {camera!r}")
    path = Path(source)
    if "://" in source and not path.exists():  # RTSP/HTTP: a live stream, or a video file on a server
        return CaptureSource(source, source, live=None, resolution=resolution)
    if not path.exists():
        raise FerEdgeError(f"{source}: no such file or folder")
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
        images = sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES)
        videos = sorted(p.name for p in files if p.suffix.lower() in VIDEO_SUFFIXES)
        if not images:
            also = f"; its {_count_videos(videos)} must be given one at a time as --source" if videos else ""
            raise FerEdgeError(f"{source}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}){also}")
        if videos:  # a folder source is a set of stills: say what it leaves out
            warn(f"{source}: {_count_videos(videos)} skipped ({', '.join(videos[:3])}{', ...' if len(videos) > 3 else ''}); "
                 "a folder is read for its images, give a video as --source")
        return ImageSource(images, source)
    if stat.S_ISCHR(path.stat().st_mode):  # /dev/video0: a camera by its device path
        return CaptureSource(source, source, live=True, resolution=resolution)
    if is_fifo(source):  # a named pipe: a video stream written by another program, as long as it runs
        return CaptureSource(source, source, live=True, resolution=resolution)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], source)
    return CaptureSource(source, source, live=False)
