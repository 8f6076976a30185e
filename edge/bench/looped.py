"""Frames for `fer-edge bench`: the real source, looped to reach the frame count, optionally
letterboxed to a fixed size, read inline or on a capture thread.

A video shorter than the run is reopened at its end; the seconds spent reopening are counted in
`excluded_s` so the bench can leave them out of the capture stage (a camera never reopens).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator


from fer_edge.edge.sources import Frame, Source, letterbox, parse_wxh


class LoopedSource(Source):
    """Frames of `open_source()` without end, reopening a file or a folder of images when it ends
    (the bench stops reading when it has enough); a live source is never reopened: its end is
    the end of the run."""

    def __init__(self, open_source: Callable[[], Source], size: tuple[int, int] | None = None):
        self._open, self.size = open_source, size
        self.inner = open_source()
        self.name, self.fps, self.live, self.sequence = (self.inner.name, self.inner.fps, self.inner.live,
                                                         self.inner.sequence)
        self.frame_count = None
        self.loops = 0  # times the source was reopened
        self.excluded_s = 0.0  # seconds spent reopening, not part of any frame's capture
        self.decoded_size: tuple[int, int] | None = None  # (width, height) before letterboxing: the first frame's
        self.sizes_vary = False  # a folder of images of several sizes

    def frames(self) -> Iterator[Frame]:
        delivered = 0
        while True:
            got = 0
            for frame in self.inner:
                decoded = (frame.image.shape[1], frame.image.shape[0])
                if self.decoded_size is None:
                    self.decoded_size = decoded
                elif decoded != self.decoded_size:
                    self.sizes_vary = True
                image = letterbox(frame.image, self.size) if self.size else frame.image
                yield Frame(image, delivered, frame.time, frame.name)
                delivered, got = delivered + 1, got + 1
            if self.live or got == 0:  # a live source that ended, or a file that yields nothing
                return
            t0 = time.perf_counter()
            self.inner.close()
            self.inner = self._open()
            if hasattr(self.inner, "warn_skipped"):
                self.inner.warn_skipped = False  # said on the first pass already
            self.loops += 1
            self.excluded_s += time.perf_counter() - t0

    def close(self) -> None:
        self.inner.close()


def parse_size(text: str | None) -> tuple[int, int] | None:
    """--size WxH, e.g. 640x480; None keeps frames as decoded."""
    return parse_wxh(text, "--size", 16, 8192)
