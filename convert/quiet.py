"""Keep TensorFlow's native chatter (absl start-up lines, MLIR and calibration logs, which go
straight to file descriptor 2 whatever Python's logging says) off the terminal."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def native_stderr_captured():
    """Redirect fd 2 to a temporary log for the block. Yields (terminal, log): `terminal` still
    reaches the real stderr (for progress bars); `log` holds what was captured, for error messages.
    Exceptions pass through untouched and are printed, if at all, after stderr is restored."""
    sys.stderr.flush()
    saved = os.dup(2)
    log = tempfile.TemporaryFile(mode="w+b")
    terminal = os.fdopen(os.dup(saved), "w")
    os.dup2(log.fileno(), 2)
    try:
        yield terminal, log
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        terminal.close()
        log.close()


def logged_errors(log) -> list[str]:
    """Lines of a captured log that mention an error."""
    log.flush()
    log.seek(0)
    text = log.read().decode(errors="replace")
    return [ln.strip() for ln in text.splitlines() if "error" in ln.lower()]
