"""Frames in, events out: which tracked face appeared, changed its expression or left, and a summary
at a set interval. Pure Python on the faces the pipeline already tracked and smoothed (Face.track_id,
Face.label), so it runs anywhere and is tested with no model.

An expression change is reported once the new label has held for `hold` seconds of the frame clock
(the video's time for files, the camera's time since start): the smoothing of edge/tracker.py damps
the classifier's frame-to-frame noise, this keeps a label that wavers at the boundary between two
expressions from sending a message per flip.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fer_edge.edge.events.schema import envelope

# A face absent from this many processed frames in a row has left: FaceTracker keeps a track through
# 5 missed frames (edge/tracker.py max_missed), so after 6 its id can never come back.
LEAVE_AFTER_FRAMES = 6


@dataclass
class Snapshot:
    """What the frame loop hands over for one frame: references only (edge/events/sink.py)."""

    wall: float  # time.time() when the frame was done
    mono: float  # time.monotonic() then, for intervals
    index: int
    video_time: float | None
    faces: Sequence  # edge.pipeline.Face


@dataclass
class _Track:
    label: str  # the label last reported
    first_clock: float
    frames: int = 1
    missed: int = 0
    candidate: str | None = None  # a different label, held since `since`
    since: float = 0.0
    area: int = 0


class EventTracker:
    def __init__(self, device: str, labels: Sequence[str], hold: float = 1.0, interval: float = 5.0,
                 leave_after: int = LEAVE_AFTER_FRAMES, dropped: Callable[[], int] = lambda: 0):
        self.device, self.labels = device, list(labels)
        self.hold, self.interval, self.leave_after = float(hold), float(interval), int(leave_after)
        self.dropped = dropped  # the sink's count of events dropped so far, for the summary
        self.seq = 0  # events made so far (state messages carry it, so a reader can tell what it missed)
        self._tracks: dict[int, _Track] = {}
        self._clock = 0.0  # the frame clock of the last frame
        self._last: Snapshot | None = None
        self._window_start: float | None = None
        self._window_frames = 0
        self._window_labels: Counter[str] = Counter()

    # ------------------------------------------------------------------ helpers
    def _event(self, kind: str, snap: Snapshot, **fields) -> dict:
        self.seq += 1
        vt = None if snap.video_time is None else round(float(snap.video_time), 3)
        return {**envelope(kind, self.device, self.seq, snap.wall), "frame": int(snap.index), "video_time": vt,
                **fields}

    def _left(self, snap: Snapshot, track_id: int, reason: str) -> dict:
        t = self._tracks.pop(track_id)
        return self._event("face_left", snap, track=track_id, label=t.label,
                           duration=round(max(0.0, self._clock - t.first_clock), 3), frames=t.frames, reason=reason)

    def _summary(self, snap: Snapshot) -> dict:
        span = snap.mono - (self._window_start if self._window_start is not None else snap.mono)
        faces = sum(self._window_labels.values())
        present = [t for t in self._tracks.values() if t.missed == 0]
        current = max(present, key=lambda t: t.area).label if present else "none"
        event = self._event("summary", snap, interval=round(span, 3), frames=self._window_frames,
                            fps=round(self._window_frames / span, 2) if span > 0 else 0.0,
                            faces=len(present), expression=current,
                            shares={name: round(self._window_labels[name] / faces, 4) if faces else 0.0
                                    for name in self.labels},
                            dropped=int(self.dropped()))
        self._window_start, self._window_frames = snap.mono, 0
        self._window_labels.clear()
        return event

    # ------------------------------------------------------------------ the frame loop's side
    def update(self, snap: Snapshot) -> list[dict]:
        events: list[dict] = []
        if snap.video_time is None:  # still images: each one unrelated to the last (the runner resets tracks)
            events += [self._left(snap, tid, "next image") for tid in list(self._tracks)]
        else:
            self._clock = float(snap.video_time)
        if self._window_start is None:
            self._window_start = snap.mono
        seen = set()
        for face in snap.faces:
            tid = int(face.track_id)
            seen.add(tid)
            self._window_labels[face.label] += 1
            area = int(face.box[2]) * int(face.box[3])
            t = self._tracks.get(tid)
            if t is None:
                self._tracks[tid] = _Track(face.label, self._clock, area=area)
                events.append(self._event("face_appeared", snap, track=tid, label=face.label,
                                          score=round(float(face.score), 4), box=[int(v) for v in face.box],
                                          detection=round(float(face.detection), 4)))
                continue
            t.frames, t.missed, t.area = t.frames + 1, 0, area
            if face.label == t.label:
                t.candidate = None
            elif face.label != t.candidate:
                t.candidate, t.since = face.label, self._clock
            if t.candidate is not None and self._clock - t.since >= self.hold:
                events.append(self._event("expression_changed", snap, track=tid, label=face.label, previous=t.label,
                                          score=round(float(face.score), 4), held=round(self._clock - t.since, 3)))
                t.label, t.candidate = face.label, None
        for tid in [tid for tid in self._tracks if tid not in seen]:
            t = self._tracks[tid]
            t.missed += 1
            if t.missed >= self.leave_after:
                events.append(self._left(snap, tid, "out of view"))
        self._window_frames += 1
        self._last = snap
        if snap.mono - self._window_start >= self.interval:
            events.append(self._summary(snap))
        return events

    def finish(self, reason: str = "end of run") -> list[dict]:
        """At the end of the run: a last summary (of the part interval), then every face still in view leaves."""
        snap = self._last
        if snap is None:
            return []
        events = [self._summary(snap)] if self._window_frames else []
        return events + [self._left(snap, tid, reason) for tid in list(self._tracks)]
