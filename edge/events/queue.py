"""A bounded queue of events between the sink's thread and one transport's sender: when a broker or
receiver falls behind, the oldest events are dropped (and counted) rather than memory growing or
anyone waiting."""

from __future__ import annotations

import threading
from collections import deque

QUEUE_EVENTS = 1000  # at the default 5 s summary and a face or two, about an hour of events


class EventQueue:
    def __init__(self, limit: int = QUEUE_EVENTS):
        self.limit = int(limit)
        self._items: deque[dict] = deque()
        self._cond = threading.Condition()
        self.dropped = 0  # pushed out by newer events, or still queued when the run's flush time ran out
        self.closed = False

    def put(self, event: dict) -> None:
        with self._cond:
            if len(self._items) >= self.limit:
                self._items.popleft()
                self.dropped += 1
            self._items.append(event)
            self._cond.notify()

    def put_front(self, event: dict) -> None:
        """Back to the head of the queue: it could not be sent now (disconnected), it keeps its turn."""
        with self._cond:
            if len(self._items) >= self.limit:
                self.dropped += 1
                return
            self._items.appendleft(event)

    def get(self, timeout: float) -> dict | None:
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def abandon(self) -> int:
        """At the end of the flush time: what is left counts as dropped."""
        with self._cond:
            left = len(self._items)
            self._items.clear()
            self.dropped += left
            return left
