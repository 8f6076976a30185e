"""The live view's HTTP side: the standard library's ThreadingHTTPServer with a cap on connections,
and the handler that routes GET/HEAD to the page, the MJPEG stream, the event stream and snapshots."""

from __future__ import annotations

import hmac
import io
import socket
import socketserver
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

from fer_edge.edge.serve.access import _host_is_loopback, cookie_value, query_value
from fer_edge.edge.serve.gate import HEAD_DEADLINE_S, PENDING_MAX, Gate, HeadTimeout, HeadTooLarge, read_head
from fer_edge.edge.serve.slots import unsent

if TYPE_CHECKING:
    from fer_edge.edge.serve.view import LiveView


JPEG_QUALITY = 75
SOCKET_TIMEOUT = 10.0  # a response (a frame, a state) not taken within this long drops the client
KEEPALIVE_S = 2.0  # a stream with nothing new still writes this often, so a vanished viewer is noticed
# Kernel send buffer of a video stream (Linux doubles it): a few frames, so that a slow viewer is
# sent the newest frame when it is ready for one, not a backlog of old ones the kernel held.
STREAM_SNDBUF = 128 * 1024
# The event stream's: a few seconds of states (~700 bytes each, at most --serve-fps a second), so a
# reader that stops reading shows as bytes left unsent (or a blocked write), and is dropped after
# EVENTS_STALL_S of it; a browser takes each state within milliseconds.
EVENTS_SNDBUF = 16 * 1024
EVENTS_STALL_S = 3.0
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

    def __init__(self, address, family, view: "LiveView", connections: int):
        self.address_family = family
        self.view = view
        self.gate = Gate()
        # Every connection the server may hold at once can wait in the kernel's queue: a burst
        # of them is accepted in one go rather than dropped and retried by the client 1 s later.
        self.request_queue_size = PENDING_MAX + connections
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own server_bind looks the address up in DNS (getfqdn): a delay, and traffic
        # off the machine, for a name nothing here uses.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request, client_address) -> None:
        # Until its request head is in, a connection waits at the gate (which bounds how many do);
        # then it takes one of the view's connection slots (handle()).
        self.gate.admit(request, str(client_address[0]))
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
        self.gate.done(request)
        with self.view._lock:
            self.view._active.discard(request)

    def handle_error(self, request, client_address) -> None:
        import sys

        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):  # a viewer that went away is routine; anything else is said once
            self.view._warn_once(type(exc).__name__, f"live view: {type(exc).__name__}: {str(exc)[:200]!r}")


class _Handler(BaseHTTPRequestHandler):
    server_version = "fer-edge"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection; a response ends when it closes
    default_request_version = "HTTP/1.0"  # an HTTP/0.9 request too gets a status line and headers
    timeout = SOCKET_TIMEOUT  # applies to reading the request and to every write
    server: _Server

    def log_message(self, format, *args) -> None:  # the terminal belongs to the run's own lines
        pass

    def version_string(self) -> str:
        return self.server_version

    def handle(self) -> None:
        try:
            self._handle()
        except OSError:  # reset, broken pipe, timed out: that viewer is gone, the run goes on
            pass

    def _handle(self) -> None:
        # The head is read whole, bounded in size and time, before the standard library parses
        # it (from memory, so its own limits of 64 KB a line and 100 lines never come into play).
        self.close_connection = True
        # What an error before the request line is answered with.
        self.command, self.requestline, self.request_version = None, "", "HTTP/1.0"
        try:
            try:
                head = read_head(self.connection, time.monotonic() + HEAD_DEADLINE_S)
            finally:
                self.server.gate.done(self.connection)
        except HeadTooLarge:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            return
        except HeadTimeout:
            self.send_error(HTTPStatus.REQUEST_TIMEOUT)
            return
        if head is None:
            return
        connections = self.server.view._connections
        if not connections.acquire(blocking=False):  # a cap on threads serving, beside the per-stream caps
            self.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
            return
        try:
            self.connection.settimeout(self.timeout)  # each write: sendall's timeout is for all of it
            self.rfile = io.BytesIO(head)
            self.handle_one_request()
        finally:
            connections.release()

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
        # Only splits on fixed characters before the token check: nothing that could raise on,
        # or spend time over, what an unknown client sent.
        path, _, query = self.path.partition("?")
        path = path.partition("#")[0]
        if not path.startswith("/"):  # an absolute URL or `*`: a proxy's request, not a viewer's
            self._text(400, "400 Bad Request: a path, e.g. GET /\n", body=body)
            return
        if view.token is None and not _host_is_loopback(self.headers.get("Host")):
            self._text(403, "this view answers only to localhost or 127.0.0.1 (or give it a --serve-token)\n")
            return
        path = "/" if path == "/index.html" else path
        if view.token is not None:
            in_query = query_value(query, "token")
            given = in_query if in_query is not None else self._given_token()
            if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogateescape"),
                                                        view.token.encode()):
                self._text(401, "401 Unauthorized: open the address printed by `fer-edge run --serve`, "
                                "with its ?token=\n", {"WWW-Authenticate": 'Bearer realm="fer-edge"'})
                return
            if path == "/" and in_query is not None:  # keep it as a cookie, out of the address bar
                # Named per port: a browser sends a host's cookies to all its ports.
                cookie = f"{view.cookie_name}={view.token}; Path=/; HttpOnly; SameSite=Strict"
                self._send(303, None, b"", body, {"Location": "/", "Set-Cookie": cookie})
                return
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

    def _given_token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip()
        return cookie_value(self.headers.get("Cookie", ""), self.server.view.cookie_name)

    # ------------------------------------------------------------------ responses
    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        for key, value in SECURITY_HEADERS.items():  # on every response, the library's own errors too
            self.send_header(key, value)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # The library's error page quotes the request back; this one says only the status.
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        self._text(code, f"{code} {phrase}\n", body=self.command != "HEAD")

    def _start(self, status: int, ctype: str | None, length: int | None = None, extra: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (extra or {}).items():
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
        sock = self.connection
        if not view._streams.take(sock):
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
                view._streams.stalled(sock, time.monotonic())  # while the write blocks, another may take the slot
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n"
                                 f"X-Frame: {index}\r\n\r\n".encode() + jpeg + b"\r\n")
                view._streams.stalled(sock, None)
        finally:
            view._viewer(-1)
            view._streams.give(sock)

    def _events(self, body: bool) -> None:
        view = self.server.view
        if not body:
            self._start(200, "text/event-stream")
            return
        sock = self.connection
        if not view._event_streams.take(sock):
            self._busy(body)
            return
        try:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, EVENTS_SNDBUF)
            except OSError:
                pass
            sock.settimeout(EVENTS_STALL_S)  # a state is small: a write blocked this long is a reader gone
            self._start(200, "text/event-stream")
            self.wfile.write(b"retry: 2000\n\nevent: info\ndata: " + view.info_json() + b"\n\n")
            sent, wrote, behind_since = None, time.monotonic(), None
            while not view.closed:
                # Bytes the client has not taken: a reader that stopped leaves them for good.
                if unsent(sock) > 0:
                    if behind_since is None:
                        behind_since = time.monotonic()
                        view._event_streams.stalled(sock, behind_since)
                    if time.monotonic() - behind_since > EVENTS_STALL_S:
                        return
                elif behind_since is not None:
                    behind_since = None
                    view._event_streams.stalled(sock, None)
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
            view._event_streams.give(sock)

