"""Measure the crop margin that makes a detector crop look like a FER2013 image.

FER2013 images are 48x48 face crops with some forehead and chin. The runtime finds a face with
BlazeFace and widens its box to a square by `margin` (fer_edge.faces.square_box). This script
runs the same detector on FER2013 images, each upscaled and framed by a border so the detector
sees a face with surroundings (by default a plain border at the image's mean grey, which adds no
edges; see --border and --pad), and finds for each image the margin m for which
square_box(detected box, m) has the side of the original 48x48 image. The median is the value
for fer_edge.faces.DEFAULT_MARGIN. It also reports how far the detector box centre sits from the
image centre (fractions of the image side; + is right/down), since square_box centres the crop
on the box.

Measured (1000 Training images, defaults, BlazeFace on LiteRT): 99.6% detected, margin 0.081
(IQR 0.037..0.152), box centre 0.090 of the side below the image centre, shift -0.110 box heights;
MediaPipe's own runtime (--detector mediapipe, whole-pixel boxes): margin 0.082, centre 0.086 below,
shift -0.106. YuNet (--detector yunet): 98.2% detected, margin -0.008 (IQR -0.061..0.043), centre 0.008
below, shift -0.008, box w/h 0.78, IoU 0.777 (fer_edge.faces.YUNET_MARGIN, YUNET_SHIFT). The margin
grows when the face is small in the frame (MediaPipe's runtime, grey border: 0.089 at --pad 1.0, 0.123
at --pad 1.5).

    python benchmarks/calibrate_crop_margin.py /path/to/fer2013.tar.gz [-n 1000] [--split Training]
"""

from __future__ import annotations

import argparse
import sys
import time

import cv2
import numpy as np

from fer_edge.data.cache import load
from fer_edge.edge.detect import DETECTORS, make_detector
from fer_edge.faces import FER_SIZE, square_box


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw, ih = max(0.0, min(ax1, bx1) - max(a[0], b[0])), max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


BORDERS = {"replicate": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101, "grey": cv2.BORDER_CONSTANT}


def framed(img: np.ndarray, side: int, pad: int, border: str = "grey") -> np.ndarray:
    """A FER2013 image upscaled to `side` px and framed by `pad` px of border; "grey" fills it with
    the image's own mean level, so the border adds no edges."""
    big = cv2.resize(img, (side, side), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(big, pad, pad, pad, pad, BORDERS[border], value=int(img.mean()))


def nearest_centre(found: list, centre: float):
    """The detection whose box centre lies nearest the framed image's centre: the FER2013 face
    (rarely, a second is found)."""
    return min(found, key=lambda f: abs(f.box[0] + f.box[2] / 2 - centre) + abs(f.box[1] + f.box[3] / 2 - centre))


def measure(images: np.ndarray, scale: int, pad: int, min_confidence: float,
            border: str = "grey", detector: str = "blazeface") -> dict[str, np.ndarray]:
    side = FER_SIZE * scale
    margins, dx, dy, aspect, scores, boxes = [], [], [], [], [], []
    with make_detector(detector, min_confidence) as det:
        centre = pad + side / 2.0
        for img in images:
            found = det.detect(framed(img, side, pad, border))
            if not found:
                continue
            d = nearest_centre(found, centre)
            x, y, w, h = d.box
            margins.append((side / max(w, h) - 1.0) / 2.0)
            dx.append((x + w / 2.0 - centre) / side)
            dy.append((y + h / 2.0 - centre) / side)
            aspect.append(w / h)
            scores.append(d.score)
            boxes.append(d.box)
    return {k: np.asarray(v) for k, v in
            dict(margin=margins, dx=dx, dy=dy, aspect=aspect, score=scores, box=boxes).items()}


def _q(v: np.ndarray) -> str:
    p25, p50, p75 = np.percentile(v, [25, 50, 75])
    return f"median {p50:+.3f}  (IQR {p25:+.3f} .. {p75:+.3f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="FER2013 source (fer2013.tar.gz, CSV, folder or .npz cache)")
    ap.add_argument("--split", default="Training")
    ap.add_argument("-n", "--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=4, help="upscale factor (48 -> 192 px by default)")
    ap.add_argument("--pad", type=float, default=0.5, help="border per side, as a fraction of the image side")
    ap.add_argument("--border", choices=sorted(BORDERS), default="grey", help="how the border is filled")
    ap.add_argument("--min-confidence", type=float, default=0.5)
    ap.add_argument("--detector", choices=DETECTORS, default="blazeface",
                    help="the detector whose boxes to calibrate (each has its own constants in fer_edge.faces); "
                         "mediapipe: BlazeFace through MediaPipe's runtime (whole-pixel boxes), to compare")
    args = ap.parse_args(argv)

    part = load(args.data).split(args.split)
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(part), size=min(args.samples, len(part)), replace=False))
    side = FER_SIZE * args.scale
    pad = int(round(args.pad * side))
    t0 = time.perf_counter()
    m = measure(part.images[idx], args.scale, pad, args.min_confidence, args.border, args.detector)
    elapsed = time.perf_counter() - t0
    n = len(m["margin"])
    print(f"{args.detector}, {args.split}: {len(idx)} images (seed {args.seed}), {side}x{side} + {pad} px "
          f"{args.border} border, min confidence {args.min_confidence}: "
          f"detected {n} ({n / len(idx):.1%}) in {elapsed:.1f} s")
    if n == 0:
        print("no detections; nothing to calibrate", file=sys.stderr)
        return 1
    best = float(np.median(m["margin"]))
    boxes = np.asarray(m["box"], dtype=float)
    # the vertical move that puts the crop centre on the FER image centre, in box heights (- = up)
    best_shift = float(np.median(-(boxes[:, 1] + boxes[:, 3] / 2.0 - (pad + side / 2.0)) / boxes[:, 3]))
    print(f"margin           {_q(m['margin'])}")
    print(f"centre offset x  {_q(m['dx'])}  (fraction of the FER image side, + = right)")
    print(f"centre offset y  {_q(m['dy'])}  (+ = down)")
    print(f"box aspect w/h   {_q(m['aspect'])}")
    print(f"detector score   {_q(m['score'])}")
    # How well the calibrated crop reproduces the FER image area, with and without the offset.
    fer_area = (pad, pad, side, side)
    ious, ious_shifted = [], []
    for box in m["box"]:
        x0, y0, s = square_box(tuple(box), best, shift=0.0)
        ious.append(_iou((x0, y0, s, s), fer_area))
        x0, y0, s = square_box(tuple(box), best, shift=best_shift)
        ious_shifted.append(_iou((x0, y0, s, s), fer_area))
    print(f"IoU with the FER image area: square_box(box, {best:.3f}, shift=0) median {np.median(ious):.3f}; "
          f"with shift={best_shift:+.3f}: median {np.median(ious_shifted):.3f}")
    print(f"DEFAULT_MARGIN = {best:.2f}")
    print(f"DEFAULT_SHIFT = {best_shift:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
