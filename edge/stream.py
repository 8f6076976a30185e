"""`stream(source)`: frames of a camera, a video, a folder of images or a stream, each with its faces.

The same sources as `fer-edge run` (edge/sources/), read the same way: a camera or stream on its
own thread so that each frame is the newest, a file in order with every frame kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


from fer_edge.edge.loop import recognized_frames
from fer_edge.edge.results import FrameFaces, FrameResult  # noqa: F401 (FrameFaces: the earlier name, importable from here)
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.sources import PICAM_NAMES, Source, open_source, with_capture_thread


def open_frames(source: int | str | os.PathLike, resolution: tuple[int, int] | None = None,
                capture_thread: bool | None = None) -> Source:
    """A camera number, "picam", a video, an image, a folder of images or a URL, opened as `run` opens it."""
    if isinstance(source, bool) or not isinstance(source, (int, str, os.PathLike)):
        raise ValueError(f"source must be a camera number, 'picam', a path or a URL, got {source!r}")
    if isinstance(source, int):
        frames = open_source(camera=str(source), resolution=resolution)
    elif isinstance(source, str) and source.strip().lower() in PICAM_NAMES and not Path(source).exists():
        frames = open_source(camera=source, resolution=resolution)
    else:
        frames = open_source(source=os.fspath(source), resolution=resolution)
    return with_capture_thread(frames, capture_thread)


def stream(source: int | str | os.PathLike, recognizer: Recognizer | None = None, *, max_frames: int | None = None,
           resolution: tuple[int, int] | None = None, capture_thread: bool | None = None,
           **options) -> Iterator[FrameResult]:
    """Iterate over (image, faces) of a source:

    >>> for image, faces in stream(0):           # doctest: +SKIP
    ...     print([(f.label, f.score) for f in faces])

    source: a camera number, "picam" (Raspberry Pi camera), a video file, an image, a folder of
        images, or an RTSP/HTTP URL.
    recognizer: the Recognizer to use (yours to close); None makes one from `options` (Recognizer's
        arguments: model, threads, min_confidence, smooth, tta, detector) and closes it at the end.
    max_frames: stop after this many frames. resolution: (width, height) to ask a camera for.
    capture_thread: read on a thread of its own (default: for cameras and streams).

    A camera that stops mid-stream raises SourceLost (a FerEdgeError); a source that cannot be
    opened raises FerEdgeError before the first frame.
    """
    if max_frames is not None and (not isinstance(max_frames, int) or max_frames < 1):
        raise ValueError(f"max_frames must be a positive int, got {max_frames!r}")
    own = recognizer is None
    if own:
        recognizer = Recognizer(**options)
    elif options:
        raise ValueError(f"give Recognizer options ({', '.join(options)}) or a recognizer, not both")
    try:
        frames = open_frames(source, resolution, capture_thread)
        try:
            for step in recognized_frames(frames, recognizer, max_frames=max_frames):
                yield step.result
        finally:
            frames.close()
    finally:
        if own:
            recognizer.close()
