"""`fer-edge run --serve`: the live view's server on its own (fed synthetic frames, so no model is
needed: auth, caps, a slow and a vanishing viewer, what it costs), the option through the CLI, and
the page in a real headless Chromium loading a real run of a shared video."""

from __future__ import annotations

import csv
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REAL_VIDEO_CAPTURE, REPO, edge_model, edge_models, media  # noqa: F401 (fixtures)
from webdriver import find_browser, headless_chromium

from fer_edge.cli import cli
from types import SimpleNamespace

from fer_edge.edge.serve import access, server

serve = SimpleNamespace(BOUNDARY=server.BOUNDARY, shown_name=access.shown_name, _Handler=server._Handler)  # the names, by room
from fer_edge.edge.results import Face, FrameResult
from fer_edge.edge.serve import LiveView, parse_address
from fer_edge.edge.sources import Frame
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS

NO_DISPLAY = {"DISPLAY": None, "WAYLAND_DISPLAY": None}
SCREENSHOT = REPO / "out" / "serve_screenshot.png"  # /out/ is git-ignored: the run's visible evidence


# ----------------------------------------------------------------------------- helpers
class Feeder:
    """Publishes synthetic frames (noise, so JPEGs are large and fill socket buffers quickly) with
    one face to a view, as the frame loop would, at `rate` a second; records how long each
    publish() took, which must stay tiny whatever the viewers do."""

    def __init__(self, view: LiveView, rate: float = 100.0, size=(240, 320)):
        rng = np.random.default_rng(0)
        self.images = [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(8)]
        self.view, self.rate = view, rate
        self.published = 0
        self.publish_s: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        probs = np.array([0.05, 0.05, 0.05, 0.6, 0.1, 0.1, 0.05], np.float32)
        while not self._stop.is_set():
            i = self.published
            face = Face(1, (40, 40, 100, 100), "happy", 0.6, probs, 0.9)
            frame = Frame(self.images[i % len(self.images)], i, i / 30.0)
            t0 = time.perf_counter()
            self.view.publish(frame, None, FrameResult([face], {"detect": 0.002, "classify": 0.001, "wait": 0.03}),
                              30.0)
            self.publish_s.append(time.perf_counter() - t0)
            self.published += 1
            time.sleep(1.0 / self.rate)

    def __enter__(self) -> "Feeder":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def view():
    with LiveView("127.0.0.1", 0, list(EMOTIONS), "synthetic", fps=20, max_viewers=2) as v:
        yield v


def request(view: LiveView, path: str, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) of one request to the view, over loopback."""
    conn = http.client.HTTPConnection("127.0.0.1", view.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


class Stream:
    """A raw client of /stream.mjpg or /events: reads at the pace the test chooses."""

    def __init__(self, port: int, path: str = "/stream.mjpg", rcvbuf: int | None = None, extra: str = ""):
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        self.fh = self.sock.makefile("rb")
        self.status = int(self.fh.readline().split()[1])
        self.headers = {}
        while (line := self.fh.readline().strip()):
            key, _, value = line.decode().partition(":")
            self.headers[key.lower()] = value.strip()

    def part(self) -> tuple[int, bytes] | None:
        """The next MJPEG part: (frame index, JPEG), or None at the end of the stream."""
        line = self.fh.readline()
        while line in (b"\r\n", b"\n"):
            line = self.fh.readline()
        if not line:
            return None
        assert line.strip() == f"--{serve.BOUNDARY}".encode(), line
        headers = {}
        while (line := self.fh.readline().strip()):
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        jpeg = self.fh.read(int(headers["content-length"]))
        return int(headers["x-frame"]), jpeg

    def event(self) -> tuple[str, str] | None:
        """The next Server-Sent Event: (type, data), or None at the end; comments are skipped."""
        kind, data = "message", []
        while True:
            line = self.fh.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if not line:
                if data:
                    return kind, "\n".join(data)
                kind = "message"
                continue
            field, _, value = line.partition(":")
            if field == "event":
                kind = value.strip()
            elif field == "data":
                data.append(value.strip())

    def close(self, reset: bool = False) -> None:
        if reset:  # vanish as a crashed browser or a dropped Wi-Fi link does: RST, no goodbye
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.fh.close()
        self.sock.close()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# ----------------------------------------------------------------------------- the server alone
@pytest.mark.parametrize("text, expected", [
    ("8080", ("127.0.0.1", 8080)), ("0.0.0.0:9000", ("0.0.0.0", 9000)), ("localhost:0", ("localhost", 0)),
    ("[::1]:8080", ("::1", 8080)), ("pi.local:8080", ("pi.local", 8080)),
])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text, message", [
    ("", "takes [HOST:]PORT"), ("host", "takes [HOST:]PORT"), (":8080", "takes [HOST:]PORT"),
    ("127.0.0.1:http", "port must be a number"), ("localhost:99999", "port must be a number"),
    ("::1:8080", "IPv6 address goes in brackets"), ("999.1.1.1:80", "not an IPv4 address"),
    ("[::1]8080", "takes [HOST:]PORT"),
])
def test_parse_address_refuses(text, message):
    with pytest.raises(FerEdgeError, match=message.replace("[", r"\[")):
        parse_address(text)


@pytest.mark.parametrize("name, shown", [
    ("rtsp://admin:secret@cam.local:554/live?key=abc", "rtsp://cam.local:554/live"), ("/home/pi/clips/a.mp4", "a.mp4"),
    ("camera 0", "camera 0"),
])
def test_the_page_names_the_source_without_secrets(name, shown):
    assert serve.shown_name(name) == shown


def test_loopback_view_serves_the_page_and_only_reads(view):
    with Feeder(view):
        assert wait_until(lambda: view._latest is not None)
        status, headers, body = request(view, "/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'src="app.js"' in body and b"http" not in body.lower().replace(b"http-equiv", b"")  # no CDN
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        for path, kind in (("/app.js", "text/javascript"), ("/style.css", "text/css")):
            status, headers, body = request(view, path)
            assert status == 200 and headers["Content-Type"].startswith(kind) and body
        status, _, body = request(view, "/state.json")
        state = json.loads(body)
        assert status == 200 and state["faces"][0]["label"] == "happy" and state["size"] == [320, 240]
        assert len(state["faces"][0]["scores"]) == 7 and state["stages"]["detect"] == pytest.approx(2.0)
        assert state["stages"]["wait"] == pytest.approx(30.0)  # a --realtime file's wait, apart from the stages
        status, headers, body = request(view, "/", method="HEAD")
        assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            status, headers, _ = request(view, "/state.json", method=method)
            assert status == 405 and headers["Allow"] == "GET, HEAD", method
        assert request(view, "/../edge/serve/")[0] == 404
        assert request(view, "/etc/passwd")[0] == 404
        # A web page whose DNS name was rebound to 127.0.0.1 sends its own name as the Host.
        assert request(view, "/state.json", headers={"Host": "attacker.example:8080"})[0] == 403
        assert request(view, "/state.json", headers={"Host": f"localhost:{view.port}"})[0] == 200
        status, headers, jpeg = request(view, "/frame.jpg")
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)


def test_non_loopback_without_the_token_is_401():
    """Bound to every interface with no token given: one is generated and printed, and nothing is
    served without it (reached here over loopback, the only network the tests use)."""
    with LiveView("0.0.0.0", 0, list(EMOTIONS), "synthetic") as view, Feeder(view):
        assert view.token_generated and len(view.token) >= 20
        assert view.url.endswith(f":{view.port}/?token={view.token}")
        assert "anyone with this link can watch" in view.start_message()
        for path in ("/", "/app.js", "/stream.mjpg", "/events", "/state.json", "/frame.jpg"):
            status, headers, body = request(view, path)
            assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), path
            assert b"jpeg" not in body.lower() and b"faces" not in body
        assert request(view, "/state.json?token=" + "x" * len(view.token))[0] == 401
        assert request(view, "/state.json", headers={"Authorization": "Bearer wrong-token"})[0] == 401
        # The printed link: the token becomes an HttpOnly cookie and leaves the address bar.
        status, headers, _ = request(view, f"/?token={view.token}")
        assert status == 303 and headers["Location"] == "/"
        cookie = headers["Set-Cookie"]
        assert cookie.startswith(f"fer_edge_token_{view.port}={view.token};") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        jar = cookie.split(";")[0]
        assert request(view, "/", headers={"Cookie": jar})[0] == 200
        assert request(view, "/state.json", headers={"Authorization": f"Bearer {view.token}"})[0] == 200
        assert request(view, f"/frame.jpg?token={view.token}")[0] == 200
        # With a token, any Host is fine: the token is what keeps others out.
        assert request(view, "/state.json", headers={"Cookie": jar, "Host": "pi.local"})[0] == 200


def test_a_given_token_is_required_on_loopback_too():
    with LiveView("127.0.0.1", 0, list(EMOTIONS), "synthetic", token="my-secret-token") as view:
        assert not view.token_generated and "my-secret-token" not in view.start_message()
        assert request(view, "/state.json")[0] == 401
        assert request(view, "/state.json", headers={"Authorization": "Bearer my-secret-token"})[0] == 200
    with pytest.raises(FerEdgeError, match="8 to 256 of the characters"):
        LiveView("127.0.0.1", 0, list(EMOTIONS), "synthetic", token="short")


def test_jpeg_only_while_watched_and_at_the_capped_rate(view):
    with Feeder(view, rate=100):
        time.sleep(0.5)
        assert view._seq > 20 and view.encoded == 0  # frames published, nobody watching: nothing encoded
        client = Stream(view.port)
        assert client.status == 200 and client.headers["content-type"].startswith("multipart/x-mixed-replace")
        start, got = time.monotonic(), []
        while time.monotonic() - start < 1.5:
            got.append(client.part())
        client.close()
        rate = len(got) / 1.5
        assert 8 <= rate <= 20 * 1.25, rate  # --serve-fps 20 here; the feeder publishes 100 a second
        indices = [i for i, _ in got]
        assert indices == sorted(indices) and max(np.diff(indices)) > 1  # the newest frame, not every frame
        image = cv2.imdecode(np.frombuffer(got[-1][1], np.uint8), cv2.IMREAD_COLOR)
        assert image.shape == (240, 320, 3)
        assert wait_until(lambda: view.viewers == 0)
        after = view.encoded
        time.sleep(0.5)
        assert view.encoded == after  # the viewer left: encoding stopped


def test_a_slow_viewer_gets_dropped_frames_and_never_stalls_the_run(view, monkeypatch):
    """A viewer that stops reading: its socket buffers fill, the server's write to it blocks and
    times out, and it is dropped. Meanwhile the frame loop publishes at full rate and another
    viewer is served as usual."""
    monkeypatch.setattr(serve._Handler, "timeout", 1.5)
    with Feeder(view, rate=100) as feeder:
        slow = Stream(view.port, rcvbuf=4096)
        fast = Stream(view.port)
        first = slow.part()
        assert first is not None
        published_before, fast_got = feeder.published, []
        start = time.monotonic()
        while time.monotonic() - start < 3.0:  # the slow one reads nothing for 3 s
            fast_got.append(fast.part())
        assert feeder.published - published_before > 150  # ~100 a second: the loop never waited
        # Never held up by the stalled write (1.5 s here); the odd long one is the OS scheduling a busy machine.
        assert max(feeder.publish_s) < 0.25 and np.median(feeder.publish_s) < 0.001
        assert len(fast_got) >= 20 and all(p is not None for p in fast_got)  # ~20 a second to the other one
        # The stalled one was dropped: its slot is free, the other still counts.
        assert wait_until(lambda: view.viewers == 1, 5)
        rest = []
        while (part := slow.part()) is not None:  # what the kernel still held, then the end
            rest.append(part[0])
        assert len(rest) < 20 and all(b > a for a, b in zip([first[0], *rest], rest))
        slow.close()
        fast.close()
        again = Stream(view.port)
        assert again.status == 200 and again.part() is not None
        again.close()


def test_a_viewer_that_vanishes_mid_stream_is_forgotten(view, capfd):
    with Feeder(view, rate=60):
        video, events = Stream(view.port), Stream(view.port, "/events")
        assert video.part() is not None
        assert events.event()[0] == "info" and events.event()[0] == "message"
        assert view.viewers == 1
        video.close(reset=True)
        events.close(reset=True)
        assert wait_until(lambda: view.viewers == 0 and not view._active, 5)  # noticed on the next write
        # Both slots are free again (the cap is 2 here), and the run carried on.
        clients = [Stream(view.port) for _ in range(2)]
        assert [c.part() is not None for c in clients] == [True, True]
        # Both keep reading (one that stopped would give its slot to the third: tests/test_serve_hostile.py).
        readers = [threading.Thread(target=lambda c=c: _read_all(c), daemon=True) for c in clients]
        for r in readers:
            r.start()
        third = Stream(view.port)
        assert third.status == 503 and "2 viewers already watching" in third.fh.read().decode()
        for c in clients:
            c.sock.shutdown(socket.SHUT_RDWR)
        for r in readers:
            r.join(5)
        for c in (*clients, third):
            c.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "warning" not in err


def _read_all(stream: Stream) -> None:
    try:
        while stream.part() is not None:
            pass
    except (OSError, ValueError, AssertionError):
        pass


def test_closing_the_view_ends_every_stream_promptly(view, monkeypatch):
    with Feeder(view, rate=60):
        events, video = Stream(view.port, "/events"), Stream(view.port)
        stalled = Stream(view.port, rcvbuf=4096)  # never reads: its write blocks
        assert events.event()[0] == "info" and video.part() is not None
        time.sleep(1.0)
    t0 = time.monotonic()
    view.close()
    assert time.monotonic() - t0 < 3.0  # not SOCKET_TIMEOUT: a stuck write is cut off
    kinds = []
    while (ev := events.event()) is not None:
        kinds.append(ev)
    assert kinds[-1][0] == "end" and json.loads(kinds[-1][1])["ended"] is True
    while video.part() is not None:
        pass  # the stream ends (EOF) rather than hanging
    with pytest.raises(OSError):
        request(view, "/")
    for c in (events, video, stalled):
        c.close()


# ----------------------------------------------------------------------------- through the CLI
def invoke(*args, env=None):
    result = CliRunner(env={**NO_DISPLAY, **(env or {})}).invoke(cli, ["run", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("serve_args, message", [
    (["--serve", "{busy}"], "cannot listen: the port is in use"),
    (["--serve", "192.0.2.1:8080"], "192.0.2.1 is not an address of this machine"),  # TEST-NET: no traffic
    (["--serve", "127.0.0.1:http"], "the port must be a number"),
    (["--serve", "300.1.2.3:8080"], "is not an IPv4 address"),
    (["--serve", "8080", "--serve-token", "bad token!"], "8 to 256 of the characters"),
    (["--serve-fps", "5"], "--serve-fps: only used with --serve"),
])
def test_serve_problems_are_one_error_line(tmp_path, edge_model, serve_args, message):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        args = [a.format(busy=f"127.0.0.1:{busy.getsockname()[1]}") for a in serve_args]
        r = invoke("--source", media("face05_angry.jpg"), "--headless", "--csv", tmp_path / "o.csv",
                   "--model", edge_model, *args)
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_serve_alone_is_a_run(edge_model):
    """No window, no file: the live view is what the run is for."""
    r = invoke("--source", media("face05_angry.jpg"), "--headless", "--serve", "127.0.0.1:0", "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    assert "live view: http://127.0.0.1:" in r.stderr and "1 frame, 1 face" in r.stderr


def _default_signals() -> None:
    # As from a terminal: a test run started in the background (nohup, `&`) ignores SIGINT and
    # SIGHUP, and the child would inherit that.
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def start_run(*args, env=None) -> tuple[subprocess.Popen, str]:
    """`fer-edge run ... --serve 127.0.0.1:0` in its own process; (process, the printed URL)."""
    env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in NO_DISPLAY}
    proc = subprocess.Popen([sys.executable, "-m", "fer_edge", "run", "--headless", "--serve", "127.0.0.1:0",
                             *map(str, args)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=_default_signals)
    seen = []
    for line in proc.stderr:  # the URL is the first thing the run prints
        seen.append(line)
        if line.startswith("live view: "):
            return proc, line.split()[2]
    proc.wait(30)
    raise AssertionError("no live view URL printed:\n" + "".join(seen))


def test_the_run_ends_with_its_source_and_so_do_the_streams(tmp_path, edge_model):
    """A file served --realtime: a viewer gets annotated frames and, when the video ends, the end
    event; the run exits 0 with its CSV complete beside the view."""
    out = tmp_path / "o.csv"
    proc, url = start_run("--source", media("video01_single_face_neutral_to_smile.mp4"), "--realtime", "--csv", out,
                          "--model", edge_model, "--threads", 1)
    try:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        events, video = Stream(port, "/events"), Stream(port)
        assert video.status == 200 and events.status == 200
        frames = []
        while (part := video.part()) is not None:
            frames.append(part)
        kinds = []
        while (ev := events.event()) is not None:
            kinds.append(ev[0])
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-2000:]
    assert 5 <= len(frames) <= 40  # 72 frames in 2.4 s, sent at most 10 a second
    assert kinds[0] == "info" and kinds[-1] == "end" and kinds.count("message") >= 5
    rows = {int(row["frame"]): row for row in csv.DictReader(out.open())}
    assert len(rows) >= 68  # a face in (nearly) every frame
    # A served frame is that video frame with the face's box drawn where the CSV puts it.
    index, jpeg = next((i, j) for i, j in reversed(frames) if i in rows)
    served = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).astype(int)
    cap = REAL_VIDEO_CAPTURE(str(media("video01_single_face_neutral_to_smile.mp4")))
    for _ in range(index + 1):
        raw = cap.read()[1]
    cap.release()
    assert served.shape == raw.shape == (360, 640, 3)
    diff = np.abs(served - raw).sum(axis=2)
    x, y, w, h = (int(rows[index][k]) for k in "xywh")
    edges = np.concatenate([diff[y + 5:y + h - 5, x], diff[y + 5:y + h - 5, min(x + w, 639)]])
    inside = np.concatenate([diff[y + 5:y + h - 5, x + 6], diff[y + 5:y + h - 5, x + w - 6]])
    assert edges.mean() > 60 and edges.mean() > 4 * inside.mean(), (edges.mean(), inside.mean())
    assert "72 frames" in stderr and "Traceback" not in stderr


def test_ctrl_c_with_a_viewer_watching_keeps_the_outputs(tmp_path, edge_model):
    out = tmp_path / "o.jsonl"
    proc, url = start_run("--source", media("video03_emotions_woman.mp4"), "--realtime", "--jsonl", out,
                          "--model", edge_model, "--threads", 1)
    try:
        video = Stream(int(url.rsplit(":", 1)[1].strip("/")))
        assert video.part() is not None and video.part() is not None
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        while video.part() is not None:  # the stream ends with the run
            pass
        video.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"] and out.read_text().count("\n") >= 2


# ----------------------------------------------------------------------------- a real browser
BROWSER = find_browser()
PAGE_STATE = """
const labels = [...document.querySelectorAll('.face .label')].map(e => e.textContent);
const img = document.getElementById('video');
const r = img.getBoundingClientRect();
return {frame: document.getElementById('frame').textContent, labels: labels,
        status: document.getElementById('status').textContent, width: img.naturalWidth,
        video: [r.left, r.top, r.width, r.height], dpr: window.devicePixelRatio,
        bars: document.querySelectorAll('.face .bar').length,
        timeline: document.querySelectorAll('.face canvas.timeline').length,
        stages: [...document.querySelectorAll('#stages tbody tr')].filter(r => !r.hidden)
                  .map(r => [r.cells[0].textContent, r.cells[1].textContent])};
"""


@pytest.mark.skipif(BROWSER is None, reason="chromium and chromedriver not installed (apt install chromium "
                                             "chromium-driver)")
def test_a_browser_shows_the_live_video_and_the_faces(tmp_path, edge_model):
    """Headless Chromium loads the page of a running `fer-edge run --source VIDEO --serve`: video
    frames arrive (the picture changes), a face's label appears with its bars and timeline, and a
    screenshot shows the box and label drawn on the video. SIGTERM then ends the run cleanly, the
    JSONL kept."""
    out = tmp_path / "o.jsonl"
    proc, url = start_run("--source", media("video03_emotions_woman.mp4"), "--realtime", "--jsonl", out,
                          "--model", edge_model, "--threads", 1)
    try:
        with headless_chromium(*BROWSER) as browser:
            browser.get(url)
            first = browser.wait_for(PAGE_STATE.replace("return {", "const s = {") +
                                     "return s.labels.length && s.width ? s : null;")
            shot1 = browser.screenshot()
            time.sleep(1.0)
            second = browser.run(PAGE_STATE)
            shot2 = browser.screenshot()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    shot = tmp_path / "serve_screenshot.png"
    shot.write_bytes(shot2)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copy(shot, SCREENSHOT)
    print(f"screenshot of the live view: {SCREENSHOT}")
    assert first["labels"][0] in EMOTIONS and first["status"] == "live" and first["width"] == 640
    assert first["bars"] == 7 * len(first["labels"]) and first["timeline"] == len(first["labels"])
    assert int(second["frame"]) > int(first["frame"]) + 10  # ~24 frames a second of the video
    assert second["labels"] and second["labels"][0] in EMOTIONS
    # --realtime: the wait for the video's rate has its own row, after the total of the work it leaves out
    names = [name for name, _ in second["stages"]]
    assert names[-2:] == ["total", "waiting for the video's rate"] and "capture" in names, second["stages"]
    work = [float(v) for name, v in second["stages"][:-2]]
    assert float(second["stages"][-2][1]) == pytest.approx(sum(work), abs=0.06 * len(work))

    def video_region(png: bytes, rect, dpr) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        x, y, w, h = (int(round(v * dpr)) for v in rect)
        return image[y:y + h, x:x + w]

    a, b = video_region(shot1, first["video"], first["dpr"]), video_region(shot2, second["video"], second["dpr"])
    assert a.shape[0] > 100 and a.shape == b.shape
    assert b.std() > 20  # a picture, not an empty box
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0  # new frames arrived: the picture moved on
    assert proc.returncode == 143 and "terminated (SIGTERM)" in stderr and "Traceback" not in stderr, stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".jsonl"] == ["o.jsonl"]
    assert out.read_text().count("\n") >= 10
