"""A source read on its own thread: newest frame only for cameras and streams, decoded ahead for files."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator


from fer_edge.edge.sources.frame import Frame, Source


class ThreadedReader(Source):
    """Base of the readers that pull frames from `inner` on their own thread: they share the
    source's description, the stop flag, the error handed to the consumer, and how they close."""

    def __init__(self, inner: Source, thread_name: str):
        self.inner = inner
        self.name, self.fps, self.live, self.sequence = inner.name, inner.fps, inner.live, inner.sequence
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)
        # Releasing a capture while the thread is still blocked in a read can crash the backend;
        # a thread stuck that long is a dead device, left to die with the (daemon) thread.
        if not self._thread.is_alive():
            self.inner.close()


class LatestFrameReader(ThreadedReader):
    """Reads a live source on its own thread and hands out only the newest frame.

    A camera or stream buffers frames while the pipeline is busy; reading them in order would
    show ever older pictures. Frames that arrive while one is being processed are dropped
    (counted in `dropped`). Errors from the source are raised in the consumer.
    """

    def __init__(self, inner: Source):
        super().__init__(inner, "fer-edge-capture")
        self.frame_count = None
        self.dropped = 0
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._done = False

    def _run(self) -> None:
        try:
            for frame in self.inner:
                with self._cond:
                    if self._frame is not None:
                        self.dropped += 1
                    self._frame = frame
                    self._cond.notify()
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer thread, which raises it
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def frames(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            with self._cond:
                while self._frame is None and not self._done:
                    self._cond.wait(0.5)
                frame, self._frame = self._frame, None
                if frame is None:
                    if self._error is not None:
                        raise self._error
                    return
            yield frame


_END = object()


class PrefetchReader(ThreadedReader):
    """Reads a file source on its own thread, a few frames ahead, dropping none.

    Overlaps decoding with inference the way a capture thread overlaps camera I/O, but keeps
    every frame of a file (LatestFrameReader, for live sources, drops the ones it cannot use).
    """

    def __init__(self, inner: Source, depth: int = 2):
        super().__init__(inner, "fer-edge-prefetch")
        self.frame_count = inner.frame_count
        self._queue: queue.Queue = queue.Queue(maxsize=depth)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in self.inner:
                if not self._put(frame):
                    return
        except BaseException as exc:  # raised again in the consumer
            self._error = exc
        self._put(_END)

    def frames(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item


def with_capture_thread(source: Source, capture_thread: bool | None = None) -> Source:
    """The source as `run` reads it: on its own thread when asked (`capture_thread`), or by default
    for cameras and streams (live), not for files."""
    threaded = capture_thread if capture_thread is not None else source.live
    return capture_reader(source) if threaded else source


def capture_reader(source: Source) -> ThreadedReader:
    """The source read on its own thread: a camera or stream hands out only its newest frame (a
    busy pipeline must not fall behind real time); a file or folder is decoded ahead, every frame kept."""
    return LatestFrameReader(source) if source.live else PrefetchReader(source)
