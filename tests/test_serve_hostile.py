"""`fer-edge run --serve` under attack (issue 33), on loopback only: each attack of
benchmarks/serve_attacks.py runs, bounded in count and time, against one real LiveView in token
mode in its own process, whose frame loop publishes at 24 FPS with the run's real JSONL and CSV
outputs. Each asserts that the loop keeps 90% of the FPS it had just before (same process, same
feeder), that memory, descriptors and threads stay bounded, that nothing the attacker sent reaches
stderr, and that a normal viewer (the token, then /state.json, a video frame and a state event)
is served within 2 s while the attack goes on. At the end the victim is stopped with SIGTERM
and its two outputs must hold every frame it published."""

from __future__ import annotations

import csv
import http.client
import json
import signal
import socket
import subprocess
import sys
import time
from http.cookies import SimpleCookie

import threading

import numpy as np
import pytest
from edge_fixtures import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import serve_attacks as attacks  # noqa: E402

from fer_edge.edge.serve.access import cookie_value, query_value  # noqa: E402
from fer_edge.edge.serve.gate import HEAD_DEADLINE_S, HEAD_MAX, Gate  # noqa: E402
from fer_edge.edge.results import Face, FrameResult  # noqa: E402
from fer_edge.edge.serve import LiveView, server  # noqa: E402
from fer_edge.edge.serve.server import SECURITY_HEADERS  # noqa: E402
from fer_edge.edge.sources import Frame  # noqa: E402
from fer_edge.labels import EMOTIONS  # noqa: E402

WINDOW_S = 1.5  # each attack's measured window (36 frames at 24 FPS), after a baseline of BASELINE_S
BASELINE_S = 1.0
RSS_GROWTH_MB = 25  # the most an attack may add while it runs (a 60 KB-a-header flood added 38 before)
FDS_MAX = 75  # 32 waiting at the gate + 20 served + the process's own ~12
THREADS_MAX = 60


@pytest.fixture(scope="module")
def victim(tmp_path_factory):
    out = tmp_path_factory.mktemp("victim")
    v = attacks.Victim(str(out))
    v.out = out
    time.sleep(0.5)
    yield v
    if v.proc.poll() is None:
        v.proc.kill()
        v.proc.wait()


def check(result: dict, retry) -> None:
    if result["fps_during"] < 0.9 * result["fps_before"]:
        # Once more: this machine's 2 cores are shared with other work, whose bursts show here as
        # a lost frame or two; an attack that costs the loop FPS costs it both times.
        result = retry()
    assert result["fps_during"] >= 0.9 * result["fps_before"], result
    assert result["rss_max_mb"] - result["rss_before_mb"] < RSS_GROWTH_MB, result
    assert result["fds_max"] < FDS_MAX and result["threads_max"] < THREADS_MAX, result
    assert result["stderr_bytes"] == 0, result
    waits = result["viewer_s"]
    assert all(w is not None and w < 2.0 for w in waits.values()), result


@pytest.mark.parametrize("name", ["cookie", "bad_target", "slowloris", "idle", "stalled_events", "stalled_video",
                                  "burst", "rapid",
                                  "header_flood", "line_flood", "malformed"])
def test_an_attack_leaves_the_run_and_its_viewers_alone(victim, name):
    def once():
        return attacks.run_attack(victim, name, WINDOW_S, settle=0.5, baseline=BASELINE_S)
    check(once(), once)


def test_an_event_reader_that_stops_reading_is_dropped(monkeypatch):
    """Issue 4 (the write deadline): once what it left unread fills its receive buffer (small
    here, so that takes a second or two) and the server's small send buffer, and EVENTS_STALL_S
    (1 s here) pass, the server drops it by itself. (With a default buffer that takes minutes;
    then a new viewer takes its place: the stalled_events attack above.)"""
    monkeypatch.setattr(server, "EVENTS_STALL_S", 1.0)
    with LiveView("127.0.0.1", 0, list(EMOTIONS), "synthetic", fps=30, max_viewers=2) as view:
        stop = threading.Event()

        def feed():
            image = np.zeros((48, 64, 3), np.uint8)
            probs = np.full(7, 1 / 7, np.float32)
            i = 0
            while not stop.wait(0.01):
                faces = [Face(k, (k, k, 9, 9), "happy", 0.6, probs, 0.9) for k in range(4)]  # ~2 KB a state
                view.publish(Frame(image, i, i / 100), None, FrameResult(faces, {}), 100.0)
                i += 1

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", view.port))
        sock.sendall(b"GET /events HTTP/1.0\r\n\r\n")
        t0 = time.monotonic()
        try:
            while len(view._event_streams) == 0 and time.monotonic() - t0 < 5:
                time.sleep(0.02)
            assert len(view._event_streams) == 1
            while len(view._event_streams) == 1 and time.monotonic() - t0 < 15:
                time.sleep(0.05)
            took = time.monotonic() - t0
            assert len(view._event_streams) == 0, took
        finally:
            stop.set()
            sock.close()
            feeder.join(2)


def test_the_cookie_is_split_in_linear_time_as_the_standard_library_reads_it():
    """Issue 1: a 60 KB Cookie of backslashes cost SimpleCookie 1.2 s on this machine's Python
    3.11.7 (quadratic, CVE-2024-7592) and 10 s on a Pi; the split here takes microseconds."""
    crafted = 'a="' + "\\" * 60000 + '"'
    best = min(_timed(cookie_value, crafted, "a") for _ in range(3))
    assert best < 0.01, best
    for header in ["fer_edge_token_8080=abc-DEF_12.3~x", "a=1; fer_edge_token_8080=tok-en12345; b=2",
                   'x="quoted"; fer_edge_token_8080="in-quotes.123"', "fer_edge_token_80=other; fer_edge_token_8080=t",
                   "a=b", ""]:
        morsel = SimpleCookie(header).get("fer_edge_token_8080")
        assert cookie_value(header, "fer_edge_token_8080") == (morsel.value if morsel else None), header
    assert query_value("a=1&token=ab%7Ecd&token=x", "token") == "ab~cd" and query_value("token", "token") is None


def _timed(function, *args) -> float:
    t0 = time.perf_counter()
    function(*args)
    return time.perf_counter() - t0


def raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return got


def test_every_response_carries_the_security_headers_and_quotes_nothing_back(victim):
    """Issue 6: the library's own errors (400, 414, 431, 501, HTTP/0.9) came without them."""
    marker = b"ATTACKER-TEXT"
    for data in [b"GET / HTTP/1.1 " + marker + b"\r\n\r\n", b"GET /" + marker * 1000 + b" HTTP/1.1\r\n\r\n",
                 b"GET / HTTP/1.1\r\nX: " + b"y" * HEAD_MAX + b"\r\n\r\n", b"BREW / HTTP/1.1\r\n\r\n",
                 b"GET /" + marker + b"\r\n\r\n", b"GET / HTTP/" + marker + b"\r\n\r\n", b"\x16\x03\x01" + marker + b"\r\n\r\n",
                 b"GET http://[" + marker + b"/ HTTP/1.1\r\n\r\n", b"GET /state.json HTTP/1.1\r\n\r\n"]:
        reply = raw(victim.port, data)
        head = reply.partition(b"\r\n\r\n")[0].decode()
        assert head.startswith(("HTTP/1.0 4", "HTTP/1.0 5")), (data[:40], head)
        for key, value in SECURITY_HEADERS.items():
            assert f"\r\n{key}: {value}" in head, (data[:40], key)
        assert marker not in reply, data[:40]


def test_a_slow_request_is_dropped_at_its_deadline_however_it_trickles(victim):
    """Issue 3: one header line a second never reset the clock: the whole head has HEAD_DEADLINE_S."""
    with socket.create_connection(("127.0.0.1", victim.port), timeout=HEAD_DEADLINE_S + 5) as sock:
        t0 = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        reply = b""
        while time.monotonic() - t0 < HEAD_DEADLINE_S + 3:
            try:
                sock.sendall(b"X-a: b\r\n")
            except OSError:
                break
            sock.settimeout(0.5)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            reply += chunk
        took = time.monotonic() - t0
    assert HEAD_DEADLINE_S - 0.5 < took < HEAD_DEADLINE_S + 2, took
    assert reply.startswith(b"HTTP/1.0 408"), reply[:60]


def test_the_token_leaves_every_page_address(victim):
    """Issue 6: /index.html?token= kept it in the address bar; now every page redirects it into
    the per-port cookie (a browser sends a host's cookies to all its ports)."""
    for path in ("/", "/index.html"):
        conn = http.client.HTTPConnection("127.0.0.1", victim.port, timeout=10)
        conn.request("GET", f"{path}?token={attacks.TOKEN}")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        assert resp.status == 303 and resp.getheader("Location") == "/", path
        assert resp.getheader("Set-Cookie").startswith(f"fer_edge_token_{victim.port}={attacks.TOKEN};")
    status, _, _ = attacks.get(victim.port, "/state.json")
    assert status == 200


WRITER = """
import sys, numpy as np
from fer_edge.cli import _terminate_like_ctrl_c
from fer_edge.edge.outputs.files import Outputs
from fer_edge.edge.results import Face, FrameResult
from fer_edge.edge.sources import Frame
from fer_edge.labels import EMOTIONS
_terminate_like_ctrl_c()
image = np.zeros((4, 4, 3), np.uint8)
faces = [Face(i, (i, i, 10, 10), "happy", 0.6, np.full(7, 1 / 7, np.float32), 0.9) for i in range(20)]
out = Outputs(list(EMOTIONS), jsonl=sys.argv[1] + "/o.jsonl", csv_path=sys.argv[1] + "/o.csv")
commit = False
try:
    print("ready", flush=True)
    i = 0
    while True:
        out.write(Frame(image, i, i / 30), FrameResult(faces, {}), None)
        i += 1
except KeyboardInterrupt:
    commit = True
finally:
    out.close(commit)
"""


def test_a_signal_between_the_two_files_writes_leaves_them_equal(tmp_path):
    """Issue 6: SIGTERM between the JSONL's and the CSV's writes of a frame left the CSV a row
    short. A writer that does nothing but write (20 faces a frame) is stopped at random moments."""
    for attempt in range(4):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline() == "ready\n"
        time.sleep(0.2 + 0.05 * attempt)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode in (0, 143) and "Traceback" not in err, err[-2000:]
        jsonl = (folder / "o.jsonl").read_text().splitlines()
        rows = list(csv.DictReader((folder / "o.csv").open()))
        assert len(jsonl) == len(rows) > 0 and len(rows) % 20 == 0, (attempt, len(jsonl), len(rows))


def test_the_gate_pushes_out_the_oldest_waiting_connection_of_the_same_address_first():
    """Issue 3: slots that unauthenticated, unfinished requests cannot hold (the gate's rule itself)."""
    gate = Gate(total=4, per_address=2)
    pairs = [socket.socketpair() for _ in range(6)]
    try:
        a1, a2, a3, b1, b2, c1 = (p[0] for p in pairs)
        gate.admit(a1, "a")
        gate.admit(a2, "a")
        gate.admit(a3, "a")  # a's third: a's oldest goes
        assert pairs[0][1].recv(1) == b"" and len(gate) == 2 and gate.pushed_out == 1
        gate.admit(b1, "b")
        gate.admit(b2, "b")
        gate.admit(c1, "c")  # full: the oldest of all (a2) goes, not b's or c's
        assert pairs[1][1].recv(1) == b"" and len(gate) == 4 and gate.pushed_out == 2
        gate.done(b1)
        assert len(gate) == 3
    finally:
        for x, y in pairs:
            x.close()
            y.close()


def test_a_burst_of_connections_is_accepted_at_once(victim):
    """Issue 5: a listen backlog of 5 made a burst of more than ~6 connections wait 1 s (a SYN retry);
    the backlog now holds every connection the server may hold (52 at --serve-viewers 4)."""
    socks = []
    t0 = time.monotonic()
    try:
        for _ in range(48):
            socks.append(socket.create_connection(("127.0.0.1", victim.port), timeout=5))
        took = time.monotonic() - t0
    finally:
        for sock in socks:
            sock.close()
    assert took < 0.9, took  # no connection waited for a retransmitted SYN


def test_zz_the_outputs_hold_every_frame_when_the_victim_is_stopped(victim):
    """Last (zz): SIGTERM ends the victim as it ends a run; JSONL and CSV hold every frame."""
    assert victim.stop() == 0
    frames = victim.ended
    lines = (victim.out / "o.jsonl").read_text().splitlines()
    rows = list(csv.DictReader((victim.out / "o.csv").open()))
    # The frame being written when the signal came is written whole (in both files) first.
    assert frames > 100 and len(lines) == len(rows) in (frames, frames + 1)
    assert [json.loads(line)["frame"] for line in lines] == [int(r["frame"]) for r in rows] == list(range(len(rows)))
    assert "Traceback" not in victim.stderr_head and victim.stderr_bytes == 0, victim.stderr_head[:500]
