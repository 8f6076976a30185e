"""`stream(source)`: frames of a camera, a video, a folder of images or a stream, each with its faces.

The same sources as `fer-edge run` (edge/sources.py), read the same way: a camera or stream on its
own thread so that each frame is the newest, a file in order with every frame kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_edge.edge.pipeline import Face, face_records
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.sources import PICAM_NAMES, Source, open_source, with_capture_thread


@dataclass
class FrameFaces:
    """One frame and its faces. Unpacks as `image, faces`; `index`, `time` and `name` say where it
    came from (`time`: seconds into a video or since a camera started; None for pictures)."""

    image: np.ndarray  # BGR uint8, as OpenCV delivers it (yours to draw on)
    faces: list[Face]
    index: int
    time: float | None
    name: str | None = None  # the file name, for pictures

    def __iter__(self) -> Iterator:
        return iter((self.image, self.faces))

    def to_records(self, digits: int | None = None) -> list[dict]:
        """One dict per face, as `fer-edge run --jsonl` writes them."""
        return face_records(self.faces, self.index, self.time, self.name, digits)


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
           **options) -> Iterator[FrameFaces]:
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
            for count, frame in enumerate(frames, start=1):
                if not frames.sequence:
                    recognizer.reset()  # unrelated pictures: no tracks across them
                faces = recognizer.recognize(frame.image)
                yield FrameFaces(frame.image, faces, frame.index, frame.timestamp, frame.name)
                if max_frames is not None and count >= max_frames:
                    break
        finally:
            frames.close()
    finally:
        if own:
            recognizer.close()
