"""FER2013 Training faces as a room camera would deliver them to the classifier: a data file for
robustness fine-tuning (`fer-edge train --data` reads it like any prepared .npz).

Each Training face is replaced by one view: clean with probability `clean`, otherwise with one to
three of the degradations of fer_edge.degrade applied at the 48x48 crop the classifier sees (a face
the detector found at 12-40 px comes back upscaled and soft; a detector box sits a little off; the
light, noise, blur, compression, tilt and covering of the room). PublicTest stays clean, so
training still selects its epoch on the split every card reports. Seeded: the same file every run.

    python -m fer_edge.train.field_views fer2013.tar.gz -o runs/field_views.npz [--clean 0.35] [--seed 0]
        [--views 1] [--normalize stretch]

--views K writes K views of every face (the first K seeds' worth, Training repeated K times in its
own order): a fine-tune that sees each face once per epoch under one fixed degradation learns those
views (on the 2-core CPU, one view a face: Training accuracy 69 -> 74% over 4 epochs while
PublicTest fell). `fer-edge train --teacher-data fer2013.tar.gz` then gives the teachers each
clean face once and repeats their targets over its K views.

--normalize writes both splits normalised by fer_edge.faces.normalize_batch, the function the
runtime applies to a model whose metadata declares it (convert such a model with the same
--normalize), so a model trained on the file sees at run time what it saw in training.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from fer_edge import degrade
from fer_edge.data.cache import load, save_npz
from fer_edge.data.dataset import Dataset, Split
from fer_edge.faces import FER_SIZE, NORMALIZATIONS, normalize_batch


def _small(face, rng):
    s = int(rng.integers(12, 41))  # a face found at 12-40 px, brought back to 48 as the runtime does
    low = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA)
    return cv2.resize(low, (FER_SIZE, FER_SIZE), interpolation=cv2.INTER_LINEAR)


def _crop_jitter(face, rng):
    # A detector box off by up to 8% of the side and 0.9-1.15x its size (BlazeFace's margin IQR on
    # FER2013 is 0.037..0.152 around 0.081: benchmarks/calibrate_crop_margin.py).
    scale = rng.uniform(0.9, 1.15)
    dx, dy = rng.uniform(-0.08, 0.08, 2) * FER_SIZE
    c = FER_SIZE / 2.0
    m = np.array([[1 / scale, 0, c - c / scale + dx], [0, 1 / scale, c - c / scale + dy]], np.float32)
    return cv2.warpAffine(face, m, (FER_SIZE, FER_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


OPS = {
    "gamma": lambda f, r: degrade.gamma(f, r.uniform(1.5, 3.0)),
    "exposure": lambda f, r: degrade.exposure(f, r.uniform(0.15, 0.6)),
    "contrast": lambda f, r: degrade.contrast(f, r.uniform(0.3, 0.7)),
    "bright": lambda f, r: degrade.gamma(f, r.uniform(0.45, 0.8)),
    "noise": lambda f, r: degrade.noise(f, r.uniform(3.0, 14.0), r),
    "motion": lambda f, r: degrade.motion_blur(f, int(r.integers(3, 6)), r.uniform(0, 180)),
    "focus": lambda f, r: degrade.focus_blur(f, r.uniform(0.6, 1.6)),
    "jpeg": lambda f, r: degrade.jpeg(f, int(r.integers(8, 40))),
    "rotate": lambda f, r: degrade.rotate(f, r.uniform(-30, 30)),
    "small": _small,
    "crop": _crop_jitter,
    "glasses": lambda f, r: degrade.glasses_bar(f, (0, 0, FER_SIZE), int(r.integers(0, 60))),
    "hand": lambda f, r: degrade.hand(f, (0, 0, FER_SIZE), r),
}
# Applied in this order when drawn, the order a camera applies them: the scene (tilt, covering),
# light, optics, sensor, then the crop and compression.
ORDER = ("rotate", "glasses", "hand", "gamma", "exposure", "bright", "contrast", "focus", "motion", "noise",
         "small", "crop", "jpeg")


def field_view(face: np.ndarray, rng: np.random.Generator, clean: float = 0.35) -> np.ndarray:
    """One view of a 48x48 grey face: itself with probability `clean`, else 1-3 degradations."""
    if rng.random() < clean:
        return face
    chosen = set(rng.choice(len(ORDER), size=int(rng.integers(1, 4)), replace=False).tolist())
    out = face
    for i, name in enumerate(ORDER):
        if i in chosen:
            out = OPS[name](out, rng)
    return out


def field_views(images: np.ndarray, seed: int = 0, clean: float = 0.35, views: int = 1) -> np.ndarray:
    """`views` views of every face, all faces' first view, then all faces' second, and so on."""
    rng = np.random.default_rng(seed)
    return np.stack([field_view(f, rng, clean) for _ in range(views) for f in images]).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--clean", type=float, default=0.35)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--views", type=int, default=1, help="views of every Training face (the split repeated)")
    ap.add_argument("--normalize", choices=[n for n in NORMALIZATIONS if n], default=None)
    args = ap.parse_args(argv)
    ds = load(args.data)
    train = ds.split("Training")
    if args.views < 1:
        ap.error("--views must be at least 1")
    out = Dataset(source=f"{ds.source} field views seed {args.seed} clean {args.clean} views {args.views} "
                         f"normalize {args.normalize}")
    views = field_views(train.images, args.seed, args.clean, args.views)
    test = ds.split("PublicTest")
    out.splits["Training"] = Split(images=normalize_batch(views, args.normalize), labels=np.tile(train.labels, args.views))
    out.splits["PublicTest"] = Split(images=normalize_batch(test.images, args.normalize), labels=test.labels)
    print(save_npz(out, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
