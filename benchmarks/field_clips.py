"""Label shares over the faces of a clip: what the pipeline calls the faces of a real video.

An end-to-end example beside benchmarks/field_accuracy.py, not a score: the clips have no labels,
and nothing is tuned to them. Each model runs through the public API as `fer-edge run` does
(`Recognizer(model=..., smooth=...)` on consecutive frames, tracking on), and every face-frame's
label is counted.

    python benchmarks/field_clips.py ../shared/media/video02_hamilton_multi_face.mp4 --start 200 --end 275 \
        [--models fast,accurate,best] [--no-align] [--detector NAME]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import cv2

from fer_edge import defaults


def label_shares(video: str, model: str, start: int = 0, end: int | None = None, align: bool = True,
                 detector: str = defaults.DETECTOR) -> tuple[int, Counter]:
    from fer_edge import Recognizer

    kwargs = {} if align else {"align": False}
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"error: cannot open {video}")
    counts: Counter = Counter()
    n = 0
    with Recognizer(model=model, detector=detector, **kwargs) as rec:
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok or (end is not None and index > end):
                break
            if index >= start:
                for face in rec.recognize(frame):
                    counts[face.label] += 1
                    n += 1
            index += 1
    cap.release()
    return n, counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=None)
    ap.add_argument("--models", default="fast,accurate,best")
    ap.add_argument("--no-align", dest="align", action="store_false")
    ap.add_argument("--detector", default=defaults.DETECTOR, help="[default: the pipeline's, %(default)s]")
    args = ap.parse_args(argv)
    for model in args.models.split(","):
        n, counts = label_shares(args.video, model.strip(), args.start, args.end, args.align, args.detector)
        shares = ", ".join(f"{label} {c} ({100 * c / max(n, 1):.0f}%)" for label, c in counts.most_common())
        print(f"{model.strip()}: {n} face-frames: {shares}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
