"""`fer-edge run --realtime`: a video file played at its own frame rate, as a camera would deliver
it, so that a person watching (`--serve`, the window) sees it at its real speed rather than as fast
as the pipeline runs. Every frame is still processed; none is dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fer_edge.edge.sources import Frame, Source

RESYNC_S = 0.25  # behind by more than this (a slow frame): carry on from now rather than rush to catch up


class PacedSource(Source):
    """Holds each frame of `inner` back until its time in the video has come. Frames without a
    timestamp (images) pass at once; a pipeline slower than the video is never slowed further."""

    def __init__(self, inner: Source):
        self.inner = inner
        self.name, self.fps, self.frame_count = inner.name, inner.fps, inner.frame_count
        self.live, self.sequence = inner.live, inner.sequence
        self.waited_s = 0.0  # seconds held back so far: the frame loop reports it apart from capture

    @property
    def dropped(self) -> int:
        return int(getattr(self.inner, "dropped", 0))

    def frames(self) -> Iterator[Frame]:
        origin = None  # monotonic time at which the video's time 0 is (re)placed
        for frame in self.inner:
            if frame.time is not None:
                now = time.monotonic()
                if origin is None or now - (origin + frame.time) > RESYNC_S:
                    origin = now - frame.time
                delay = origin + frame.time - now
                if delay > 0:
                    time.sleep(delay)
                    self.waited_s += time.monotonic() - now
            yield frame

    def close(self) -> None:
        self.inner.close()
