"""A long-lived process that runs `fer-edge` commands for the fuzz tests, one per line of stdin,
and answers each with one JSON line: exit status, output, any uncaught exception's traceback,
the memory the command added at its peak, and its time.

A fresh process per generated case would cost about a second of imports each; here a case costs
what its command costs, so a minute of fuzzing tries hundreds of files. Its peak memory is read
per case: writing 5 to /proc/self/clear_refs resets the kernel's high-water mark (VmHWM) to the
current size. `python fuzz_worker.py AS_MB` also caps the address space (RLIMIT_AS), so a runaway
allocation fails here rather than on the machine. A crash (a native fault) ends the process; the
test side sees it and starts another.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
import traceback


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _ends(text: str, each: int = 3000) -> str:
    """Long output's start and end: the start holds a long error line's `error:`, the end the last lines."""
    return text if len(text) <= 2 * each else text[:each] + "\n[...]\n" + text[-each:]


def main() -> None:
    as_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if as_mb:
        resource.setrlimit(resource.RLIMIT_AS, (as_mb << 20, as_mb << 20))
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # native code printing to fd 1 must not break the protocol
    native = tempfile.TemporaryFile()
    os.dup2(native.fileno(), 2)  # nor flood the test log; each case gets its share back

    from click.testing import CliRunner

    from fer_edge.cli import cli

    if os.environ.get("FER_EDGE_FUZZ_PRELOAD_KERAS"):  # TensorFlow's import is not any case's memory
        from fer_edge.keras_files import import_keras

        import_keras()
    replies.write('{"ready": true}\n')  # start-up done: what follows is timed per case
    replies.flush()

    for line in sys.stdin:
        request = json.loads(line)
        native.seek(0)
        native.truncate()
        base = _status_mb("VmRSS")
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        started = time.monotonic()
        result = CliRunner(env=request.get("env")).invoke(cli, request["args"], catch_exceptions=True)
        seconds = time.monotonic() - started
        exc = result.exception
        crash = None
        if exc is not None and not isinstance(exc, SystemExit):
            crash = "".join(traceback.format_exception(*result.exc_info))[-4000:]
        native.seek(0)
        reply = {"code": result.exit_code, "stdout": _ends(result.stdout), "stderr": _ends(result.stderr),
                 "exception": crash, "grew_mb": max(0.0, _status_mb("VmHWM") - base), "seconds": seconds,
                 "native": native.read(4000).decode(errors="replace")}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
