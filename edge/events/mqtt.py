"""`fer-edge run --mqtt mqtt://HOST:PORT/PREFIX`: events to an MQTT broker with paho-mqtt (the
`events` extra). Topics, under PREFIX/DEVICE:

    state    retained: online when connected; offline at the end, or by the broker (the last will)
             when the connection is lost
    event    face_appeared, expression_changed, face_left
    summary  retained: faces, share of each expression and FPS every --event-interval seconds

plus Home Assistant's discovery configs (homeassistant.py). paho's own thread does the network and
reconnects with backoff; the sender here publishes from the bounded queue only while connected and
while fewer than INFLIGHT messages wait for the broker's acknowledgement, so a broker that is down,
slow or stopped leaves events in the queue (oldest dropped), never in the frame loop's way.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from fer_edge.edge.events.queue import EventQueue
from fer_edge.edge.events.schema import FACE_TYPES, state_event
from fer_edge.errors import FerEdgeError

DEFAULT_PREFIX = "fer-edge"
INFLIGHT = 20  # paho's own default of unacknowledged QoS 1 messages; beyond it paho would queue without bound
KEEPALIVE = 15  # seconds: a vanished broker is noticed within 1.5 x this, and the will sent as soon
RECONNECT = (1, 30)  # seconds: paho's backoff doubles from the first to the second
CONNECT_TIMEOUT = 3.0  # one TCP/TLS connection attempt (paho's default is 5)
STALLED = 0.5  # s without an acknowledgement while connected: loopback acks take ~1 ms, a Pi's Wi-Fi ~10-100
USERNAME_ENV, PASSWORD_ENV = "FER_EDGE_MQTT_USERNAME", "FER_EDGE_MQTT_PASSWORD"


def import_paho():
    try:
        import paho.mqtt.client as client
    except ImportError:
        from fer_edge.install_hint import extra_hint

        raise FerEdgeError(f"--mqtt needs paho-mqtt: {extra_hint('events')}") from None
    return client


def parse_url(url: str) -> tuple[bool, str, int, str]:
    """(tls, host, port, prefix) of mqtt://HOST[:PORT][/PREFIX] or mqtts://...; no credentials in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise FerEdgeError(f"--mqtt {url}: give mqtt://HOST[:PORT][/PREFIX] or mqtts://HOST[:PORT][/PREFIX]")
    if parts.username is not None or parts.password is not None:
        raise FerEdgeError(f"--mqtt: no credentials in the address (they would show in `ps` and shell history): "
                           f"use --mqtt-credentials FILE or {USERNAME_ENV} and {PASSWORD_ENV}")
    try:
        port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    except ValueError:
        raise FerEdgeError(f"--mqtt {url}: the port is a number 1-65535") from None
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    if any(c in prefix for c in "+\0") or "#" in url or "//" in prefix or parts.query:
        raise FerEdgeError(f"--mqtt {url}: the prefix is topic levels without + or # (e.g. /site/kiosks)")
    return parts.scheme == "mqtts", parts.hostname, port, prefix


def read_credentials(path: str | None) -> tuple[str, str | None] | None:
    """(username, password) from a file of `username=...` and `password=...` lines, else from the
    environment; never from the command line."""
    if path is None:
        user = os.environ.get(USERNAME_ENV)
        return (user, os.environ.get(PASSWORD_ENV)) if user else None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FerEdgeError(f"--mqtt-credentials {path}: cannot read it ({exc.strerror or exc})") from None
    values = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            if not sep or key.strip() not in ("username", "password"):
                raise FerEdgeError(f"--mqtt-credentials {path}: lines are username=NAME and password=SECRET")
            values[key.strip()] = value.strip()
    if not values.get("username"):
        raise FerEdgeError(f"--mqtt-credentials {path}: no username=NAME line")
    return values["username"], values.get("password")


class MqttTransport:
    name = "mqtt"

    def __init__(self, url: str, device: str, source: str | None, labels, *, ca: str | None = None,
                 cert: str | None = None, key: str | None = None, credentials: str | None = None,
                 discovery_prefix: str | None = "homeassistant", queue: EventQueue | None = None):
        mqtt = import_paho()
        tls, self.host, self.port, self.prefix = parse_url(url)
        if (ca or cert or key) and not tls:
            raise FerEdgeError("--mqtt-ca, --mqtt-cert and --mqtt-key need an mqtts:// address")
        if key and not cert:
            raise FerEdgeError("--mqtt-key: give the client certificate too (--mqtt-cert)")
        self.address = f"{'mqtts' if tls else 'mqtt'}://{self.host}:{self.port}/{self.prefix}"
        self.device, self.source, self.labels = device, source, list(labels)
        self.base = f"{self.prefix}/{device}"
        self.discovery_prefix = discovery_prefix
        self.queue = queue or EventQueue()
        self.tracker = None
        self.connects, self.sent, self.problem = 0, 0, None
        self._connected = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: list = []  # MQTTMessageInfo of events sent, not yet acknowledged
        self._offline_reason = None

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"fer-edge-{device}",
                             protocol=mqtt.MQTTv311)
        will = state_event(device, "offline", source, self.labels, reason="connection lost")
        client.will_set(self.topic("state"), json.dumps(will), qos=1, retain=True)
        if tls:
            import ssl

            for option, path in (("--mqtt-ca", ca), ("--mqtt-cert", cert), ("--mqtt-key", key)):
                if path is not None and not Path(path).is_file():
                    raise FerEdgeError(f"{option} {path}: no such file")
            try:
                client.tls_set(ca_certs=ca, certfile=cert, keyfile=key, cert_reqs=ssl.CERT_REQUIRED)
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise FerEdgeError(f"--mqtt: the TLS files cannot be used ({exc})") from None
        login = read_credentials(credentials)
        if login is not None:
            client.username_pw_set(*login)
        client.reconnect_delay_set(*RECONNECT)
        client.max_inflight_messages_set(INFLIGHT)
        client.connect_timeout = CONNECT_TIMEOUT
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = lambda *args: self._wake.set()
        client.on_connect_fail = self._on_connect_fail
        self.client = client
        self._sender = threading.Thread(target=self._send_loop, name="fer-edge-mqtt", daemon=True)

    def topic(self, kind: str) -> str:
        return f"{self.base}/{kind}"

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    # ------------------------------------------------------------------ paho's thread
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.problem = f"the broker refused the connection: {reason_code}"
            return
        self.connects += 1
        self.problem = None
        if self.discovery_prefix:
            from fer_edge.edge.events.homeassistant import discovery_messages

            for topic, payload in discovery_messages(self.discovery_prefix, self.device, self.base, self.labels):
                client.publish(topic, json.dumps(payload), qos=1, retain=True)
        seq = self.tracker.seq if self.tracker is not None else 0
        client.publish(self.topic("state"), json.dumps(state_event(self.device, "online", self.source, self.labels,
                                                                   seq=seq)), qos=1, retain=True)
        self._connected.set()
        self._wake.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self.problem = f"cannot connect to {self.host}:{self.port}"

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and reason_code.is_failure and not self._stop.is_set():  # else the refusal's own reason stays
            self.problem = f"connection lost: {reason_code}"

    # ------------------------------------------------------------------ the sender
    def start(self, tracker) -> None:
        self.tracker = tracker
        self.client.connect_async(self.host, self.port, KEEPALIVE)
        self.client.loop_start()
        self._sender.start()

    def put(self, event: dict) -> None:
        self.queue.put(event)
        self._wake.set()

    def _acknowledged(self) -> None:
        done = [m for m in self._inflight if m.is_published()]
        if done:
            self.sent += len(done)
            self._inflight = [m for m in self._inflight if not m.is_published()]

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.2)
            self._wake.clear()
            self._acknowledged()
            while self._connected.is_set() and len(self._inflight) < INFLIGHT and not self._stop.is_set():
                event = self.queue.get(0)
                if event is None:
                    break
                kind = "event" if event["type"] in FACE_TYPES else event["type"]
                info = self.client.publish(self.topic(kind), json.dumps(event), qos=1, retain=kind == "summary")
                if info.rc != 0:  # the connection dropped in between: keep it for the next one
                    self.queue.put_front(event)
                    break
                self._inflight.append(info)

    def close(self, deadline: float, reason: str) -> str:
        """Send what is queued until the deadline, then the retained offline state, and disconnect."""
        progress, acked = time.monotonic(), self.sent
        while time.monotonic() < deadline and (len(self.queue) or self._inflight):
            if not self._connected.is_set() and self.problem is not None:
                break  # refused or lost: waiting for the backoff's next try would rarely pay
            if self.sent != acked:
                progress, acked = time.monotonic(), self.sent
            elif self._connected.is_set() and time.monotonic() - progress > STALLED:
                break  # connected, but the broker acknowledges nothing: it is stopped or stuck
            self._wake.set()
            time.sleep(0.02)
        self._stop.set()
        self._wake.set()
        self._sender.join(max(0.0, deadline - time.monotonic()) + 0.5)
        self._acknowledged()
        self.queue.abandon()  # still queued at the deadline: dropped
        unconfirmed = len(self._inflight)  # sent, never acknowledged: the broker may or may not have them
        offline = state_event(self.device, "offline", self.source, self.labels,
                              seq=self.tracker.seq if self.tracker else 0, reason=reason)
        if self._connected.is_set():
            info = self.client.publish(self.topic("state"), json.dumps(offline), qos=1, retain=True)
            try:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass
        # paho's loop_stop joins its thread, which may be inside a connection attempt: bounded here
        stopper = threading.Thread(target=lambda: (self.client.disconnect(), self.client.loop_stop()), daemon=True)
        stopper.start()
        stopper.join(max(0.5, deadline - time.monotonic()))
        line = f"mqtt {self.address}: {self.sent} events sent, {self.queue.dropped} dropped"
        if unconfirmed:
            line += f", {unconfirmed} unacknowledged"
        if self.connects > 1:
            line += f", reconnected {self.connects - 1} times"
        if self.connects == 0:
            line += f" (never connected{': ' + self.problem if self.problem else ''})"
        elif self.problem:
            line += f" ({self.problem})"
        return line
