"""A headless Chromium for the tests, driven through chromedriver's W3C WebDriver protocol with
urllib (JSON over HTTP on loopback): no Selenium to install. Debian: `apt install chromium
chromium-driver`; the tests that use it skip where either is missing.

Chromium's own --screenshot/--dump-dom modes act at the page's load event; a page that streams
(MJPEG, Server-Sent Events) needs a browser the test can ask, while it runs, what the page shows.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# The flags the project runs Chromium with in tests: headless, no sandbox (containers), and nothing
# that reaches the network by itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--disable-extensions", "--metrics-recording-only",
                 "--window-size=1280,800"]


def find_browser() -> tuple[str, str] | None:
    """(chromium, chromedriver) paths, or None when either is not installed."""
    browser = next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One WebDriver session: get(url), run(script) -> its return value, screenshot() -> PNG bytes."""

    def __init__(self, base: str, session: str):
        self.base, self.session = base, session

    def _call(self, method: str, path: str, body: dict | None = None, timeout: float = 60):
        return call(self.base, method, f"/session/{self.session}{path}", body, timeout)

    def get(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def screenshot(self) -> bytes:
        return base64.b64decode(self._call("GET", "/screenshot"))

    def wait_for(self, script: str, timeout: float = 20.0, interval: float = 0.1):
        """Run `script` until it returns something truthy; that value, or AssertionError at timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never satisfied: {script}")
            time.sleep(interval)


def call(base: str, method: str, path: str, body: dict | None = None, timeout: float = 60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())["value"]
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"WebDriver {method} {path}: {exc.code} {exc.read()[:500]!r}") from None


@contextmanager
def headless_chromium(browser: str, driver: str):
    """A chromedriver and the Chromium it starts, gone again when the block ends."""
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="fer-edge-chromium-")
    proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    session = None
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                call(base, "GET", "/status", timeout=2)
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chromedriver did not start") from None
                time.sleep(0.05)
        options = {"binary": browser, "args": [*CHROMIUM_ARGS, f"--user-data-dir={profile}"]}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options,
                                                 "pageLoadStrategy": "normal"}}}
        session = call(base, "POST", "/session", caps, timeout=120)["sessionId"]
        yield Browser(base, session)
    finally:
        if session is not None:
            try:
                call(base, "DELETE", f"/session/{session}", timeout=30)  # closes Chromium
            except (OSError, RuntimeError):
                pass
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
