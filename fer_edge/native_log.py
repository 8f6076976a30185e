"""What native libraries print during a whole run, summed up in at most one warning line.

FFmpeg and OpenCV write to file descriptor 2 themselves, once per event: a full disk gave 183
"Failed to write frame" lines, a truncated H.264 file a screenful of decoder errors, LiteRT its
INFO lines. For the length of a command fd 2 goes to a temporary file while Python's own messages
(progress bar, warnings, the summary) still reach the terminal through a copy of the real fd 2;
at the end the held text becomes one `warning:` line naming the most frequent message, or
nothing when all of it was start-up chatter. An unexpected exception replays it whole, since it
may explain the failure. FER_EDGE_NATIVE_LOGS=1 lets it all through as it happens.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from fer_edge.errors import FerEdgeError

NATIVE_LOGS_ENV = "FER_EDGE_NATIVE_LOGS"  # as edge.console's; this module is imported by --help, console is not

# Informational lines, dropped: LiteRT's delegate notice, absl's "before InitializeLog/InitGoogle"
# banners and its I-prefixed (info) records.
CHATTER = re.compile(r"^(INFO: |I\d{4} |WARNING: Logging before InitGoogle|WARNING: All log messages before absl)")
# What varies between repeats of one message: pointers, positions, counts and times.
_VARIABLE = re.compile(r"0x[0-9a-fA-F]+|\d+(\.\d+)?")


def summary(text: str) -> str | None:
    """One line for what native code printed, or None when it was only chatter."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not CHATTER.match(line.strip())]
    if not lines:
        return None
    kinds = Counter(_VARIABLE.sub("#", line) for line in lines)
    common, times = kinds.most_common(1)[0]
    example = next(line for line in lines if _VARIABLE.sub("#", line) == common)
    if len(example) > 120:
        example = example[:117] + "..."
    counted = f"{len(lines)} lines" if len(lines) > 1 else "1 line"
    repeated = " (all alike)" if times == len(lines) > 1 else f" ({times} alike)" if times > 1 else ""
    return (f"the video and model libraries printed {counted}, e.g. {example!r}{repeated}; "
            f"{NATIVE_LOGS_ENV}=1 shows them")


@contextmanager
def native_output_summarised() -> Iterator[None]:
    """As a decorator: the whole command (edge/commands.py `run`)."""
    from fer_edge.console import held_text, native_stderr_held, warn

    if os.environ.get(NATIVE_LOGS_ENV):
        yield
        return
    try:
        python_on_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):  # captured (a test runner): Python's lines stay there
        python_on_fd2 = False
    text, replay = "", False
    try:
        with native_stderr_held() as (terminal, held):
            saved = sys.stderr
            if python_on_fd2:
                sys.stderr = terminal  # the progress bar and our messages still reach the terminal
            try:
                yield
            except (FerEdgeError, KeyboardInterrupt, BrokenPipeError, SystemExit):  # said in one line, or asked for
                raise
            except BaseException:
                replay = True
                raise
            finally:
                if python_on_fd2:
                    terminal.flush()
                    sys.stderr = saved
                text = held_text(held)
    finally:  # fd 2 is the terminal again
        line = summary(text)
        if replay and text:
            sys.stderr.write(text + "\n")
        elif line:
            warn(line)
