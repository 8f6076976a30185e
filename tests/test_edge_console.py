"""What native libraries write straight to file descriptor 2: held back, replayed on failure."""

import os
import subprocess

from edge_fixtures import run_python


def run_child(body: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    code = "import os, sys\nfrom fer_edge.console import native_stderr_held, quiet_native_stderr, held_text\n" + body
    env = {k: v for k, v in os.environ.items() if k != "FER_EDGE_NATIVE_LOGS"} | (env_extra or {})
    return run_python(code, env, timeout=60)


def test_native_lines_are_dropped_when_the_block_succeeds():
    res = run_child("with quiet_native_stderr():\n    os.write(2, b'INFO: delegate chatter\\n')\nos.write(2, b'after\\n')\n")
    assert res.returncode == 0 and res.stderr == "after\n"


def test_native_lines_are_replayed_when_the_block_fails():
    res = run_child("with quiet_native_stderr():\n    os.write(2, b'E: why it failed\\n')\n    raise SystemExit(3)\n")
    assert res.returncode == 3 and res.stderr == "E: why it failed\n"


def test_native_logs_switch_lets_them_through():
    res = run_child("with quiet_native_stderr():\n    os.write(2, b'shown\\n')\n", {"FER_EDGE_NATIVE_LOGS": "1"})
    assert res.returncode == 0 and res.stderr == "shown\n"


def test_held_block_keeps_a_terminal_for_progress_bars_and_the_text_for_errors():
    res = run_child(
        "with native_stderr_held() as (terminal, held):\n"
        "    os.write(2, b'converter: error: bad op\\n')\n"
        "    terminal.write('progress\\n'); terminal.flush()\n"
        "    print(repr(held_text(held)))\n"
    )
    assert res.returncode == 0 and res.stderr == "progress\n"
    assert res.stdout.strip() == repr("converter: error: bad op")
