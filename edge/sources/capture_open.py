"""Open a network stream or a named pipe without holding up Ctrl-C, SIGTERM or the user.

cv2.VideoCapture blocks in native code while it connects and probes, and Python runs signal
handlers only between bytecodes of the main thread: a stream that accepts a connection and never
answers held Ctrl-C for OpenCV's own 30 s timeout, and a FIFO with no writer blocked for ever.
Here the open runs on its own thread, with FFmpeg's open and read timeouts set, while the main
thread waits in short, interruptible steps; past OPEN_TIMEOUT_S it gives up with a one-line error.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import cv2

from fer_edge.errors import FerEdgeError

OPEN_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 10.0  # a stream silent this long mid-run counts as lost


class OpenTimeout(FerEdgeError):
    """A FerEdgeError, so the noise filter around the open does not replay FFmpeg's lines; the
    caller words the message."""


def is_fifo(target: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(target).st_mode)
    except OSError:
        return False


def _release_fifo_reader(path: str) -> None:
    """Wake an open(2) that waits for a FIFO's writer: open the write end without blocking and
    close it, so the reader sees end of file and the opening thread ends."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:  # no reader waiting (it gave up already) or no such pipe any more
        return
    os.close(fd)


def open_capture(target: str, timeout_s: float = OPEN_TIMEOUT_S, quiet=None) -> cv2.VideoCapture:
    """A cv2.VideoCapture of `target` (URL or FIFO) through FFmpeg, opened on a helper thread.
    Raises OpenTimeout after `timeout_s`; a signal meanwhile raises in the caller at once (the
    helper finishes on its own, within FFmpeg's timeout, and releases what it opened). `quiet`:
    a context manager factory to run the open under (the caller's noise filter)."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(timeout_s * 1000), cv2.CAP_PROP_READ_TIMEOUT_MSEC,
              int(READ_TIMEOUT_S * 1000)]
    result: dict = {}
    lock = threading.Lock()
    done = threading.Event()

    def opener():
        cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        with lock:
            if result.get("abandoned"):
                cap.release()  # the caller left (timeout or signal): nobody will use it
            else:
                result["cap"] = cap
        done.set()

    def wait():
        thread = threading.Thread(target=opener, name="fer-edge-open", daemon=True)
        started = time.monotonic()
        thread.start()
        try:
            # Short waits: each returns to the interpreter, so a signal handler runs within 0.2 s.
            while not done.wait(0.2):
                if time.monotonic() - started >= timeout_s + 1.0:  # FFmpeg's own timeout should have ended it
                    raise OpenTimeout
        finally:
            with lock:
                if "cap" not in result:
                    result["abandoned"] = True
            if not done.is_set() and is_fifo(target):
                _release_fifo_reader(target)
                thread.join(0.5)  # it ends at once now, and what it prints stays inside the caller's filter
        cap = result["cap"]
        if not cap.isOpened() and time.monotonic() - started >= 0.9 * timeout_s:  # FFmpeg gave up waiting
            cap.release()
            raise OpenTimeout
        return cap

    if quiet is None:
        return wait()
    with quiet():
        return wait()


def needs_timed_open(target: str) -> bool:
    """Network streams and named pipes can keep an open waiting; files and cameras cannot."""
    return "://" in target and not Path(target).exists() or is_fifo(target)
