"""What every way out of a `fer-edge` command must look like (README: "bad input gets one `error:
...` line and a non-zero exit"), and a runner that measures a command in its own process: exit
status, output, peak memory and time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FER_EDGE = [sys.executable, "-m", "fer_edge"]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_one_error(code: int, stderr: str, stdout: str = "") -> str:
    """A refused input: non-zero exit, exactly one `error:` line, no traceback. Returns the line."""
    assert code not in (0, None), f"exit {code}, expected a failure\n{stderr}"
    assert "Traceback" not in stderr + stdout, stderr
    errors = error_lines(stderr)
    assert len(errors) == 1, f"{len(errors)} error lines:\n{stderr}"
    return errors[0]


def assert_clean_exit(code: int, stderr: str, stdout: str = "") -> None:
    """Success, or one `error:` line with a non-zero exit; never a traceback."""
    assert "Traceback" not in stderr + stdout, stderr
    if code == 0:
        assert not error_lines(stderr), stderr
    else:
        assert_one_error(code, stderr, stdout)


@dataclass
class Finished:
    code: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float


def run_cli(args, timeout: float = 120, env: dict | None = None, cwd=None, preexec_fn=None,
            signal_after: tuple[float, int] | None = None) -> Finished:
    """`fer-edge ARGS` as its own process. Its peak resident memory comes from wait4 (this child's
    alone); `signal_after` (seconds, signal) sends it a signal, and `seconds` is then the time from
    the signal to its end."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen([*FER_EDGE, *map(str, args)], stdout=out, stderr=err, cwd=cwd or REPO,
                                env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
        signalled = False
        code = rusage = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                proc.returncode = code  # reaped here; Popen must not wait for it again
                break
            now = time.monotonic()
            if signal_after and not signalled and now - started >= signal_after[0]:
                proc.send_signal(signal_after[1])
                signalled, started = True, now
            if now - started > timeout:
                proc.kill()
                _, _, rusage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return Finished(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        rusage.ru_maxrss / 1024.0, seconds)


def final_names(folder: Path) -> list[str]:
    """Files a command left under a final (not hidden, not temporary) name."""
    return sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("."))
