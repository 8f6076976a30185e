"""Face tracks across frames (greedy IoU matching) with per-track smoothing of the class scores.

A label computed from one frame flickers: the classifier sees a slightly different crop each
frame. Each track keeps an exponential moving average of its probabilities instead, so a label
changes only when the expression does. Pure numpy; no detector or model needed to test it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]  # x, y, w, h


@dataclass
class Track:
    id: int
    box: Box
    probs: np.ndarray  # smoothed class probabilities
    detection: float  # the face detector's score of the latest box (not the expression's)
    age: int = 1  # frames this track has been seen in
    missed: int = 0  # frames since it was last seen
    # A track is reported once confirmed; until then its id is 0 (none taken from the count).


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every (x, y, w, h) box in `a` (N, 4) with every box in `b` (M, 4): (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ax0, ay0, ax1, ay1 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx0, by0, bx1, by1 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


class FaceTracker:
    """Assigns stable ids to detections and smooths their probabilities.

    smooth: weight of a track's previous smoothed probabilities in each new frame (EMA);
        0 = no smoothing, 0.6 = a new expression dominates after about two frames.
    iou_threshold: least IoU for a detection to continue a track.
    max_missed: frames a track survives without a detection (a missed detection or a blink of
        occlusion keeps its id and its smoothed state).
    confirm_frames, start_score: a face that appears after the first frame is a track only once
        it is confirmed: seen in `confirm_frames` consecutive frames, or detected with at least
        `start_score` to begin with (a higher score to start than to continue). Until then it has
        id 0 and is not reported; one that misses a frame is forgotten. The first frame after a
        reset (a still, or a stream's start) has nothing to confirm against: its faces count at once.
    """

    def __init__(self, smooth: float = 0.6, iou_threshold: float = 0.3, max_missed: int = 5,
                 confirm_frames: int = 1, start_score: float = 0.0):
        if not 0.0 <= smooth < 1.0:
            raise ValueError(f"smoothing must lie in [0, 1), got {smooth}")
        self.smooth = float(smooth)
        self.iou_threshold = float(iou_threshold)
        self.max_missed = int(max_missed)
        self.confirm_frames = max(1, int(confirm_frames))
        self.start_score = float(start_score)
        self.tracks: list[Track] = []
        self._next_id = 1
        self._frames = 0  # frames since the last reset

    def reset(self) -> None:
        """Forget all tracks (the next frame is unrelated, e.g. the next image of a folder)."""
        self.tracks = []
        self._frames = 0

    def _confirm(self, track: Track) -> None:
        if track.id == 0 and (self._frames == 0 or track.age >= self.confirm_frames
                              or track.detection >= self.start_score):
            track.id = self._next_id
            self._next_id += 1

    def update(self, boxes: list[Box], probs: np.ndarray, scores: list[float] | None = None) -> list[Track]:
        """Match this frame's detections to tracks; returns one track per detection, in order."""
        n = len(boxes)
        probs = np.asarray(probs, np.float32).reshape(n, -1) if n else np.zeros((0, 0), np.float32)
        scores = list(scores) if scores is not None else [1.0] * n
        assigned: list[Track | None] = [None] * n
        free_tracks = set(range(len(self.tracks)))
        if n and self.tracks:
            ious = iou_matrix(np.array(boxes), np.array([t.box for t in self.tracks]))
            # Greedy: best-overlapping pairs first; faces rarely overlap, so this equals the optimum.
            for flat in np.argsort(-ious, axis=None):
                d, t = divmod(int(flat), ious.shape[1])
                if ious[d, t] < self.iou_threshold:
                    break
                if assigned[d] is None and t in free_tracks:
                    assigned[d] = self.tracks[t]
                    free_tracks.discard(t)
        for t in free_tracks:
            self.tracks[t].missed += 1
        for d in range(n):
            track = assigned[d]
            if track is None:
                track = Track(0, tuple(map(float, boxes[d])), probs[d].copy(), float(scores[d]))
                self.tracks.append(track)
                assigned[d] = track
            else:
                track.probs = self.smooth * track.probs + (1.0 - self.smooth) * probs[d]
                track.box = tuple(map(float, boxes[d]))
                track.detection = float(scores[d])
                track.age += 1
                track.missed = 0
            self._confirm(track)
        # unconfirmed tracks need consecutive frames: one missed, and it is gone
        self.tracks = [t for t in self.tracks if t.missed <= (self.max_missed if t.id else 0)]
        self._frames += 1
        return assigned  # type: ignore[return-value]
