"""What reaches the terminal. Our messages always go to stderr, so `--jsonl -` keeps stdout clean,
and through tqdm so they do not tear a progress bar. The native libraries' start-up chatter is
held back (see quiet_native_stderr)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

# Set to 1 to let LiteRT/MediaPipe print their own log lines (for debugging a model or delegate).
NATIVE_LOGS_ENV = "FER_EDGE_NATIVE_LOGS"


def info(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def warn(message: str) -> None:
    tqdm.write(f"warning: {message}", file=sys.stderr)


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 during the block.

    LiteRT and MediaPipe print several INFO/WARNING lines on every model load and close, straight
    to fd 2 (Python cannot filter them, and they have no documented switch). They are captured in
    a temporary file and dropped, unless an exception escapes: then they are replayed, because
    they may explain it.
    """
    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to protect
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                text = held.read().decode(errors="replace").strip()
                if text:
                    sys.stderr.write(text + "\n")
