"""`fer-edge run --serve`: the run's live view in a browser, for a device without a screen.

One page (edge/web/: plain HTML, JS and CSS, nothing from a CDN) shows the annotated video, each
tracked face's scores as bars and a rolling timeline, FPS and per-stage latency. It is served by
the standard library's ThreadingHTTPServer on daemon threads, so a Pi install needs nothing more.

Endpoints (GET and HEAD only; nothing served changes anything):
  /              the page (with ?token=..., sets a cookie and redirects to itself without it)
  /stream.mjpg   the annotated video, MJPEG (multipart/x-mixed-replace): a browser, VLC or ffplay
  /events        Server-Sent Events: one JSON state (faces, FPS, stages) per sent frame
  /state.json    the newest state, once;  /frame.jpg  the newest annotated frame, once

Cost: the frame loop only hands over references to its newest frame and result (`publish`, a
lock and a few assignments: no queue that could grow). One encoder thread draws the overlay
(unless the loop drew it already) and encodes JPEG, only while a video viewer is connected and at
most `fps` times a second; every viewer is sent the newest JPEG, so a slow one skips frames, one
that stops reading is dropped after SOCKET_TIMEOUT, and the run never waits for either.

Security: loopback by default, where only this machine (or an SSH tunnel into it) can connect, and
requests must name a loopback host (a web page that rebinds its DNS name to 127.0.0.1 is refused).
Bound to any other address, every request needs the access token (`?token=`, the cookie the page
sets from it, or `Authorization: Bearer`), generated and printed at start unless given. No TLS:
across a network the video and the token travel in the clear.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import re
import secrets
import socket
import socketserver
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fer_edge.edge.console import warn
from fer_edge.edge.pipeline import STAGES
from fer_edge.errors import FerEdgeError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
TOKEN_ENV = "FER_EDGE_SERVE_TOKEN"
DEFAULT_FPS = 10
DEFAULT_VIEWERS = 4
JPEG_QUALITY = 75
SOCKET_TIMEOUT = 10.0  # a request not sent, or a frame not taken, within this long drops the client
KEEPALIVE_S = 2.0  # a stream with nothing new still writes this often, so a vanished viewer is noticed
# Kernel send buffer of a video stream (Linux doubles it): a few frames, so that a slow viewer is
# sent the newest frame when it is ready for one, not a backlog of old ones the kernel held.
STREAM_SNDBUF = 128 * 1024
STAGE_WINDOW = 30  # frames the page's per-stage latency is averaged over
BOUNDARY = "fer-edge-frame"
TOKEN_RE = re.compile(r"[A-Za-z0-9._~-]{8,256}")  # what a URL, a header and a cookie carry unescaped
WEB = Path(__file__).with_name("web")
STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/app.js": ("app.js", "text/javascript; charset=utf-8"),
          "/style.css": ("style.css", "text/css; charset=utf-8")}
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token never leaves in a Referer
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
}


def parse_address(text: str) -> tuple[str, int]:
    """`PORT`, `HOST:PORT` or `[IPv6]:PORT` -> (host, port); the host defaults to 127.0.0.1, and
    port 0 takes any free port."""
    text = text.strip()
    bad = FerEdgeError(f"--serve takes [HOST:]PORT, e.g. 8080, 127.0.0.1:8080, 0.0.0.0:8080 or [::1]:8080; "
                       f"got {text!r}")
    if text.isdigit():
        host, port_text = DEFAULT_HOST, text
    elif text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or not rest.startswith(":"):
            raise bad
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon or not host:
            raise bad
        if ":" in host:
            raise FerEdgeError(f"--serve {text}: an IPv6 address goes in brackets, e.g. [::1]:8080")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise FerEdgeError(f"--serve {text}: the port must be a number from 0 to 65535")
    # Digits and dots are an IPv4 address or nothing: never a name to look up in DNS.
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise FerEdgeError(f"--serve {text}: {host} is not an IPv4 address") from None
    return host, int(port_text)


def check_token(token: str) -> str:
    if not TOKEN_RE.fullmatch(token):
        raise FerEdgeError(f"--serve-token (or {TOKEN_ENV}): 8 to 256 of the characters A-Z a-z 0-9 . _ ~ -")
    return token


def _is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


def _host_is_loopback(host_header: str | None) -> bool:
    """Whether a Host header names this machine's loopback (`localhost`, 127.x.x.x, [::1]), any port."""
    if host_header is None:  # HTTP/1.0 without Host: not a browser, so not a rebinding page
        return True
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host == "localhost" or host.endswith(".localhost") or _is_loopback(host)


def shown_name(name: str) -> str:
    """The source as the page names it: a file by its name only, a stream without the user, password
    or query its URL may carry (viewers need not learn them), a camera as it is."""
    if "://" in name:
        url = urlsplit(name)
        host = url.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        return f"{url.scheme}://{host}{f':{url.port}' if url.port else ''}{url.path}"
    return Path(name).name if "/" in name or "\\" in name else name


def _colour_hex(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class _Latest:
    """What the frame loop handed over for its newest frame (references, nothing copied)."""

    index: int
    timestamp: float | None
    name: str | None
    image: object  # np.ndarray, the frame as decoded
    annotated: object  # np.ndarray with the overlay, when the loop drew one (window, video); else None
    faces: list
    fps: float | None
    t: float  # seconds since the view started


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a viewer stuck in a write never keeps the process alive

    def __init__(self, address, family, view: "LiveView"):
        self.address_family = family
        self.view = view
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks the address up in DNS (getfqdn): a delay, and traffic
        # off the machine, for a name nothing here uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request, client_address) -> None:
        # A cap on open connections (threads), beside the per-stream caps: past it, a 503 and close.
        if not self.view._connections.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        with self.view._lock:
            self.view._active.add(request)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._forget(request)
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._forget(request)

    def _forget(self, request) -> None:
        with self.view._lock:
            self.view._active.discard(request)
        self.view._connections.release()

    def handle_error(self, request, client_address) -> None:
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):  # a viewer that went away is routine; anything else is said once
            self.view._warn_once(f"live view: {type(exc).__name__}: {exc}")


class _Handler(BaseHTTPRequestHandler):
    server_version = "fer-edge"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection; a response ends when it closes
    timeout = SOCKET_TIMEOUT  # applies to reading the request and to every write
    server: _Server

    def log_message(self, format, *args) -> None:  # the terminal belongs to the run's own lines
        pass

    def version_string(self) -> str:
        return self.server_version

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # reset, broken pipe, timed out: that viewer is gone, the run goes on
            pass

    # ------------------------------------------------------------------ routing
    def do_GET(self) -> None:
        self._route(body=True)

    def do_HEAD(self) -> None:
        self._route(body=False)

    def _not_allowed(self) -> None:
        self._text(405, "only GET and HEAD: this view changes nothing\n", {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _route(self, body: bool) -> None:
        view = self.server.view
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if view.token is None and not _host_is_loopback(self.headers.get("Host")):
            self._text(403, "this view answers only to localhost or 127.0.0.1 (or give it a --serve-token)\n")
            return
        if view.token is not None:
            given = self._given_token(query)
            if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                                        view.token.encode()):
                self._text(401, "401 Unauthorized: open the address printed by `fer-edge run --serve`, "
                                "with its ?token=\n", {"WWW-Authenticate": 'Bearer realm="fer-edge"'})
                return
            if url.path == "/" and "token" in query:  # keep it as a cookie, out of the address bar
                cookie = f"{view.cookie_name}={view.token}; Path=/; HttpOnly; SameSite=Strict"
                self._send(303, None, b"", body, {"Location": "/", "Set-Cookie": cookie})
                return
        path = "/" if url.path == "/index.html" else url.path
        if path in STATIC:
            name, ctype = STATIC[path]
            self._send(200, ctype, view.static[name], body)
        elif path == "/stream.mjpg":
            self._mjpeg(body)
        elif path == "/events":
            self._events(body)
        elif path == "/state.json":
            self._send(200, "application/json", view.state_json()[1], body)
        elif path == "/frame.jpg":
            jpeg = view.snapshot()
            if jpeg is None:
                self._text(503, "no frame yet\n", body=body)
            else:
                self._send(200, "image/jpeg", jpeg, body)
        else:
            self._text(404, "not found\n", body=body)

    def _given_token(self, query: dict) -> str | None:
        if query.get("token"):
            return query["token"][0]
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        try:
            morsel = SimpleCookie(self.headers.get("Cookie", "")).get(self.server.view.cookie_name)
        except CookieError:
            return None
        return morsel.value if morsel is not None else None

    # ------------------------------------------------------------------ responses
    def _start(self, status: int, ctype: str | None, length: int | None = None, extra: dict | None = None) -> None:
        self.send_response(status)
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _send(self, status: int, ctype: str | None, data: bytes, body: bool = True, extra: dict | None = None) -> None:
        self._start(status, ctype, len(data), extra)
        if body and data:
            self.wfile.write(data)

    def _text(self, status: int, text: str, extra: dict | None = None, body: bool = True) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode(), body, extra)

    def _busy(self, body: bool) -> None:
        n = self.server.view.max_viewers
        self._text(503, f"{n} viewer{'s' if n != 1 else ''} already watching (--serve-viewers)\n",
                   {"Retry-After": "10"}, body)

    def _mjpeg(self, body: bool) -> None:
        view = self.server.view
        if not body:
            self._start(200, f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            return
        if not view._streams.acquire(blocking=False):
            self._busy(body)
            return
        view._viewer(+1)
        try:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
            except OSError:
                pass
            self._start(200, f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            seq = -1
            while True:
                got = view.wait_jpeg(seq, KEEPALIVE_S)
                if got is None:  # the run ended
                    break
                seq, jpeg, index = got
                if jpeg is None:  # no frame yet
                    continue
                # A repeat after KEEPALIVE_S of nothing new is how a vanished viewer gets noticed.
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
                                 f"X-Frame: {index}\r\n\r\n".encode() + jpeg + b"\r\n")
        finally:
            view._viewer(-1)
            view._streams.release()

    def _events(self, body: bool) -> None:
        view = self.server.view
        if not body:
            self._start(200, "text/event-stream")
            return
        if not view._event_streams.acquire(blocking=False):
            self._busy(body)
            return
        try:
            self._start(200, "text/event-stream")
            self.wfile.write(b"retry: 2000\n\nevent: info\ndata: " + view.info_json() + b"\n\n")
            sent, wrote = None, time.monotonic()
            while not view.closed:
                seq, state = view.state_json()
                if seq != sent:
                    self.wfile.write(b"data: " + state + b"\n\n")
                    sent, wrote = seq, time.monotonic()
                elif time.monotonic() - wrote > KEEPALIVE_S:
                    self.wfile.write(b": keepalive\n\n")
                    wrote = time.monotonic()
                view._closed_event.wait(1.0 / view.fps)  # at most fps states a second per viewer
            self.wfile.write(b"event: end\ndata: " + view.state_json()[1] + b"\n\n")
        finally:
            view._event_streams.release()


class LiveView:
    """The server and what the frame loop hands it. `start()` binds (a FerEdgeError if it cannot),
    `publish` is the runner's observer, `close()` ends every stream and the server."""

    def __init__(self, host: str, port: int, labels: list[str], source_name: str, token: str | None = None,
                 fps: int = DEFAULT_FPS, max_viewers: int = DEFAULT_VIEWERS, hint: str | None = None):
        self.host, self.port = host, port
        self.labels, self.source_name, self.fps, self.max_viewers = list(labels), source_name, fps, max_viewers
        self.token = check_token(token) if token is not None else None
        self.token_generated = False
        self.hint = hint  # a line for the start message (e.g. --realtime for a file)
        self.static = {name: (WEB / name).read_bytes() for name, _ in STATIC.values()}
        self._lock = threading.Lock()
        self._frame_cond = threading.Condition(self._lock)  # a new frame was published
        self._jpeg_cond = threading.Condition(self._lock)  # a new JPEG was encoded
        self._closed_event = threading.Event()
        self._latest: _Latest | None = None
        self._seq = 0  # frames published
        self._timings: deque[dict] = deque(maxlen=STAGE_WINDOW)
        self._jpeg: tuple[int, bytes | None, int] = (-1, None, -1)  # (seq, JPEG, frame index)
        self._state_cache: tuple[int, bytes] | None = None
        self._viewers = 0  # video streams being sent
        self._demand_until = 0.0  # a /frame.jpg asked for a frame
        self._streams = threading.BoundedSemaphore(max_viewers)
        self._event_streams = threading.BoundedSemaphore(max_viewers)
        self._connections = threading.BoundedSemaphore(4 * max_viewers + 4)  # pages, scripts, snapshots
        self._active: set[socket.socket] = set()
        self._warned: set[str] = set()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._t0 = time.monotonic()
        self.closed = False
        self.encoded = 0  # JPEGs made (the bench and tests read it)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "LiveView":
        where = f"--serve {self.host}:{self.port}"
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            raise FerEdgeError(f"{where}: cannot resolve {self.host!r} ({exc.strerror})") from None
        family, _, _, _, sockaddr = infos[0]
        self.loopback = _is_loopback(sockaddr[0])
        if self.token is None and not self.loopback:
            self.token, self.token_generated = secrets.token_urlsafe(18), True
        try:
            self._server = _Server(sockaddr[:2], family, self)
        except OSError as exc:
            reason = {errno.EADDRINUSE: "the port is in use (another program, or another fer-edge run?); "
                                        "choose another with --serve HOST:PORT",
                      errno.EADDRNOTAVAIL: f"{self.host} is not an address of this machine",
                      errno.EACCES: "permission denied (ports below 1024 need root; use e.g. 8080)"}
            raise FerEdgeError(f"{where}: cannot listen: {reason.get(exc.errno, exc.strerror or exc)}") from None
        self.bound = self._server.server_address[:2]
        self.port = self.bound[1]  # the one taken, for port 0
        self.cookie_name = f"fer_edge_token_{self.port}"  # per port: cookies do not tell ports apart
        for target, name in ((self._serve, "fer-edge-serve"), (self._encode_loop, "fer-edge-encode")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.1)

    @property
    def url(self) -> str:
        """The page's address as a viewer types it (with the token when it was generated here)."""
        ip = self.bound[0]
        if ipaddress.ip_address(ip.split("%")[0]).is_unspecified:  # 0.0.0.0 or ::: every interface
            host = socket.gethostname()
        else:
            host = f"[{ip}]" if ":" in ip else ip
        token = f"?token={self.token}" if self.token_generated else ""
        return f"http://{host}:{self.port}/{token}"

    def start_message(self) -> str:
        lines = [f"live view: {self.url}"]
        if self.loopback and self.token is None:
            lines.append(f"  this machine only; from another: ssh -L {self.port}:localhost:{self.port} <this host>, "
                         f"then open http://localhost:{self.port}/")
        elif self.token_generated:
            lines.append(f"  anyone with this link can watch; no TLS: across networks use an SSH tunnel "
                         f"(or set {TOKEN_ENV} to choose the token)")
        else:
            lines.append("  open it with ?token=<the token you gave>; no TLS: across networks use an SSH tunnel")
        if self.hint:
            lines.append(f"  {self.hint}")
        return "\n".join(lines)

    def close(self) -> None:
        """End every stream (the page shows that the run ended) and stop the server; idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._frame_cond.notify_all()
            self._jpeg_cond.notify_all()
        self._closed_event.set()
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        # Handlers see `closed` at once and finish their responses; one stuck writing to a viewer
        # that stopped reading is cut off after a moment rather than SOCKET_TIMEOUT.
        deadline = time.monotonic() + 1.0
        while self._active and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            stuck = list(self._active)
        for sock in stuck:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=1.0)

    def __enter__(self) -> "LiveView":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warn(message)

    # ------------------------------------------------------------------ the frame loop's side
    def publish(self, frame, annotated, result, fps: float | None) -> None:
        """The runner's observer: keep references to the newest frame and result. Never waits."""
        latest = _Latest(frame.index, frame.timestamp, frame.name, frame.image, annotated, result.faces, fps,
                         time.monotonic() - self._t0)
        with self._lock:
            self._latest = latest
            self._seq += 1
            self._timings.append(result.timings)
            self._frame_cond.notify()

    # ------------------------------------------------------------------ the viewers' side
    def _viewer(self, delta: int) -> None:
        with self._lock:
            self._viewers += delta
            self._frame_cond.notify()

    @property
    def viewers(self) -> int:
        return self._viewers

    def _wanted(self) -> bool:
        return self._viewers > 0 or time.monotonic() < self._demand_until

    def _encode_loop(self) -> None:
        done, next_at = 0, 0.0
        while True:
            with self._lock:
                while not self.closed and not (self._wanted() and self._seq > done):
                    self._frame_cond.wait(0.5)  # wakes for expiry of a /frame.jpg's demand too
                if self.closed:
                    return
            delay = next_at - time.monotonic()
            if delay > 0 and self._closed_event.wait(delay):  # the rate cap
                return
            with self._lock:
                seq, latest = self._seq, self._latest  # the newest by now
            next_at = time.monotonic() + 1.0 / self.fps
            try:
                jpeg = self._encode(latest)
            except Exception as exc:  # noqa: BLE001 (a frame the view cannot show must not end the run)
                self._warn_once(f"live view: cannot encode a frame: {exc}")
                jpeg = None
            with self._lock:
                if jpeg is not None:
                    self._jpeg = (seq, jpeg, latest.index)
                    self.encoded += 1
                self._jpeg_cond.notify_all()
            done = seq

    def _encode(self, latest: _Latest) -> bytes:
        import cv2

        image = latest.annotated
        if image is None:  # drawn here, on this thread, and only while someone watches
            from fer_edge.edge.draw import annotate

            image = annotate(latest.image, latest.faces)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError("JPEG encoding failed")
        return buf.tobytes()

    def wait_jpeg(self, after: int, timeout: float) -> tuple[int, bytes | None, int] | None:
        """The newest JPEG once it is newer than `after` (or the same one after `timeout`); None
        once the view is closed."""
        with self._lock:
            self._jpeg_cond.wait_for(lambda: self.closed or self._jpeg[0] > after, timeout)
            return None if self.closed else self._jpeg

    def snapshot(self, timeout: float = 3.0) -> bytes | None:
        """The newest annotated frame as JPEG, encoding one if none is fresh."""
        with self._lock:
            if self._latest is None:
                return None
            wanted = self._seq
            self._demand_until = time.monotonic() + timeout
            self._frame_cond.notify()
            self._jpeg_cond.wait_for(lambda: self.closed or self._jpeg[0] >= wanted, timeout)
            return self._jpeg[1]

    def info_json(self) -> bytes:
        from fer_edge.edge.draw import COLOURS, DEFAULT_COLOUR

        return json.dumps({"source": shown_name(self.source_name), "labels": self.labels, "stages": list(STAGES),
                           "colours": {label: _colour_hex(COLOURS.get(label, DEFAULT_COLOUR)) for label in self.labels},
                           "serve_fps": self.fps}).encode()

    def state_json(self) -> tuple[int, bytes]:
        """(seq, the newest state as JSON); built once per frame, whoever asks."""
        with self._lock:
            seq, latest, cache = self._seq, self._latest, self._state_cache
            if cache is not None and cache[0] == seq and not self.closed:
                return cache
            timings = list(self._timings)
            viewers, closed = self._viewers, self.closed
        state = {"seq": seq, "ended": closed, "viewers": viewers, "faces": [], "stages": {}}
        if latest is not None:
            stages = {}
            for stage in STAGES:
                values = [t[stage] for t in timings if stage in t]
                if values:
                    stages[stage] = round(1000.0 * sum(values) / len(values), 2)
            h, w = latest.image.shape[:2]
            state.update(frame=latest.index, time=latest.timestamp, image=latest.name, t=round(latest.t, 3),
                         fps=None if latest.fps is None else round(latest.fps, 1), size=[w, h], stages=stages,
                         faces=[{"track": f.track_id, "box": [int(v) for v in f.box], "label": f.label,
                                 "score": round(float(f.score), 4), "scores": [round(float(p), 4) for p in f.probs]}
                                for f in latest.faces])
        data = json.dumps(state).encode()
        with self._lock:
            if not self.closed:
                self._state_cache = (seq, data)
        return seq, data
