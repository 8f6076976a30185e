"""What every way out of a `fer-edge` command must look like (README: "bad input gets one `error:
...` line and a non-zero exit"), and a runner that measures a command in its own process: exit
status, output, peak memory and time."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FER_EDGE = [sys.executable, "-m", "fer_edge"]
# Runs the command as its own child and reports that child's peak memory. wait4 alone would not do:
# exec() records the memory the process had before it (Linux keeps the old image's high-water mark),
# and a child forked from the test process starts as large as the test process (~1 GB once it has
# imported TensorFlow). This launcher is small, so what its child reports is the command's own.
MEASURE = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


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
    peak_mb: float  # NaN unless run_cli(measure=True)
    seconds: float


def run_cli(args, timeout: float = 120, env: dict | None = None, cwd=None, preexec_fn=None,
            signal_after: tuple[float, int] | None = None, measure: bool = False) -> Finished:
    """`fer-edge ARGS` as its own process. `signal_after` (seconds, signal) sends it a signal, and
    `seconds` is then the time from the signal to its end. `measure`: its peak resident memory, through
    the MEASURE launcher (not with `signal_after`: the signal would reach the launcher)."""
    assert not (measure and signal_after)
    peak_file = tempfile.NamedTemporaryFile(delete=False) if measure else None
    command = [*FER_EDGE, *map(str, args)]
    if measure:
        command = [sys.executable, "-c", MEASURE, peak_file.name, *command]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd or REPO,
                                env={**os.environ, **(env or {})}, preexec_fn=preexec_fn)
        signalled = False
        code = None
        while True:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
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
                os.waitpid(proc.pid, 0)
                proc.returncode = -9
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        peak_kb = float("nan")
        if peak_file is not None:
            peak_kb = float(Path(peak_file.name).read_text() or "nan")
            os.unlink(peak_file.name)
        return Finished(code, out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                        peak_kb / 1024.0, seconds)


def final_names(folder: Path) -> list[str]:
    """Files a command left under a final (not hidden, not temporary) name."""
    return sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("."))
