"""`fer-edge run` opens no network connection: faces are people's, and kiosks and classrooms must not
phone home. strace sees every socket a process and its threads create, native libraries included
(which a Python-level guard would miss). MediaPipe's own runtime, which looks up a Google logging
endpoint on every run, is the control: the same check catches it."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest
from edge_fixtures import REPO, media

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed (apt install strace)")

# A socket of any family but AF_UNIX (local only), or a connect/send to an address.
NETWORK = re.compile(r"socket\((?!AF_UNIX)|connect\(\d+, \{sa_family=AF_INET|sendto\(.*sa_family=AF_INET")


def network_calls(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    trace = tmp_path / "strace.txt"
    proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=socket,connect,sendto,sendmsg", "-o", str(trace),
                           sys.executable, "-m", "fer_edge", "run", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    return proc, [line for line in trace.read_text().splitlines() if NETWORK.search(line)]


def test_run_on_photos_and_a_video_creates_no_network_socket(tmp_path):
    proc, calls = network_calls(tmp_path, "--source", "samples/astronaut.jpg", "--headless", "--jsonl", "-",
                                "--output-video", str(tmp_path / "a.jpg"))
    assert proc.returncode == 0 and '"label"' in proc.stdout, proc.stderr[-2000:]
    assert calls == []
    video = media("video01_single_face_neutral_to_smile.mp4")
    proc, calls = network_calls(tmp_path, "--source", str(video), "--headless", "--max-frames", "20", "--csv",
                                str(tmp_path / "o.csv"), "--output-video", str(tmp_path / "o.mp4"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert calls == []


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None, reason="mediapipe not installed")
def test_the_check_catches_mediapipe_runtime_reaching_for_the_network(tmp_path):
    proc, calls = network_calls(tmp_path, "--source", "samples/astronaut.jpg", "--headless", "--jsonl", "-",
                                "--detector", "mediapipe")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert calls, "MediaPipe's runtime made no network call this time: the control no longer shows the check works"
