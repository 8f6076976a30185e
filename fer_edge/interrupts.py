"""Hold Ctrl-C, SIGTERM and SIGHUP for the length of a block.

A KeyboardInterrupt (or Terminated) raised while a library builds an object leaves that object
half-built; MediaPipe's `Image.__del__` then prints "Exception ignored ... AttributeError" with a
traceback as the run stops. Inside `interrupts_deferred()` such a signal is noted and acted on when
the block ends, a few milliseconds later.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

_HELD = tuple(s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():  # handlers run in the main thread only
        yield
        return
    pending: list[tuple[int, object]] = []
    saved = {}
    for sig in _HELD:
        handler = signal.getsignal(sig)
        if callable(handler):  # a Python handler (Ctrl-C's, ours); ignored or default ones stay as they are
            saved[sig] = handler
            signal.signal(sig, lambda signum, frame: pending.append((signum, frame)))
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        if pending:
            signum, frame = pending[0]
            saved[signum](signum, frame)  # raises as the signal would have
