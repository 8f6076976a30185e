"""What detecting every Nth frame costs (`--detect-every N`): the pipeline holds the last detection's
boxes for the frames between, unless the scene changes (edge/detect/hold.py, the same rule here; the tracker
keeps the ids; each frame's expression is still read from its own pixels at those boxes). Against the
same detector on every frame, per video: recall = every-frame faces that a held box still covers at
IoU >= 0.3 / 0.5, precision = held boxes that cover one, and the detector's mean ms per frame (its ms
a detection times the frames it ran on, over all frames).

    python benchmarks/detect_every.py ../shared/media/video02_hamilton_multi_face.mp4 \
        ../shared/media/video03_emotions_woman.mp4 [--detector yunet] [--every 1,2,3,4,6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import islice

from fer_edge.detector_choices import DEFAULT_DETECTOR, DETECTORS
from fer_edge.edge.detect import make_detector
from fer_edge.edge.detect.hold import DetectionHold
from fer_edge.edge.sources import open_source

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from detection_recall import matched  # noqa: E402  (the same greedy matching as the recall benchmark)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR)
    ap.add_argument("--every", default="1,2,3,4,6")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--no-scene-check", action="store_true", help="hold boxes blindly for N frames (no cut check)")
    args = ap.parse_args(argv)
    every = [int(n) for n in args.every.split(",")]
    with make_detector(args.detector, 0.5, threads=2) as det:
        for video in args.videos:
            with open_source(source=video) as source:
                frames = [f.image for f in islice(source, args.frames)]
            det.detect(frames[0])
            boxes, times = [], []
            for frame in frames:
                t0 = time.perf_counter()
                found = det.detect(frame)
                times.append(time.perf_counter() - t0)
                boxes.append([(d.box[0], d.box[1], d.box[0] + d.box[2], d.box[1] + d.box[3]) for d in found])
            total = sum(len(b) for b in boxes)
            ms = statistics.mean(times) * 1e3
            print(f"{video.rsplit('/', 1)[-1]}: {len(frames)} frames, {total} faces by {args.detector} on every "
                  f"frame, {ms:.2f} ms a detection")
            for n in every:
                held, hold, runs = [], DetectionHold(n), 0  # the pipeline's own rule, scene changes included
                for i, (frame, found) in enumerate(zip(frames, boxes)):
                    got = (None if i % n == 0 else held[-1]) if args.no_scene_check else hold.get(frame)
                    if got is None:
                        hold.put(frame, found)
                        got, runs = found, runs + 1
                    held.append(got)
                line = f"  every {n}: detector run on {runs} frames, {ms * runs / len(frames):5.2f} ms/frame"
                for t in (0.3, 0.5):
                    hits = [matched(ref, h, t) for ref, h in zip(boxes, held)]
                    line += (f"; IoU {t}: recall {sum(hits) / max(1, total):.3f} precision "
                             f"{sum(hits) / max(1, sum(len(h) for h in held)):.3f}")
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
