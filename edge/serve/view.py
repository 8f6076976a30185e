"""`fer-edge run --serve`: the run's live view in a browser, for a device without a screen.

One page (web/: plain HTML, JS and CSS, nothing from a CDN) shows the annotated video, each
tracked face's scores as bars and a rolling timeline, FPS and per-stage latency. It is served by
the standard library's ThreadingHTTPServer on daemon threads (server.py), so a Pi install needs
nothing more; access.py holds who may connect.

Endpoints (GET and HEAD only; nothing served changes anything):
  /              the page (with ?token=..., sets a cookie and redirects to itself without it)
  /stream.mjpg   the annotated video, MJPEG (multipart/x-mixed-replace): a browser, VLC or ffplay
  /events        Server-Sent Events: one JSON state (faces, FPS, stages) per sent frame
  /state.json    the newest state, once;  /frame.jpg  the newest annotated frame, once

Cost: the frame loop only hands over references to its newest frame and result (`publish`, a
lock and a few assignments: no queue that could grow). One encoder thread draws the overlay
(unless the loop drew it already) and encodes JPEG, only while a video viewer is connected and at
most `fps` times a second; every viewer is sent the newest JPEG, so a slow one skips frames, one
that stops reading is dropped (slots.py), and the run never waits for either. gate.py reads each
request head whole, bounded in size and time, before anything parses it.

Security: loopback by default, where only this machine (or an SSH tunnel into it) can connect, and
requests must name a loopback host (a web page that rebinds its DNS name to 127.0.0.1 is refused).
Bound to any other address, every request needs the access token (`?token=`, the cookie the page
sets from it, or `Authorization: Bearer`), generated and printed at start unless given. No TLS:
across a network the video and the token travel in the clear.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

from fer_edge.console import warn
from fer_edge.edge.results import DIGITS, STAGES, WAIT
from fer_edge import defaults
from fer_edge.labels import label_colour
from fer_edge.errors import FerEdgeError
from fer_edge.edge.serve.access import TOKEN_ENV, _is_loopback, check_token, shown_name
from fer_edge.edge.serve.slots import StreamSlots
from fer_edge.edge.serve.server import JPEG_QUALITY, STAGE_WINDOW, STATIC, WEB, _Server



def _colour_hex(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"#{r:02x}{g:02x}{b:02x}"


@dataclass
class _Latest:
    """What the frame loop handed over for its newest frame (references, nothing copied)."""

    index: int
    time: float | None
    name: str | None
    image: object  # np.ndarray, the frame as decoded
    annotated: object  # np.ndarray with the overlay, when the loop drew one (window, video); else None
    faces: list
    fps: float | None
    t: float  # seconds since the view started

class LiveView:
    """The server and what the frame loop hands it. `start()` binds (a FerEdgeError if it cannot),
    `publish` is the runner's observer, `close()` ends every stream and the server."""

    def __init__(self, host: str, port: int, labels: list[str], source_name: str, token: str | None = None,
                 fps: int = defaults.SERVE_FPS, max_viewers: int = defaults.SERVE_VIEWERS, hint: str | None = None):
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
        self._streams = StreamSlots(max_viewers)
        self._event_streams = StreamSlots(max_viewers, oldest_gives_way=True)
        self.max_connections = 4 * max_viewers + 4  # pages, scripts, snapshots, beside the streams
        self._connections = threading.BoundedSemaphore(self.max_connections)
        self._active: set[socket.socket] = set()
        self._warned: set[str] = set()  # keys made by this code (exception types), never a client's text
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
            self._server = _Server(sockaddr[:2], family, self, self.max_connections)
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

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warn(message)

    # ------------------------------------------------------------------ the frame loop's side
    def publish(self, frame, annotated, result, fps: float | None) -> None:
        """The runner's observer: keep references to the newest frame and result. Never waits."""
        latest = _Latest(frame.index, frame.time, frame.name, frame.image, annotated, result.faces, fps,
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
                if not self._wanted():  # the last viewer left during the rate cap's wait: encode nothing
                    continue
                seq, latest = self._seq, self._latest  # the newest by now
            next_at = time.monotonic() + 1.0 / self.fps
            try:
                jpeg = self._encode(latest)
            except Exception as exc:  # noqa: BLE001 (a frame the view cannot show must not end the run)
                self._warn_once("encode", f"live view: cannot encode a frame: {exc}")
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
            from fer_edge.edge.outputs.draw import annotate

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

        return json.dumps({"source": shown_name(self.source_name), "labels": self.labels, "stages": list(STAGES), "wait": WAIT,
                           "colours": {label: _colour_hex(label_colour(label)) for label in self.labels},
                           "serve_fps": self.fps}).encode()

    def _face_record(self, face) -> dict:
        """A face as the JSONL writes it; one made without its labels is named by the model's (the view's)."""
        if not face.labels:
            face = replace(face, labels=tuple(self.labels))
        return face.to_dict(DIGITS)

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
            for stage in (*STAGES, WAIT):  # the wait for a --realtime file's frame rate: its own row
                values = [t[stage] for t in timings if stage in t]
                if values:
                    stages[stage] = round(1000.0 * sum(values) / len(values), 2)
            h, w = latest.image.shape[:2]
            state.update(frame=latest.index, time=latest.time, image=latest.name, t=round(latest.t, 3),
                         fps=None if latest.fps is None else round(latest.fps, 1), size=[w, h], stages=stages,
                         faces=[self._face_record(f) for f in latest.faces])
        data = json.dumps(state).encode()
        with self._lock:
            if not self.closed:
                self._state_cache = (seq, data)
        return seq, data
