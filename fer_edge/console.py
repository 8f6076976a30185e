"""What reaches the terminal. Our messages always go to stderr, so `--jsonl -` keeps stdout clean,
and through tqdm so they do not tear a progress bar. The native libraries' start-up chatter is
held back (see quiet_native_stderr)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from typing import BinaryIO, TextIO
from contextlib import contextmanager

from tqdm import tqdm

from fer_edge.errors import FerEdgeError

# Set to 1 to let LiteRT/MediaPipe print their own log lines (for debugging a model or delegate).
NATIVE_LOGS_ENV = "FER_EDGE_NATIVE_LOGS"


def info(message: str) -> None:
    tqdm.write(message, file=sys.stderr)


def warn(message: str) -> None:
    tqdm.write(f"warning: {message}", file=sys.stderr)


@contextmanager
def native_stderr_held() -> Iterator[tuple[TextIO, BinaryIO]]:
    """Redirect file descriptor 2 into a temporary file for the block; yields (terminal, held):
    `terminal` still reaches the real stderr (for progress bars), `held` holds what native code
    wrote there. Native libraries write to fd 2 directly, so Python's own logging cannot filter them.
    Without a usable fd 2 nothing is redirected (`terminal` is sys.stderr, `held` stays empty)."""
    with tempfile.TemporaryFile() as held:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError):  # no usable stderr: nothing to protect
            yield sys.stderr, held
            return
        terminal = os.fdopen(os.dup(saved), "w", buffering=1)  # line by line, as stderr: a pipe reader (a journal, a
        # test waiting for the live-view address) sees each message when it is said, not at exit
        os.dup2(held.fileno(), 2)
        try:
            yield terminal, held
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            terminal.close()


def held_text(held: BinaryIO) -> str:
    """What native code wrote into `held` so far (for an error message)."""
    held.flush()
    held.seek(0)
    return held.read().decode(errors="replace").strip()


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Hold back what native code writes to file descriptor 2 during the block.

    LiteRT and MediaPipe print several INFO/WARNING lines on every model load and close, straight
    to fd 2 (they have no documented switch). They are dropped, unless an exception escapes: then
    they are replayed, because they may explain it; not for a FerEdgeError, whose one line already
    says what is wrong (FER_EDGE_NATIVE_LOGS=1 shows them).
    """
    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    replay = ""
    try:
        with native_stderr_held() as (_, held):
            try:
                yield
            except FerEdgeError:
                raise
            except BaseException:
                replay = held_text(held)
                raise
    finally:
        if replay:  # fd 2 is restored by now
            sys.stderr.write(replay + "\n")
