"""The live view's HTTP side: the standard library's ThreadingHTTPServer with a cap on connections,
and the handler that routes GET/HEAD to the page, the MJPEG stream, the event stream and snapshots."""

from __future__ import annotations

import hmac
import socket
import socketserver
import time
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from fer_edge.edge.serve.access import _host_is_loopback

if TYPE_CHECKING:
    from fer_edge.edge.serve.view import LiveView


JPEG_QUALITY = 75
SOCKET_TIMEOUT = 10.0  # a request not sent, or a frame not taken, within this long drops the client
KEEPALIVE_S = 2.0  # a stream with nothing new still writes this often, so a vanished viewer is noticed
# Kernel send buffer of a video stream (Linux doubles it): a few frames, so that a slow viewer is
# sent the newest frame when it is ready for one, not a backlog of old ones the kernel held.
STREAM_SNDBUF = 128 * 1024
STAGE_WINDOW = 30  # frames the page's per-stage latency is averaged over
BOUNDARY = "fer-edge-frame"
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
