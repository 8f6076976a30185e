"""What confirming a face before it is reported costs in faces found, and what it removes (issue 34):
each shared video's detections at the default --min-confidence, replayed through the tracker with
each rule. Counts: faces (face-frames reported), tracks, tracks of one frame (phantoms are these).

    .venv/bin/python benchmarks/track_confirmation.py [../shared/media]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from fer_edge import defaults
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.stream import open_frames
from fer_edge.edge.tracker import FaceTracker

RULES = [(1, None), (2, None), (3, None), (3, 0.1), (3, 0.2), (5, 0.1)]  # (frames, start margin)


def detections(video: Path, recognizer: Recognizer) -> list[list[tuple[tuple, float]]]:
    """Per frame, (box, detector score) of every face: confirmation off (every face reported)."""
    recognizer._pipeline.tracker = FaceTracker(confirm_frames=1)
    recognizer.reset()
    with open_frames(video) as frames:
        return [[(f.box, f.detection) for f in recognizer.process(frame.image).faces] for frame in frames]


def replay(frames, confirm_frames: int, start_score: float) -> tuple[int, int, int]:
    tracker = FaceTracker(confirm_frames=confirm_frames, start_score=start_score)
    lengths: dict[int, int] = {}
    for faces in frames:
        tracks = tracker.update([b for b, _ in faces], np.zeros((len(faces), 7)), [s for _, s in faces])
        for t in tracks:
            if t.id:
                lengths[t.id] = lengths.get(t.id, 0) + 1
    return sum(lengths.values()), len(lengths), sum(1 for n in lengths.values() if n == 1)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/media")
    videos = sorted(folder.glob("video*.mp4"))
    with Recognizer(threads=2) as recognizer:
        recorded = {v.name: detections(v, recognizer) for v in videos}
    print(f"--min-confidence {defaults.MIN_CONFIDENCE}; faces / tracks / one-frame tracks")
    header = "rule".ljust(34) + "".join(name[:18].rjust(22) for name in recorded)
    print(header)
    for frames_needed, margin in RULES:
        start = 2.0 if margin is None else defaults.MIN_CONFIDENCE + margin  # 2.0: no score starts one at once
        name = "report at once" if frames_needed == 1 else (
            f"{frames_needed} frames" + (f" or score >= {start:.2f}" if margin is not None else ""))
        cells = []
        for frames in recorded.values():
            faces, tracks, single = replay(frames, frames_needed, start)
            cells.append(f"{faces} / {tracks} / {single}".rjust(22))
        print(name.ljust(34) + "".join(cells))


if __name__ == "__main__":
    main()
