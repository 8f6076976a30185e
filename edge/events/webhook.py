"""`fer-edge run --webhook URL`: the same events (docs/events.md) as HTTP POSTs of one JSON object
each, from a thread of its own: a timeout per request, a few retries with backoff, and the bounded
queue (oldest dropped) when the receiver is slower than the events or does not answer at all.
An `Authorization: Bearer` token comes from FER_EDGE_WEBHOOK_TOKEN, never the command line."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from fer_edge import __version__
from fer_edge.edge.events.queue import EventQueue
from fer_edge.edge.events.schema import state_event
from fer_edge.errors import FerEdgeError

TIMEOUT = 2.0  # seconds per request (--webhook-timeout)
RETRIES = 2  # after the first try: a receiver restarting is back within a second or two
BACKOFF = 0.5  # seconds before the first retry, doubled for the next
TOKEN_ENV = "FER_EDGE_WEBHOOK_TOKEN"


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FerEdgeError(f"--webhook {url}: give an http:// or https:// address")
    if parts.username is not None or parts.password is not None:
        raise FerEdgeError(f"--webhook: no credentials in the address (they would show in `ps`): set {TOKEN_ENV}")
    return url


class WebhookTransport:
    name = "webhook"

    def __init__(self, url: str, device: str, source: str | None, labels, timeout: float = TIMEOUT,
                 queue: EventQueue | None = None):
        self.url = check_url(url)
        self.device, self.source, self.labels = device, source, list(labels)
        self.timeout = float(timeout)
        self.queue = queue or EventQueue()
        self.sent = self.failed = 0
        self.problem: str | None = None
        self.tracker = None
        self._stop = threading.Event()
        self._headers = {"Content-Type": "application/json", "User-Agent": f"fer-edge/{__version__}"}
        token = os.environ.get(TOKEN_ENV)
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._thread = threading.Thread(target=self._send_loop, name="fer-edge-webhook", daemon=True)

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def start(self, tracker) -> None:
        self.tracker = tracker
        self.queue.put(state_event(self.device, "online", self.source, self.labels))
        self._thread.start()

    def put(self, event: dict) -> None:
        self.queue.put(event)

    def _post(self, event: dict) -> bool:
        body = json.dumps(event).encode("utf-8")
        for attempt in range(RETRIES + 1):
            if attempt:
                if self._stop.wait(BACKOFF * 2 ** (attempt - 1)):
                    return False
            try:
                request = urllib.request.Request(self.url, data=body, headers=self._headers, method="POST")
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    response.read(65536)
                return True
            except urllib.error.HTTPError as exc:
                self.problem = f"HTTP {exc.code}"
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    return False  # the receiver refuses it: another try would be refused too
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                self.problem = str(reason) if not isinstance(reason, TimeoutError) else "timed out"
        return False

    def _send_loop(self) -> None:
        while True:
            event = self.queue.get(0.2)
            if event is None:
                if self.queue.closed:
                    return
                continue
            if self._post(event):
                self.sent += 1
            else:
                self.failed += 1

    def close(self, deadline: float, reason: str) -> str:
        seq = self.tracker.seq if self.tracker is not None else 0
        self.queue.put(state_event(self.device, "offline", self.source, self.labels, seq=seq, reason=reason))
        self.queue.close()
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()  # no more retries; a request in progress ends at its timeout, on a daemon thread
        self.queue.abandon()
        line = f"webhook {self.url}: {self.sent} events sent, {self.queue.dropped} dropped, {self.failed} failed"
        if self.problem and (self.failed or self.queue.dropped):
            line += f" ({self.problem})"
        return line
