"""Does tiling extend BlazeFace's reach? The short-range (or full-range) model on the whole image plus
a grid of overlapping square tiles (each `--tiles` times smaller than the image's long side, half a
tile apart), detections merged by NMS at IoU 0.3; recall/precision as benchmarks/detection_recall.py.

    python benchmarks/blazeface_tiles.py ../shared/datasets/cmu-mit-faces [--tiles 2,3] [--detector blazeface]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fer_edge.edge.detect import make_detector

sys.path.insert(0, str(Path(__file__).parent))
from detection_recall import read_boxes, score  # noqa: E402


def tiled(detector, image: np.ndarray, splits: int) -> list[tuple[float, float, float, float]]:
    h, w = image.shape[:2]
    side = int(np.ceil(max(w, h) / splits))
    boxes, scores = [], []
    for d in detector.detect(image):
        boxes.append(d.box)
        scores.append(d.score)
    if splits > 1:
        step = max(1, side // 2)
        for y in range(0, max(1, h - side // 2), step):
            for x in range(0, max(1, w - side // 2), step):
                tile = image[y:y + side, x:x + side]
                for d in detector.detect(np.ascontiguousarray(tile)):
                    boxes.append((d.box[0] + x, d.box[1] + y, d.box[2], d.box[3]))
                    scores.append(d.score)
    if not boxes:
        return []
    keep = cv2.dnn.NMSBoxes([list(map(float, b)) for b in boxes], [float(s) for s in scores], 0.0, 0.3)
    return [boxes[i] for i in np.asarray(keep).reshape(-1)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--tiles", default="1,2,3", help="tiles per long side (1 = the whole image only)")
    ap.add_argument("--detector", default="blazeface")
    args = ap.parse_args(argv)
    truth = read_boxes(args.dir / "boxes.txt")
    images = sorted(p for p in (args.dir / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    with make_detector(args.detector, 0.5, threads=2) as det:
        for splits in (int(s) for s in args.tiles.split(",")):
            found, times = {}, []
            for path in images:
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                t0 = time.perf_counter()
                boxes = tiled(det, image, splits)
                times.append(time.perf_counter() - t0)
                found[path.name] = [(x, y, x + w, y + h) for x, y, w, h in boxes]
            s = score(truth, found)
            print(f"{args.detector}, {splits} tile(s) per side: recall {s['recall@0.3']:.3f} / precision "
                  f"{s['precision@0.3']:.3f} at IoU 0.3, {s['recall@0.5']:.3f} / {s['precision@0.5']:.3f} at 0.5, "
                  f"{s['found']} found, {statistics.median(times) * 1e3:.1f} ms per image (median)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
