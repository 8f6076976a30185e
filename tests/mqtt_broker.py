"""A real Mosquitto broker for the event tests: on a free loopback port with a generated config, plain,
with TLS (a throwaway CA made here with openssl) or with a password file (mosquitto_passwd); and a paho
subscriber that records what it receives. Skips when mosquitto is not installed (Debian: mosquitto)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder: Path, settings: str = "allow_anonymous true"):
        if MOSQUITTO is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
        self.folder, self.port = folder, free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        # `user`: as root, mosquitto would switch to the user mosquitto, who cannot read the test's files
        self.conf.write_text(f"listener {self.port} 127.0.0.1\n{settings}\npersistence false\n"
                             f"user {getpass.getuser()}\n")
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Broker":
        log = open(self.folder / "mosquitto.log", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {(self.folder / 'mosquitto.log').read_text()[-2000:]}")
                time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # in case a test stopped it
            self.proc.terminate()
            self.proc.wait(10)

    def url(self, prefix: str = "test", scheme: str = "mqtt", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}/{prefix}"

    def __enter__(self) -> "Broker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, all signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=30)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=fer-edge test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, usage, san in (("server", "serverAuth", "DNS:localhost,IP:127.0.0.1"), ("client", "clientAuth", None)):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=fer-edge-{name}")
        ext = folder / f"{name}.ext"
        ext.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                       f"extendedKeyUsage={usage}\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
                       + (f"subjectAltName={san}\n" if san else ""))
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", "-extfile", ext.name)
    return {name: folder / name for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")}


class Subscriber:
    """A paho client subscribed to `topics`, recording (topic, payload as JSON or text, retained)."""

    def __init__(self, port: int, topics=("#",), tls: dict | None = None, login: tuple[str, str] | None = None):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, object, bool]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{free_port()}")
        if tls:
            self.client.tls_set(**tls)
        if login:
            self.client.username_pw_set(*login)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.topics = topics

        def on_connect(client, userdata, flags, rc, props):
            client.subscribe([(t, 1) for t in self.topics])

        def on_message(client, userdata, msg):
            try:
                payload = json.loads(msg.payload)
            except ValueError:
                payload = msg.payload.decode("utf-8", "replace")
            with self._cond:
                self.messages.append((msg.topic, payload, bool(msg.retain)))
                self._cond.notify_all()

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = on_message
        self.client.connect("127.0.0.1" if not tls else "localhost", port, 30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the test subscriber was not subscribed")

    def wait_for(self, test, timeout: float = 15.0, since: int = 0):
        """The first message (topic, payload, retained) from the `since`-th on for which test(...) holds,
        waiting up to timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for m in self.messages[since:]:
                    if test(*m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no such message within {timeout} s; got {[m[0] for m in self.messages]}")
                self._cond.wait(left)

    def payloads(self, suffix: str) -> list:
        return [p for t, p, _ in list(self.messages) if t.endswith(suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
