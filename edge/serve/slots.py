"""The live view's stream slots: at most `cap` streams of a kind, and a reader that has stopped
reading gives its slot to the next viewer rather than holding it until its write times out."""

from __future__ import annotations

import socket
import threading
import time

STALL_S = 2.0  # a write blocked (or bytes left unsent) this long: a healthy viewer at 10 frames a second never is


class StreamSlots:
    def __init__(self, cap: int):
        self.cap = cap
        self._lock = threading.Lock()
        self._stalled_since: dict[socket.socket, float | None] = {}

    def take(self, sock: socket.socket) -> bool:
        """A slot for `sock`: a free one, or a stalled reader's (cut off); False if neither."""
        with self._lock:
            if len(self._stalled_since) >= self.cap:
                now = time.monotonic()
                stalled = [(since, s) for s, since in self._stalled_since.items()
                           if since is not None and now - since > STALL_S]
                if not stalled:
                    return False
                victim = min(stalled, key=lambda pair: pair[0])[1]
                del self._stalled_since[victim]
                try:
                    victim.shutdown(socket.SHUT_RDWR)  # its blocked write fails at once
                except OSError:
                    pass
            self._stalled_since[sock] = None
            return True

    def stalled(self, sock: socket.socket, since: float | None) -> None:
        """The stream's writer: stalled from `since` (blocked in a write, or bytes left unsent), or None."""
        with self._lock:
            if sock in self._stalled_since:
                self._stalled_since[sock] = since

    def give(self, sock: socket.socket) -> None:
        with self._lock:
            self._stalled_since.pop(sock, None)

    def __len__(self) -> int:
        return len(self._stalled_since)


def unsent(sock: socket.socket) -> int:
    """Bytes written to `sock` that its peer has not yet acknowledged (Linux's SIOCOUTQ; 0 where
    the system cannot say, and then only the write timeout drops a stalled reader)."""
    try:
        import fcntl
        import struct
        import termios

        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
    except (ImportError, OSError, AttributeError):
        return 0
