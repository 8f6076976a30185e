"""What a frame gives: `Face` (where a face is, its expression, its track) and `FrameResult` (a
frame's faces, where the frame came from, the seconds each stage took), and the one way both are
written out: `to_records` for JSONL, the live view, events and DataFrames; `csv_row` over `COLUMNS`
for CSV. Every output derives from these, so a field is named once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

STAGES = ("capture", "detect", "preprocess", "classify", "draw")  # timed per frame, in this order
# Seconds a paced source (--realtime) held a frame back until its time in the video: waiting, not
# work, so kept apart from the stages (it was counted as capture: "capture 38 ms").
WAIT = "wait"
DIGITS = 4  # decimals of scores and times in written results (JSONL, CSV, the live view)
# Where each face is; then its expression. The per-label score columns follow, one per label.
PLACE_COLUMNS = ("frame", "time", "image", "track", "x", "y", "w", "h")
VERDICT_COLUMNS = ("label", "score", "detection")


def columns(labels) -> list[str]:
    """The CSV's columns (and the DataFrame's): place, verdict, then one score column per label."""
    return [*PLACE_COLUMNS, *VERDICT_COLUMNS, *labels]


@dataclass(repr=False)
class Face:
    """One face in a frame: where it is, its expression, and which track it continues."""

    track_id: int  # the same number in every frame while the face stays in view
    box: tuple[int, int, int, int]  # x, y, w, h in pixels, clipped to the frame
    label: str  # the label with the highest smoothed probability
    score: float  # its smoothed probability (the expression's, not the detector's)
    probs: np.ndarray  # smoothed probabilities, in the model's label order (`labels`)
    detection: float  # the face detector's confidence in this box
    labels: tuple[str, ...] = ()  # the model's labels, the order of `probs`
    keypoints: tuple[tuple[float, float], ...] = ()  # (x, y) of the eyes, nose tip, mouth centre, ear tragions

    def __repr__(self) -> str:
        return (f"Face(track_id={self.track_id}, box={self.box}, label={self.label!r}, score={self.score:.3f}, "
                f"detection={self.detection:.3f})")

    @property
    def scores(self) -> dict[str, float]:
        """Every label's smoothed probability."""
        return {name: float(p) for name, p in zip(self.labels, self.probs)}

    def to_dict(self, digits: int | None = None) -> dict:
        """JSON-ready: the fields of a `fer-edge run --jsonl` record (without frame, time and image);
        `digits` rounds the scores as that file does (DIGITS)."""
        r = (lambda v: round(float(v), digits)) if digits is not None else float
        return {"track": self.track_id, "box": [int(v) for v in self.box], "label": self.label,
                "score": r(self.score), "scores": {name: r(p) for name, p in zip(self.labels, self.probs)},
                "detection": r(self.detection)}


@dataclass
class FrameResult:
    """One frame's faces and the seconds each stage took; where the frame came from when a source
    delivered it (`stream()`, `fer-edge run`). Unpacks as `image, faces`."""

    faces: list[Face]
    timings: dict[str, float] = field(default_factory=dict)  # stage (STAGES) -> seconds
    image: np.ndarray | None = None  # BGR uint8, as OpenCV delivers it (yours to draw on)
    index: int | None = None  # position in the source
    time: float | None = None  # seconds into a video or since a camera started; None for pictures
    name: str | None = None  # the file name, for pictures

    def __iter__(self) -> Iterator:
        return iter((self.image, self.faces))

    def to_records(self, digits: int | None = None) -> list[dict]:
        """One dict per face, as `fer-edge run --jsonl` writes them: where the frame is (frame, time,
        and image for pictures), then Face.to_dict."""
        t = self.time if self.time is None or digits is None else round(float(self.time), digits)
        where = {"frame": self.index, "time": t, **({"image": self.name} if self.name is not None else {})}
        return [{**where, **face.to_dict(digits)} for face in self.faces]


FrameFaces = FrameResult  # the name `stream()`'s items had before they were one type with the frame's result


def flat_row(record: dict, labels) -> dict:
    """A `--jsonl` record as a flat row of COLUMNS (the box spread over x, y, w, h; a score per label)."""
    x, y, w, h = record["box"]
    row = {"frame": record.get("frame"), "time": record.get("time"), "image": record.get("image"),
           "track": record["track"], "x": x, "y": y, "w": w, "h": h, "label": record["label"],
           "score": record["score"], "detection": record["detection"]}
    scores = record.get("scores") or {}
    for name in labels:
        row[name] = scores.get(name)
    return row


def csv_row(record: dict, labels) -> list[str]:
    """A record as the CSV writes it: COLUMNS' order, fixed DIGITS decimals, blanks for what is unknown."""
    row = flat_row(record, labels)
    fixed = {"time", "score", "detection", *labels}
    return ["" if row[c] is None else (f"{row[c]:.{DIGITS}f}" if c in fixed else str(row[c]))
            for c in columns(labels)]
