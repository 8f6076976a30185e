"""The live view's door: a connection's request head read whole, within a size and a time limit,
before anything parses it; connections still sending theirs are few, and the oldest goes first.

A browser sends its whole request (about 600 bytes with the cookie) in one packet, so it spends
microseconds here; what lingers is a slow or idle client, which may hold nothing for long: the
whole head must arrive within HEAD_DEADLINE_S (one deadline, not one per read), and when
PENDING_MAX connections are waiting (PENDING_PER_ADDRESS from one address), a new one pushes out
the oldest (that address's own oldest first). So a flood of slow sockets churns through its own
slots while a real viewer's request is read at once.
"""

from __future__ import annotations

import socket
import threading
import time

HEAD_MAX = 8192  # bytes of request line and headers: the page's biggest request is ~700 (cookie included)
HEAD_DEADLINE_S = 5.0  # the whole head, from accept; a browser takes one round trip
PENDING_MAX = 32  # connections still sending their head (one thread each)
PENDING_PER_ADDRESS = 16  # of those, from one address


class HeadTooLarge(Exception):
    pass


class HeadTimeout(Exception):
    pass


def read_head(sock: socket.socket, deadline: float) -> bytes | None:
    """The request line and headers (up to and with the blank line), None if the client closed
    first. HeadTooLarge past HEAD_MAX bytes, HeadTimeout at `deadline` (time.monotonic())."""
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise HeadTimeout
        sock.settimeout(left)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise HeadTimeout from None
        if not chunk:
            return None
        start = max(0, len(buf) - 3)  # each byte searched once or twice: linear in what arrives
        buf += chunk
        ends = [at + n for at, n in ((buf.find(b"\r\n\r\n", start), 4), (buf.find(b"\n\n", start), 2)) if at >= 0]
        if ends and min(ends) <= HEAD_MAX:
            return bytes(buf[:min(ends)])  # a body (GET/HEAD have none) is not read
        if len(buf) > HEAD_MAX:
            raise HeadTooLarge


class Gate:
    """Connections still sending their request head, in arrival order."""

    def __init__(self, total: int = PENDING_MAX, per_address: int = PENDING_PER_ADDRESS):
        self.total, self.per_address = total, per_address
        self._lock = threading.Lock()
        self._waiting: dict[socket.socket, str] = {}  # insertion order: the oldest first
        self.pushed_out = 0  # connections dropped to make room (the tests read it)

    def admit(self, sock: socket.socket, address: str) -> None:
        with self._lock:
            same = [s for s, a in self._waiting.items() if a == address]
            if len(same) >= self.per_address:
                self._push_out(same[0])
            elif len(self._waiting) >= self.total:
                self._push_out(next(iter(self._waiting)))
            self._waiting[sock] = address

    def done(self, sock: socket.socket) -> None:
        with self._lock:
            self._waiting.pop(sock, None)

    def _push_out(self, sock: socket.socket) -> None:
        del self._waiting[sock]
        self.pushed_out += 1
        try:
            sock.shutdown(socket.SHUT_RDWR)  # its thread's recv returns at once and the thread ends
        except OSError:
            pass

    def __len__(self) -> int:
        return len(self._waiting)
