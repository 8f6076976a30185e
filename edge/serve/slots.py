"""The live view's stream slots: at most `cap` streams of a kind, and a reader that has stopped
reading gives its slot to the next viewer rather than holding it until its write times out.

A video reader that stops is seen within a second: its frames fill the buffers and the write
blocks. An event-stream reader that stops is not: at ~7 KB of states a second, the receive buffer
Linux grows for it held every state sent for 120 s in a test here (and up to 6 MB, ~14 minutes),
and TCP shows nothing meanwhile (the window it advertises stays open). So for event streams
(`oldest_gives_way`) a new viewer, all slots taken, takes the place of the longest-connected one:
a browser's EventSource reconnects by itself 2 s later, a stalled reader does not.
"""

from __future__ import annotations

import socket
import threading
import time

STALL_S = 1.0  # a write blocked (or bytes left unsent) this long: a viewer that takes 10 frames a second never is
WAIT_S = 1.5  # a new viewer, all slots taken, waits this long for one of them to show itself stalled


class StreamSlots:
    def __init__(self, cap: int, oldest_gives_way: bool = False):
        self.cap, self.oldest_gives_way = cap, oldest_gives_way
        self._lock = threading.Lock()
        self._stalled_since: dict[socket.socket, float | None] = {}

    def take(self, sock: socket.socket, wait: float = WAIT_S) -> bool:
        """A slot for `sock`: a free one, or a stalled reader's (cut off); False if neither comes
        within `wait` seconds."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                if len(self._stalled_since) < self.cap or self._cut_off_one():
                    self._stalled_since[sock] = None
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def _cut_off_one(self) -> bool:
        now = time.monotonic()
        stalled = [(since, s) for s, since in self._stalled_since.items() if since is not None and now - since > STALL_S]
        if stalled:
            victim = min(stalled, key=lambda pair: pair[0])[1]
        elif self.oldest_gives_way:
            victim = next(iter(self._stalled_since))  # insertion order: the longest-connected
        else:
            return False
        del self._stalled_since[victim]
        try:
            victim.shutdown(socket.SHUT_RDWR)  # its blocked write fails at once
        except OSError:
            pass
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
