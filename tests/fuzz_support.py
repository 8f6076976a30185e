"""The fuzz tests' side of tests/fuzz_worker.py, the rule every generated case is held to, and the
budgets: how many cases (FER_EDGE_FUZZ=long or `pytest --fuzz-long` for ten times as many), how
much memory and time each may take. Kept free of Hypothesis so conftest.py can import it."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cli_checks import error_lines

REPO = Path(__file__).resolve().parents[1]
WORKER = Path(__file__).with_name("fuzz_worker.py")
# Each case: at most this long, and at most this much more memory than the worker held before it.
CASE_SECONDS = 30.0
STARTUP_SECONDS = 300.0
CASE_GROWTH_MB = 600.0
# Hard caps on the workers' address space, so that a runaway allocation fails there, not on the
# machine: LiteRT and FFmpeg reserve ~0.8 GB they never use, TensorFlow ~3.3 GB.
EDGE_ADDRESS_SPACE_MB = 4096
HOST_ADDRESS_SPACE_MB = 8192


def long_run() -> bool:
    """Read when called: conftest's --fuzz-long sets the variable after this module is imported."""
    return os.environ.get("FER_EDGE_FUZZ") == "long"


def examples(default: int) -> int:
    """Cases per fuzz target: `default` in CI (the whole fuzz suite in about a minute on 2 cores),
    ten times as many for a long run."""
    return default * 10 if long_run() else default


@dataclass
class Stats:
    cases: int = 0  # generated cases (Hypothesis examples)
    commands: int = 0  # commands run for them
    succeeded: int = 0  # of those, how many ended in success (the rest: one error line)
    longest_s: float = 0.0
    most_mb: float = 0.0
    per_target: dict = field(default_factory=dict)
    seconds: float = 0.0


STATS = Stats()


def count_case(target: str) -> None:
    STATS.cases += 1
    STATS.per_target[target] = STATS.per_target.get(target, 0) + 1


class Worker:
    """One fuzz_worker.py process; restarted after a crash or a case past its time."""

    def __init__(self, address_space_mb: int = 0, env: dict | None = None):
        self.address_space_mb, self.env = address_space_mb, env
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = {**os.environ, "DISPLAY": "", "WAYLAND_DISPLAY": "", **(self.env or {})}
        args = [sys.executable, str(WORKER)] + ([str(self.address_space_mb)] if self.address_space_mb else [])
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=REPO, env=env, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], STARTUP_SECONDS)  # imports: TensorFlow's take a while
        if not ready or not self.proc.stdout.readline():
            self.close()
            raise RuntimeError(f"the fuzz worker did not start within {STARTUP_SECONDS:.0f} s")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def run(self, args, timeout: float = CASE_SECONDS, counted: bool = True) -> dict:
        """`counted=False`: a fixture's set-up command, left out of the fuzz figures."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        STATS.commands += counted
        self.proc.stdin.write(json.dumps({"args": [str(a) for a in args]}) + "\n")
        self.proc.stdin.flush()
        started = time.monotonic()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        STATS.seconds += (time.monotonic() - started) * counted
        if not line:
            status = self.proc.poll()
            self.close()
            what = f"ran past {timeout:.0f} s" if status is None else f"crashed (exit status {status})"
            return {"args": args, "failure": what}
        reply = json.loads(line)
        reply["args"] = args
        if counted:
            STATS.longest_s = max(STATS.longest_s, reply["seconds"])
            STATS.most_mb = max(STATS.most_mb, reply["grew_mb"])
        return reply


def check(reply: dict, outputs: Path | None = None) -> dict:
    """The rule for every generated case: success, or exactly one `error:` line and a non-zero exit;
    never a traceback; within CASE_SECONDS and CASE_GROWTH_MB; a failed command leaves nothing under
    a final name in `outputs`."""
    where = f"fer-edge {' '.join(map(str, reply['args']))}"
    assert "failure" not in reply, f"{where}: {reply.get('failure')}"
    assert reply["exception"] is None, f"{where}: uncaught exception\n{reply['exception']}"
    text = reply["stderr"] + reply["stdout"]
    assert "Traceback" not in text, f"{where}:\n{reply['stderr']}"
    errors = error_lines(reply["stderr"])
    if reply["code"] == 0:
        assert not errors, f"{where}: exit 0 with {errors}"
        STATS.succeeded += 1
    else:
        assert len(errors) == 1, f"{where}: exit {reply['code']} with {len(errors)} error lines:\n{reply['stderr']}"
        if outputs is not None and outputs.exists():
            left = sorted(p.name for p in outputs.iterdir() if not p.name.startswith("."))
            assert left == [], f"{where}: failed and left {left}"
    assert reply["seconds"] <= CASE_SECONDS, f"{where}: took {reply['seconds']:.1f} s"
    assert reply["grew_mb"] <= CASE_GROWTH_MB, f"{where}: took {reply['grew_mb']:.0f} MB more memory"
    return reply


@pytest.fixture(scope="session")
def edge_worker():
    worker = Worker(EDGE_ADDRESS_SPACE_MB)
    yield worker
    worker.close()


@pytest.fixture(scope="session")
def host_worker():
    """For `.keras` files and training runs: imports TensorFlow once, before the first case."""
    worker = Worker(HOST_ADDRESS_SPACE_MB, env={"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
                                                "FER_EDGE_FUZZ_PRELOAD_KERAS": "1"})
    yield worker
    worker.close()


def summary_line() -> str | None:
    if not STATS.cases:
        return None
    targets = ", ".join(f"{name} {n}" for name, n in sorted(STATS.per_target.items()))
    return (f"fuzz: {STATS.cases} generated cases ({targets}; {STATS.commands} commands, {STATS.succeeded} succeeded, "
            f"the rest refused in one line; "
            f"{'long' if long_run() else 'CI'} budget): slowest {STATS.longest_s:.1f} s, most memory +{STATS.most_mb:.0f} MB, "
            f"{STATS.seconds:.0f} s in commands")
