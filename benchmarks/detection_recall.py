"""Face-detection recall and precision of every detector choice on a folder with boxes, and face
counts on the shared group and no-face photos.

DIR holds `images/` and `boxes.txt` (one face a line: `image x1 y1 x2 y2`, as
../shared/datasets/cmu-mit-faces/). Each detection is matched to at most one face, best score
first, at IoU >= 0.3 and >= 0.5; recall = matched faces / faces, precision = matched detections /
detections. ms per image is the median of the detector's detect() call on the whole image.
`--sides` adds YuNet at other input sizes (long side in px; 0 = the image's own size), to choose
the cost on a slower device; `--media` counts faces on ../shared/media's group* and noface*
pictures against MANIFEST.tsv.

    python benchmarks/detection_recall.py ../shared/datasets/cmu-mit-faces --sides 320,480,640,0 \
        --media ../shared/media
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from fer_edge.detector_choices import DETECTORS
from fer_edge.edge.detect import make_detector
from fer_edge.errors import FerEdgeError

IOUS = (0.3, 0.5)


def read_boxes(path: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    """image name -> its faces as (x1, y1, x2, y2)."""
    faces: dict[str, list] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        faces.setdefault(parts[0], []).append(tuple(float(v) for v in parts[1:5]))
    return faces


def iou(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def matched(truth: list, found: list, threshold: float) -> int:
    """How many faces a detection (best score first, each used once) overlaps by IoU >= threshold."""
    return len(matched_faces(truth, found, threshold))


def matched_faces(truth: list, found: list, threshold: float) -> list[int]:
    """The indices of the faces matched as `matched` counts them."""
    free = list(range(len(truth)))
    hits = []
    for box in found:
        best, best_iou = None, threshold
        for i in free:
            v = iou(truth[i], box)
            if v >= best_iou:
                best, best_iou = i, v
        if best is not None:
            free.remove(best)
            hits.append(best)
    return hits


# face width buckets, as a fraction of the image's long side (the benchmark's tight eye-to-mouth boxes):
# what a detector that sees the whole frame at a fixed input size can resolve
SIZES = (0.0, 0.05, 0.1, 0.2, 10.0)


def recall_by_size(truth: dict, found: dict, sides: dict, threshold: float = 0.3) -> list[tuple[str, int, float]]:
    """(bucket, faces, recall at IoU threshold) by the width of the benchmark's box over the long side."""
    widths, hit = [], []
    for name, faces in truth.items():
        got = set(matched_faces(faces, found.get(name, []), threshold))
        for i, f in enumerate(faces):
            widths.append((f[2] - f[0]) / sides[name])
            hit.append(i in got)
    widths, hit = np.asarray(widths), np.asarray(hit)
    out = []
    for lo, hi in zip(SIZES, SIZES[1:]):
        sel = (widths >= lo) & (widths < hi)
        label = f"<{hi:.0%}" if lo == 0 else (f">={lo:.0%}" if hi == SIZES[-1] else f"{lo:.0%}-{hi:.0%}")
        out.append((label, int(sel.sum()), float(hit[sel].mean()) if sel.any() else float("nan")))
    return out


def run(detector, images: list[Path]) -> tuple[dict[str, list], list[float]]:
    found, times = {}, []
    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        t0 = time.perf_counter()
        dets = detector.detect(image)
        times.append(time.perf_counter() - t0)
        found[path.name] = [(d.box[0], d.box[1], d.box[0] + d.box[2], d.box[1] + d.box[3]) for d in dets]
    return found, times


def score(truth: dict, found: dict) -> dict:
    n_truth = sum(len(v) for v in truth.values())
    n_found = sum(len(v) for v in found.values())
    out = {"faces": n_truth, "found": n_found}
    for t in IOUS:
        hits = sum(matched(truth.get(name, []), boxes, t) for name, boxes in found.items())
        out[f"recall@{t}"] = hits / n_truth if n_truth else float("nan")
        out[f"precision@{t}"] = hits / n_found if n_found else float("nan")
    return out


def detectors(names: list[str], sides: list[int], min_confidence: float):
    """(label, detector) for each choice, then YuNet at each extra side."""
    from fer_edge.edge.detect.yunet import YuNetDetector

    for name in names:
        try:
            yield name, make_detector(name, min_confidence, threads=2)
        except FerEdgeError as exc:
            print(f"{name}: skipped ({exc})", file=sys.stderr)
    for side in sides:
        yield f"yunet@{side or 'native'}", YuNetDetector(min_confidence, threads=2, max_side=side or None)


def media_counts(media: Path, detector) -> list[tuple[str, int, int]]:
    with (media / "MANIFEST.tsv").open() as f:
        expected = {row["file"]: row["faces"] for row in csv.DictReader(f, delimiter="\t")}
    out = []
    for name in sorted(expected):
        if name.startswith(("group", "noface")):
            image = cv2.imread(str(media / name), cv2.IMREAD_COLOR)
            out.append((name, int(expected[name]), len(detector.detect(image))))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir", type=Path, help="folder with images/ and boxes.txt")
    ap.add_argument("--detectors", default=",".join(d for d in DETECTORS if d != "mediapipe"),
                    help="comma-separated choices (mediapipe needs MediaPipe's runtime)")
    ap.add_argument("--sides", default="", help="YuNet input long sides to add, e.g. 320,480,640,0 (0 = native)")
    ap.add_argument("--min-confidence", type=float, default=0.5, help="the run's default")
    ap.add_argument("--media", type=Path, help="../shared/media: count faces on group* and noface* pictures")
    ap.add_argument("--by-size", action="store_true", help="also recall at IoU 0.3 by face width (px)")
    args = ap.parse_args(argv)
    truth = read_boxes(args.dir / "boxes.txt")
    images = sorted(p for p in (args.dir / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    names = [n for n in args.detectors.split(",") if n]
    sides = [int(s) for s in args.sides.split(",") if s]
    print(f"{args.dir}: {len(images)} images, {sum(len(v) for v in truth.values())} faces, "
          f"min confidence {args.min_confidence}")
    print(f"{'detector':<16} {'R@0.3':>6} {'P@0.3':>6} {'R@0.5':>6} {'P@0.5':>6} {'found':>6} {'ms/img':>7}"
          + ("  group faces (of N) / no-face pictures with a face" if args.media else ""))
    for label, det in detectors(names, sides, args.min_confidence):
        with det:
            run(det, images[:3])  # warm-up
            found, times = run(det, images)
            s = score(truth, found)
            line = (f"{label:<16} {s['recall@0.3']:6.3f} {s['precision@0.3']:6.3f} {s['recall@0.5']:6.3f} "
                    f"{s['precision@0.5']:6.3f} {s['found']:6d} {statistics.median(times) * 1e3:7.2f}")
            if args.media:
                counts = media_counts(args.media, det)
                group = [(e, f) for n, e, f in counts if n.startswith("group")]
                noface = [f for n, e, f in counts if n.startswith("noface")]
                line += (f"  {sum(min(e, f) for e, f in group)}/{sum(e for e, _ in group)} "
                         f"(found {sum(f for _, f in group)}; " + " ".join(f"{f}/{e}" for e, f in group)
                         + f") / {sum(1 for f in noface if f)} of {len(noface)}")
            print(line, flush=True)
            if args.by_size:
                sides = {p.name: max(cv2.imread(str(p)).shape[:2]) for p in images}
                print("    recall by face width / long side (faces): " + ", ".join(
                    f"{b} ({n}): {r:.2f}" for b, n, r in recall_by_size(truth, found, sides)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
