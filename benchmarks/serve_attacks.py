"""`fer-edge run --serve` under attack: the frame loop's FPS, the server's memory, descriptors and
threads, and how long a normal viewer waits, while one attack at a time runs against it.

    python benchmarks/serve_attacks.py                 # every attack, 6 s each
    python benchmarks/serve_attacks.py --only cookie slowloris --seconds 10

The victim is a real LiveView in token mode (`--serve 127.0.0.1:0 --serve-token ...`) in its own
process, with the run's real Outputs (JSONL and CSV) and a frame loop publishing synthetic frames
at a fixed 24 FPS; each frame first does WORK_MS of OpenCV work on one thread (which, as the
run's inference does, lets go of the GIL), so server threads that hog the CPU or the interpreter
show as lost frames. Each attack runs on loopback from a second process at lower priority (on a
device the attacker is another machine, whose CPU costs the device nothing); the figures are the victim's
FPS (against a baseline just before), its RSS and descriptors at the attack's end and the most
they reached, the bytes it wrote to stderr, and a normal viewer's wait for /state.json (with the
token) and for a first video frame and state, probed during the attack.

tests/test_serve_hostile.py runs the same attacks, shorter, and asserts on them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

TOKEN = "hostile-test-token"
RATE = 24.0  # frames a second: a camera's, so that 90% of it is a number worth keeping
WORK_MS = 8.0  # per frame: ~20% of a core at 24 FPS
REPORT_S = 0.25  # the victim prints its counters this often
MAX_VIEWERS = 4  # --serve-viewers' default


# ----------------------------------------------------------------------------- the victim
def victim(out_dir: str) -> None:
    """The server under test: a LiveView and the run's Outputs, fed at RATE by this process's main
    thread as `fer-edge run` feeds them; prints {"port"} and then counters as JSON lines; SIGTERM ends
    it as it ends a run (outputs committed)."""
    import numpy as np

    from fer_edge.edge.outputs.files import Outputs
    from fer_edge.edge.results import Face, FrameResult
    from fer_edge.edge.serve import LiveView
    from fer_edge.edge.sources import Frame
    from fer_edge.errors import Terminated
    from fer_edge.labels import EMOTIONS

    def terminate(signum, _frame):
        raise Terminated(signum)

    signal.signal(signal.SIGTERM, terminate)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(4)]
    probs = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05], np.float32)
    import cv2

    cv2.setNumThreads(1)
    loops = calibrate(WORK_MS / 1000.0)
    view = LiveView("127.0.0.1", 0, list(EMOTIONS), "synthetic", token=TOKEN, fps=10, max_viewers=MAX_VIEWERS)
    view.start()
    outputs = Outputs(list(EMOTIONS), jsonl=f"{out_dir}/o.jsonl", csv_path=f"{out_dir}/o.csv")
    outputs.add_live(view)
    print(json.dumps({"port": view.port}), flush=True)
    frames, next_at, next_report = 0, time.monotonic(), 0.0
    commit = False
    try:
        while True:
            busy(loops)
            faces = [Face(1, (40, 40, 100, 100), "happy", 0.6, probs, 0.9)]
            frame = Frame(images[frames % len(images)], frames, frames / RATE)
            outputs.write(frame, FrameResult(faces, {"detect": 0.002, "classify": 0.001}), None, RATE)
            frames += 1
            now = time.monotonic()
            if now >= next_report:
                print(json.dumps({"t": now, "frames": frames, **usage()}), flush=True)
                next_report = now + REPORT_S
            next_at += 1.0 / RATE
            if next_at > now:
                time.sleep(next_at - now)
            else:
                next_at = now  # behind: frames are lost, never caught up
    except KeyboardInterrupt:
        commit = True
    finally:
        outputs.close(commit)
        view.close()
        print(json.dumps({"ended": frames}), flush=True)


_WORK_IMAGE = None


def calibrate(seconds: float) -> int:
    best = None
    for _ in range(5):
        t0 = time.perf_counter()
        busy(10)
        took = time.perf_counter() - t0
        best = took if best is None else min(best, took)
    return max(1, round(10 * seconds / best))


def busy(loops: int) -> None:
    """`loops` blurs of a 320x240 picture: CPU work that releases the GIL, as inference does."""
    import cv2
    import numpy as np

    global _WORK_IMAGE
    if _WORK_IMAGE is None:
        _WORK_IMAGE = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    for _ in range(loops):
        cv2.GaussianBlur(_WORK_IMAGE, (9, 9), 0)


def usage() -> dict:
    rss = 0
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return {"rss_mb": round(rss / 1024, 1), "fds": len(os.listdir("/proc/self/fd")),
            "threads": threading.active_count()}


class Victim:
    """The victim process, seen from outside: its counters as they arrive, its stderr's size."""

    def __init__(self, out_dir: str):
        self.proc = subprocess.Popen([sys.executable, __file__, "--victim", out_dir], cwd=REPO,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.reports: list[dict] = []
        self.stderr_bytes = 0
        self.stderr_head = ""
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError("the victim did not start: " + self.proc.stderr.read()[-2000:])
        self.port = json.loads(first)["port"]
        self.ended: int | None = None
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read_out(self) -> None:
        for line in self.proc.stdout:
            report = json.loads(line)
            if "ended" in report:
                self.ended = report["ended"]
            else:
                self.reports.append(report)

    def _read_err(self) -> None:
        while chunk := self.proc.stderr.read(65536):
            self.stderr_bytes += len(chunk)
            if len(self.stderr_head) < 4000:
                self.stderr_head += chunk[:4000]

    def latest(self) -> dict:
        while not self.reports:
            time.sleep(0.05)
        return self.reports[-1]

    def window(self, seconds: float) -> dict:
        """The victim's FPS over the next `seconds`, and the most RSS, descriptors and threads seen."""
        first = self.latest()
        time.sleep(seconds)
        seen = [r for r in self.reports if r["t"] >= first["t"]]
        last = seen[-1]
        fps = (last["frames"] - first["frames"]) / (last["t"] - first["t"]) if last["t"] > first["t"] else 0.0
        return {"fps": round(fps, 1), "rss_mb": last["rss_mb"], "rss_max_mb": max(r["rss_mb"] for r in seen),
                "fds_max": max(r["fds"] for r in seen), "threads_max": max(r["threads"] for r in seen)}

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        deadline = time.monotonic() + 5
        while self.ended is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.proc.returncode


# ----------------------------------------------------------------------------- a normal viewer
def get(port: int, path: str, headers: str = "", timeout: float = 10.0) -> tuple[int, bytes, float]:
    """(status, head, seconds to the status line) of one request with the token."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                     f"{headers}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            if not chunk:
                break
            head += chunk
        took = time.monotonic() - t0
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, head, took


def served(port: int, path: str = "/state.json", payload: bytes = b"", timeout: float = 10.0) -> float | None:
    """Seconds until a viewer with the token has a 200 from `path` and (for a stream) `payload` in
    what follows; None if refused or not in `timeout`."""
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
            got = b""
            while time.monotonic() - t0 < timeout:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
                if b"\r\n\r\n" in got and (not payload or payload in got.partition(b"\r\n\r\n")[2]):
                    break
    except OSError:
        return None
    ok = got.startswith(b"HTTP/1.0 200") and (not payload or payload in got)
    return round(time.monotonic() - t0, 3) if ok else None


def viewer_waits(port: int) -> dict:
    return {"state": served(port), "video": served(port, "/stream.mjpg", b"\xff\xd8"),
            "events": served(port, "/events", b"data: {\"seq\"")}


# ----------------------------------------------------------------------------- the attacks
PACE_S = 0.05  # each flooding thread sends at most one request this often (20 a second): a fixed
# load, the same before and after a fix, and one this 2-core machine's own attacker can keep up


def _loop(stop: threading.Event, target, *args) -> threading.Thread:
    def body():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                target(*args)
            except OSError:
                pass
            stop.wait(max(0.0, PACE_S - (time.monotonic() - t0)))
    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def _send_read(port: int, data: bytes, timeout: float = 30.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
        return got


def cookie(port: int, stop: threading.Event, socks: list) -> None:
    """Issue 1: four at once, over and over, each a 60 KB cookie of backslashes (CVE-2024-7592)."""
    data = (f"GET /state.json HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: a=\"{chr(92) * 60000}\"\r\n\r\n").encode()
    for _ in range(4):
        _loop(stop, _send_read, port, data)


def bad_target(port: int, stop: threading.Event, socks: list) -> None:
    """Issue 2: a request target urlsplit refuses, its error carrying 60 KB of the attacker's text."""
    texts = ["".join(random.choice("abcdefghij") for _ in range(60000)) for _ in range(4)]

    def one():  # each one a new text: a set of the errors seen grows with every request
        text = random.choice(texts) + str(random.random())
        _send_read(port, f"GET http://[{text}]/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    for _ in range(2):
        _loop(stop, one)


def _connect_many(port: int, count: int, first: bytes) -> list:
    """`count` connections opened at once (not one after another), each sent `first`."""
    import selectors

    conns = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        conns.append(s)
    with selectors.DefaultSelector() as sel:
        for s in conns:
            sel.register(s, selectors.EVENT_WRITE)
        pending, deadline = set(conns), time.monotonic() + 5
        while pending and time.monotonic() < deadline:
            for key, _ in sel.select(0.5):
                sel.unregister(key.fileobj)
                pending.discard(key.fileobj)
    for s in conns:
        s.settimeout(5)
        try:
            if first:
                s.sendall(first)
        except OSError:
            pass
    return conns


def _slow(port: int, stop: threading.Event, socks: list, count: int, every: float, first: bytes, line: bytes):
    conns = _connect_many(port, count, first)
    socks.extend(conns)

    def body():
        while not stop.wait(every):
            for i, sock in enumerate(conns):
                try:
                    sock.sendall(line)
                    if not line and sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass
                except OSError:  # dropped: come back, as a patient attacker would
                    conns[i] = _connect_many(port, 1, first)[0]
                    socks.append(conns[i])
    threading.Thread(target=body, daemon=True).start()


def slowloris(port: int, stop: threading.Event, socks: list) -> None:
    """Issue 3: 40 requests that send one header line every 3 s and never end."""
    _slow(port, stop, socks, 40, 3.0, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-a: b\r\n")


def idle(port: int, stop: threading.Event, socks: list) -> None:
    """60 connections that send nothing at all."""
    _slow(port, stop, socks, 60, 1.0, b"", b"")


def _stalled(port: int, socks: list, path: str, count: int) -> None:
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        socks.append(sock)  # never read


def stalled_events(port: int, stop: threading.Event, socks: list) -> None:
    """Issue 4: as many /events readers as the cap allows, none of which reads."""
    _stalled(port, socks, "/events", MAX_VIEWERS)


def stalled_video(port: int, stop: threading.Event, socks: list) -> None:
    _stalled(port, socks, "/stream.mjpg", MAX_VIEWERS)


def burst(port: int, stop: threading.Event, socks: list) -> None:
    """Issue 5: 64 connections at the same moment, every 0.5 s."""
    def body():
        while not stop.is_set():
            conns = []
            for _ in range(64):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
                conns.append(s)
            stop.wait(0.5)
            for s in conns:
                s.close()
    threading.Thread(target=body, daemon=True).start()


def rapid(port: int, stop: threading.Event, socks: list) -> None:
    """Connect and close (half of them with a reset): 200 a second."""
    def one():
        for i in range(5):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
    for _ in range(2):
        _loop(stop, one)


def header_flood(port: int, stop: threading.Event, socks: list) -> None:
    """Requests with 99 headers of 60 KB each (what http.client's parse_headers allows), 8 at once."""
    data = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(
        b"X-%d: " % i + b"x" * 60000 + b"\r\n" for i in range(99)) + b"\r\n"
    for _ in range(8):
        _loop(stop, _send_read, port, data)


def line_flood(port: int, stop: threading.Event, socks: list) -> None:
    """Request lines of 64 KB and of 1 MB."""
    for size in (65000, 1 << 20):
        _loop(stop, _send_read, port, b"GET /" + b"a" * size + b" HTTP/1.1\r\n\r\n")


MALFORMED = [b"\r\n\r\n", b"GET\r\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1 x\r\n\r\n",
             b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(100), b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
             b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", b"GET /%ff%fe\x00 HTTP/1.1\r\n\r\n",
             b"GET http://x/ HTTP/1.1\r\n\r\n", b"GET * HTTP/1.1\r\n\r\n", b"BREW / HTTP/1.1\r\n\r\n",
             b"GET /?token=%zz&token HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\nCookie: ;;;==;\"\r\n\r\n",
             b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"]


def malformed(port: int, stop: threading.Event, socks: list) -> None:
    """Every kind of broken request, over and over."""
    def one():
        _send_read(port, random.choice(MALFORMED), timeout=10)
    for _ in range(4):
        _loop(stop, one)


ATTACKS = {"cookie": cookie, "bad_target": bad_target, "slowloris": slowloris, "idle": idle,
           "stalled_events": stalled_events, "stalled_video": stalled_video, "burst": burst, "rapid": rapid,
           "header_flood": header_flood, "line_flood": line_flood, "malformed": malformed}


def run_attack(victim: Victim, name: str, seconds: float, settle: float = 1.0, baseline: float | None = None) -> dict:
    """Baseline for `baseline` (default `seconds`), then the attack for `seconds` (the first
    `settle` of it not counted), a normal viewer probed during it; then the attack stops, its
    sockets close, and the victim is given time to get back to its rate."""
    before = victim.window(baseline or seconds)
    err0 = victim.stderr_bytes
    # The attacker runs in its own process at a lower priority: on a device it is another machine,
    # whose CPU costs the device nothing; here it shares this machine's cores with the victim.
    attacker = subprocess.Popen(["nice", "-n", "10", sys.executable, __file__, "--attack", name,
                                 "--port", str(victim.port), "--seconds", str(settle + seconds + 0.5)],
                                stdout=subprocess.PIPE, text=True)
    if attacker.stdout.readline() != "attacking\n":  # its sockets are open: the attack has begun
        raise RuntimeError(f"the attacker ({name}) did not start")
    time.sleep(settle)
    result: dict = {}
    probe = threading.Thread(target=lambda: result.update(viewer_waits(victim.port)), daemon=True)
    probe.start()
    during = victim.window(seconds)
    probe.join(30)
    attacker.wait(30)
    recover(victim)
    return {"attack": name, "fps_before": before["fps"], "fps_during": during["fps"],
            "rss_before_mb": before["rss_mb"], "rss_max_mb": during["rss_max_mb"], "fds_max": during["fds_max"],
            "threads_max": during["threads_max"], "stderr_bytes": victim.stderr_bytes - err0, "viewer_s": result}


def time_cookie_parsers() -> None:
    from http.cookies import SimpleCookie

    from fer_edge.edge.serve.access import cookie_value

    print(f"Python {sys.version.split()[0]}")
    for size in (15000, 30000, 60000):
        crafted = 'a="' + "\\" * size + '"'
        t0 = time.perf_counter()
        SimpleCookie(crafted)
        t1 = time.perf_counter()
        cookie_value(crafted, "a")
        t2 = time.perf_counter()
        print(f"{size // 1000} KB of backslashes: SimpleCookie {t1 - t0:.3f} s, cookie_value {1000 * (t2 - t1):.3f} ms")


def recover(victim: Victim, timeout: float = 30.0) -> None:
    """Wait until the victim is back to 90% of RATE (work an attack left behind runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and victim.window(0.5)["fps"] < 0.9 * RATE:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=list(ATTACKS), help="these attacks (default: all)")
    parser.add_argument("--seconds", type=float, default=6.0, help="baseline and attack windows")
    parser.add_argument("--cookie-parsers", action="store_true",
                        help="time http.cookies.SimpleCookie and the live view's cookie_value on issue 1's cookie")
    parser.add_argument("--victim", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--attack", choices=list(ATTACKS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.victim:
        victim(args.victim)
        return
    if args.cookie_parsers:
        time_cookie_parsers()
        return
    if args.attack:  # one attack, for --seconds, then every socket closes with the process
        stop, held = threading.Event(), []  # `held`: the attack's sockets, open until the process ends
        ATTACKS[args.attack](args.port, stop, held)
        print("attacking", flush=True)
        time.sleep(args.seconds)
        stop.set()
        return
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        v = Victim(tmp)
        try:
            time.sleep(1.0)
            for name in args.only or ATTACKS:
                result = run_attack(v, name, args.seconds)
                print(json.dumps(result), flush=True)
        finally:
            code = v.stop()
        lines = {name: Path(tmp, name).read_text().count("\n") if Path(tmp, name).exists() else None
                 for name in ("o.jsonl", "o.csv")}
        jsonl, csv_rows = lines["o.jsonl"], lines["o.csv"] and lines["o.csv"] - 1
        print(json.dumps({"exit": code, "frames": v.ended, "jsonl_lines": jsonl, "csv_rows": csv_rows,
                          "stderr_head": v.stderr_head[:300]}))


if __name__ == "__main__":
    main()
