"""A live output for events (edge/outputs/files.py Outputs.add_live): on the loop's thread it only
appends a snapshot of the frame (references, no copies) to a bounded queue; a thread of its own turns
snapshots into events (tracker.py) and hands them to the transports (MQTT, webhook), each of which
sends from its own thread again. Whatever a broker or a receiver does, the loop never waits."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Protocol

from fer_edge.edge.events.tracker import EventTracker, Snapshot

FRAME_QUEUE = 256  # snapshots waiting for the event thread; it needs microseconds a frame, so only a stall fills it
FLUSH_SECONDS = 2.0  # at the end of a run, the most time given to sending what is queued


class Transport(Protocol):
    name: str

    def start(self, tracker: EventTracker) -> None: ...

    def put(self, event: dict) -> None: ...

    def close(self, deadline: float, reason: str) -> str: ...  # one line for the run's summary

    @property
    def dropped(self) -> int: ...


class EventSink:
    def __init__(self, device: str, labels: Sequence[str], transports: Sequence[Transport], hold: float = 1.0,
                 interval: float = 5.0, flush: float = FLUSH_SECONDS):
        self.transports = list(transports)
        self.flush = float(flush)
        self.frames_dropped = 0
        self.tracker = EventTracker(device, labels, hold=hold, interval=interval, dropped=self._dropped)
        self._frames: deque[Snapshot] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name="fer-edge-events", daemon=True)
        self._closed = False

    def _dropped(self) -> int:
        return self.frames_dropped + sum(t.dropped for t in self.transports)

    def start(self) -> "EventSink":
        for t in self.transports:
            t.start(self.tracker)
        self._thread.start()
        return self

    def publish(self, frame, annotated, result, fps) -> None:
        """On the frame loop's thread (a live output of Outputs): queue the frame's faces, never wait."""
        snap = Snapshot(time.time(), time.monotonic(), frame.index, frame.time, result.faces)
        with self._cond:
            if len(self._frames) >= FRAME_QUEUE:
                self._frames.popleft()
                self.frames_dropped += 1
            self._frames.append(snap)
            self._cond.notify()

    def _emit(self, events: list[dict]) -> None:
        for event in events:
            for t in self.transports:
                t.put(event)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._frames and not self._stopping:
                    self._cond.wait()
                if not self._frames:
                    return
                snap = self._frames.popleft()
            self._emit(self.tracker.update(snap))

    def close(self, reason: str = "end of run") -> list[str]:
        """Finish the events (faces still in view leave, a last summary), send what the flush time
        allows, and return one line per transport (sent, dropped) for the run's summary."""
        if self._closed:
            return []
        self._closed = True
        deadline = time.monotonic() + self.flush
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if not self._thread.is_alive():  # else it is still busy: its tracker is not ours to touch
            self._emit(self.tracker.finish(reason))
        lines = [t.close(deadline, reason) for t in self.transports]
        if self.frames_dropped:
            lines.append(f"events: {self.frames_dropped} frames skipped by the event thread")
        return lines
