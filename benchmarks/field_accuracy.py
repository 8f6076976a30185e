"""How well the whole pipeline reads expressions in the field: FER2013 faces put into camera frames.

Each FER2013 PublicTest face is placed in a 640x360 frame (a background cut from the shared
no-face pictures, ../shared/media/noface*, or a synthetic room when they are absent) and the frame
is degraded the way a room camera degrades it (fer_edge.degrade): dim light, under-exposure, low
contrast, a colour cast, sensor noise, motion and focus blur, JPEG and H.264 compression, in-plane
tilt up to +-30 degrees, faces 24-300 px wide, a hand or a dark glasses bar over the face, and a
mix of several. The public API then runs on every frame exactly as an app runs it:
`fer_edge.Recognizer(model=..., detector=..., smooth=0).recognize(frame)`, so detection, the
detector's own crop and the classifier are all measured. A face the detector misses counts as
wrong (its detection rate is reported too); "ideal crop" is `Recognizer.classify` on the 48x48
face itself, the classifier without any detector, and "true box" is `classify` on the face's own
square cut from the clean frame: ideal crop minus true box is what placing the face costs (the
upscaling and the feathered edge below), true box minus clean what the detector's box costs.

Placing a 48x48 face into a frame means upscaling it; INTER_CUBIC then a Gaussian of 0.35 of the
upscale factor (in pixels of the frame) removes the pixel grid and cubic ringing that a detector
trained on camera faces would otherwise see as edges (without it BlazeFace finds clearly fewer
upscaled faces), and a feathered edge (12% of the side) blends the square into the background.
Every frame is seeded by (seed, condition, face): rerunning gives the same frames, and a smaller
-n is a prefix of a larger one.

    python benchmarks/field_accuracy.py --data ../shared/datasets/fer2013/fer2013.tar.gz -n 1000 \
        [--models fast,accurate,best] [--detector NAME] [--no-align] [--json out.json]

Prints one table per model: accuracy, macro-F1 and the detection rate for each condition beside
the clean frame, then the mean over the conditions (at the clean size) and over the face sizes.
`python benchmarks/field_accuracy.py --compare A.json B.json` lays earlier --json runs side by side
as one markdown table of accuracies.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_edge import defaults, degrade
from fer_edge.faces import FER_SIZE
from fer_edge.labels import NUM_CLASSES

FRAME_W, FRAME_H = 640, 360
# px side of the FER2013 square in a 640x360 frame. BlazeFace short-range (the default detector)
# finds upscaled FER2013 faces only when large: on 100 PublicTest faces, clean, it detected 12% at
# 96 px, 39% at 120, 75% at 150, 87% at 180, 97% at 220 and 98% at 280; so the clean face is 200 px
# (a face about 0.6 m from a webcam) and the size rows show what smaller faces cost.
CLEAN_SIZE = 200
BACKGROUNDS = Path(__file__).resolve().parents[1] / ".." / "shared" / "media"
TUNGSTEN = (0.55, 0.8, 1.0)  # BGR gains of a 2,700 K lamp on a daylight-balanced sensor
CHUNK = 100  # frames built at once (and one H.264 round trip): ~70 MB of frames


@dataclass
class Condition:
    name: str
    size: int | tuple[int, int] = CLEAN_SIZE  # face side, or a log-uniform range
    scene: list = field(default_factory=list)  # f(frame, box, rng) before the camera (occluders, tilt)
    camera: list = field(default_factory=list)  # f(frame, rng) light, optics, sensor, still compression
    video: int | None = None  # H.264 crf for the whole chunk
    group: str = "condition"  # "condition" and "size" rows get a mean each; None: neither


def _rotate(frame, box, rng):
    x0, y0, s = box
    angle = rng.uniform(15, 30) * (1 if rng.random() < 0.5 else -1)
    return degrade.rotate(frame, angle, (x0 + s / 2.0, y0 + s / 2.0))


SINGLE = [
    Condition("dim (gamma 2.2)", camera=[lambda f, r: degrade.gamma(f, 2.2)]),
    Condition("under-exposed x0.25", camera=[lambda f, r: degrade.exposure(f, 0.25)]),
    Condition("low contrast x0.4", camera=[lambda f, r: degrade.contrast(f, 0.4)]),
    Condition("tungsten cast", camera=[lambda f, r: degrade.colour_cast(f, TUNGSTEN)]),
    Condition("noise sigma 12", camera=[lambda f, r: degrade.noise(f, 12.0, r)]),
    Condition("motion blur 9 px", camera=[lambda f, r: degrade.motion_blur(f, 9, r.uniform(0, 180))]),
    Condition("focus blur sigma 3", camera=[lambda f, r: degrade.focus_blur(f, 3.0)]),
    Condition("JPEG q15", camera=[lambda f, r: degrade.jpeg(f, 15)]),
    Condition("H.264 crf 35", video=35),
    Condition("tilt 15-30 deg", scene=[_rotate]),
    Condition("glasses bar", scene=[lambda f, b, r: degrade.glasses_bar(f, b)]),
    Condition("hand over chin", scene=[degrade.hand]),
    Condition("face 24 px", size=24, group="size"),
    Condition("face 48 px", size=48, group="size"),
    Condition("face 96 px", size=96, group="size"),
    Condition("face 150 px", size=150, group="size"),
    Condition("face 250 px", size=250, group="size"),
    Condition("face 340 px", size=340, group="size"),
]

# Two to four of these per face, noise and JPEG always, a face 150-300 px wide: a room, not a lab.
_MIX_CAMERA = {
    "dim": lambda f, r: degrade.gamma(f, r.uniform(1.5, 2.5)),
    "exposure": lambda f, r: degrade.exposure(f, r.uniform(0.25, 0.6)),
    "contrast": lambda f, r: degrade.contrast(f, r.uniform(0.4, 0.8)),
    "cast": lambda f, r: degrade.colour_cast(f, TUNGSTEN),
    "focus": lambda f, r: degrade.focus_blur(f, r.uniform(1.0, 2.5)),
    "motion": lambda f, r: degrade.motion_blur(f, int(r.integers(3, 9)), r.uniform(0, 180)),
}


def _mixed_camera(frame, rng):
    names = list(_MIX_CAMERA)
    for i in sorted(rng.choice(len(names), size=int(rng.integers(2, 5)), replace=False)):
        frame = _MIX_CAMERA[names[i]](frame, rng)
    frame = degrade.noise(frame, rng.uniform(3, 10), rng)
    return degrade.jpeg(frame, int(rng.integers(20, 60)))


def _mixed_scene(frame, box, rng):
    if rng.random() < 0.5:
        x0, y0, s = box
        frame = degrade.rotate(frame, rng.uniform(-20, 20), (x0 + s / 2.0, y0 + s / 2.0))
    if rng.random() < 0.2:
        frame = degrade.hand(frame, box, rng)
    return frame


MIXED = Condition("mixed room", size=(150, 300), scene=[_mixed_scene], camera=[_mixed_camera], group=None)
CLEAN = Condition("clean", group=None)
CONDITIONS = [CLEAN, *SINGLE, MIXED]


def load_backgrounds(folder: Path | None) -> list[np.ndarray]:
    """The shared no-face pictures (when the folder has them) and three synthetic rooms."""
    found = []
    if folder is not None and folder.is_dir():
        # the cat (noface03) is left out: a large animal face is a detector's hard negative, not a room
        for p in sorted(folder.glob("noface*")):
            if "cat" in p.name:
                continue
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is not None:
                found.append(img)
    return found + synthetic_rooms()


def synthetic_rooms() -> list[np.ndarray]:
    """Three synthetic rooms: a lit wall gradient, furniture-sized boxes, mild texture."""
    rng = np.random.default_rng(1234)
    rooms = []
    for _ in range(3):
        y, x = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
        base = 60 + 120 * (x / FRAME_W) * rng.uniform(0.5, 1) + 40 * (y / FRAME_H)
        room = np.repeat(base[:, :, None], 3, axis=2) * rng.uniform(0.7, 1.1, 3).astype(np.float32)
        for _ in range(8):
            p0 = (int(rng.integers(0, FRAME_W)), int(rng.integers(0, FRAME_H)))
            p1 = (p0[0] + int(rng.integers(20, 200)), p0[1] + int(rng.integers(20, 150)))
            cv2.rectangle(room, p0, p1, rng.uniform(20, 230, 3).tolist(), -1)
        rooms.append(np.clip(room + rng.normal(0, 4, room.shape), 0, 255).astype(np.uint8))
    return rooms


def _background(backgrounds, rng) -> np.ndarray:
    bg = backgrounds[int(rng.integers(len(backgrounds)))]
    h, w = bg.shape[:2]
    scale = max(FRAME_W / w, FRAME_H / h) * rng.uniform(1.0, 1.4)
    big = cv2.resize(bg, (max(FRAME_W, math.ceil(w * scale)), max(FRAME_H, math.ceil(h * scale))),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x = int(rng.integers(0, big.shape[1] - FRAME_W + 1))
    y = int(rng.integers(0, big.shape[0] - FRAME_H + 1))
    return big[y:y + FRAME_H, x:x + FRAME_W].copy()


def upscale_face(face: np.ndarray, side: int) -> np.ndarray:
    """The 48x48 face at `side` px: cubic then a mild Gaussian when enlarging (see the module
    docstring), area averaging when shrinking."""
    if side <= FER_SIZE:
        return cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(big, (0, 0), 0.35 * side / FER_SIZE)


def place_face(face: np.ndarray, backgrounds, size, rng) -> tuple[np.ndarray, tuple[int, int, int]]:
    """A frame with the face square at a random place: (frame, (x0, y0, side))."""
    if isinstance(size, tuple):
        side = int(round(math.exp(rng.uniform(math.log(size[0]), math.log(size[1])))))
    else:
        side = int(size)
    frame = _background(backgrounds, rng)
    side = min(side, FRAME_H - 2)
    pad = max(0, int(0.25 * side))  # room for the detector's margin around the face
    x0 = int(rng.integers(min(pad, FRAME_W - side), max(min(pad, FRAME_W - side), FRAME_W - side - pad) + 1))
    y0 = int(rng.integers(min(pad, FRAME_H - side), max(min(pad, FRAME_H - side), FRAME_H - side - pad) + 1))
    patch = upscale_face(face, side).astype(np.float32)
    # feathered square: 1 inside, falling to 0 over the outer 12% of the side
    ramp = np.minimum(np.arange(side) + 0.5, side - np.arange(side) - 0.5) / max(1.0, 0.12 * side)
    ramp = np.clip(ramp, 0.0, 1.0)
    mask = np.minimum.outer(ramp, ramp)[:, :, None]
    roi = frame[y0:y0 + side, x0:x0 + side].astype(np.float32)
    frame[y0:y0 + side, x0:x0 + side] = np.clip(roi * (1 - mask) + patch[:, :, None] * mask, 0, 255).astype(np.uint8)
    return frame, (x0, y0, side)


def build_frames(cond: Condition, index: int, faces: np.ndarray, first: int, backgrounds, seed: int):
    frames, boxes = [], []
    for j, face in enumerate(faces):
        rng = np.random.default_rng([seed, index, first + j])
        frame, box = place_face(face, backgrounds, cond.size, rng)
        for op in cond.scene:
            frame = op(frame, box, rng)
        for op in cond.camera:
            frame = op(frame, rng)
        frames.append(frame)
        boxes.append(box)
    if cond.video is not None:
        frames = degrade.h264(frames, cond.video)
    return frames, boxes


def match(faces, box) -> object | None:
    """The detected face whose box centre lies inside the true face square (the most confident)."""
    x0, y0, s = box
    inside = [f for f in faces if x0 <= f.box[0] + f.box[2] / 2 <= x0 + s and y0 <= f.box[1] + f.box[3] / 2 <= y0 + s]
    return max(inside, key=lambda f: f.detection) if inside else None


def scores(labels: np.ndarray, preds: np.ndarray) -> dict:
    """Accuracy and macro-F1 with a missed face (pred -1) wrong for its class, and the detection rate."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    f1s = []
    for c in range(NUM_CLASSES):
        tp = int(((preds == c) & (labels == c)).sum())
        fp = int(((preds == c) & (labels != c)).sum())
        fn = int(((preds != c) & (labels == c)).sum())
        if tp + fp + fn:
            f1s.append(2 * tp / (2 * tp + fp + fn))
    found = preds >= 0
    return {"n": int(len(labels)), "accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
            "macro_f1": float(np.mean(f1s)) if f1s else 0.0, "detected": float(found.mean()) if len(labels) else 0.0,
            "accuracy_detected": float((preds[found] == labels[found]).mean()) if found.any() else 0.0}


def _label(expression) -> int:
    return int(np.argmax(list(expression.scores.values())))


def run(images: np.ndarray, labels: np.ndarray, models: list[str], detector: str | None = None, seed: int = 0,
        conditions: list[Condition] | None = None, backgrounds: list[np.ndarray] | None = None,
        threads: int = 2, progress=None, **recognizer_kwargs) -> dict:
    """{model: {condition: scores}} plus "ideal crop" per model; `models` are what Recognizer takes."""
    from fer_edge import Recognizer

    conditions = CONDITIONS if conditions is None else conditions
    backgrounds = load_backgrounds(BACKGROUNDS) if backgrounds is None else backgrounds
    kwargs = dict(recognizer_kwargs, **({} if detector is None else {"detector": detector}))
    recs = {m: Recognizer(model=m, threads=threads, smooth=0.0, **kwargs) for m in models}
    preds = {m: {c.name: [] for c in conditions} for m in models}
    true_box = {m: [] for m in models}
    try:
        ideal = {m: [_label(r.classify(f)) for f in images] for m, r in recs.items()}
        for ci, cond in enumerate(conditions):
            index = CONDITIONS.index(cond) if cond in CONDITIONS else 100 + ci
            t0 = time.perf_counter()
            for first in range(0, len(images), CHUNK):
                frames, boxes = build_frames(cond, index, images[first:first + CHUNK], first, backgrounds, seed)
                for m, rec in recs.items():
                    for frame, box in zip(frames, boxes):
                        if cond.name == "clean":  # the face's own square: no detector, no box error
                            x0, y0, side = box
                            true_box[m].append(_label(rec.classify(frame[y0:y0 + side, x0:x0 + side])))
                        rec.reset()
                        hit = match(rec.recognize(frame), box)
                        preds[m][cond.name].append(-1 if hit is None else int(np.argmax(hit.probs)))
            if progress:
                progress(f"{cond.name}: {time.perf_counter() - t0:.1f} s")
    finally:
        for r in recs.values():
            r.close()
    out = {}
    for m in models:
        rows = {"ideal crop": scores(labels, np.array(ideal[m]))}
        if true_box[m]:
            rows["true box"] = scores(labels, np.array(true_box[m]))
        rows.update({c.name: scores(labels, np.array(preds[m][c.name])) for c in conditions})
        for group, title in (("condition", "mean of conditions"), ("size", "mean of face sizes")):
            members = [rows[c.name] for c in conditions if c.group == group]
            if members:
                rows[title] = {k: float(np.mean([r[k] for r in members]))
                               for k in ("accuracy", "macro_f1", "detected", "accuracy_detected")}
        out[m] = rows
    return out


NO_DETECTOR = ("ideal crop", "true box")  # rows the classifier alone makes


def format_results(results: dict) -> str:
    from fer_edge.table import format_table

    parts = []
    for model, rows in results.items():
        clean = rows.get("clean", {}).get("accuracy")
        table = []
        for name, r in rows.items():
            delta = "" if clean is None else f"{100 * (r['accuracy'] - clean):+.1f}"
            det = "-" if name in NO_DETECTOR else f"{100 * r['detected']:.1f}"
            table.append([name, f"{100 * r['accuracy']:.1f}", delta, f"{100 * r['macro_f1']:.1f}", det,
                          f"{100 * r['accuracy_detected']:.1f}"])
        parts.append(f"model {model}\n" + format_table(
            ["condition", "accuracy %", "vs clean", "macro-F1 %", "detected %", "acc. of detected %"], table))
    return "\n\n".join(parts)


def markdown_compare(files: list[str]) -> str:
    """One markdown table of accuracy (detection rate in the first column) from --json files:
    a column per (file, model), a row per condition."""
    runs = [(Path(f).stem, json.loads(Path(f).read_text())) for f in files]
    cols = [(stem, model, res) for stem, run in runs for model, res in run["results"].items()]
    names = list(cols[0][2])
    det = cols[0][2]
    lines = ["| condition | detected % | " + " | ".join(f"{m} ({stem})" for stem, m, _ in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for name in names:
        d = "-" if name in NO_DETECTOR else f"{100 * det[name]['detected']:.1f}"
        cells = [f"{100 * res[name]['accuracy']:.1f}" if name in res else "" for _, _, res in cols]
        lines.append(f"| {name} | {d} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--compare"]:  # --compare A.json B.json ...: a markdown table of earlier runs
        print(markdown_compare(argv[1:]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="FER2013 (fer2013.tar.gz, .csv or a prepared .npz)")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("-n", type=int, default=1000, help="faces (a random sample of the split, seeded)")
    ap.add_argument("--models", default="fast,accurate,best", help="comma-separated model choices or .tflite files")
    ap.add_argument("--detector", default=defaults.DETECTOR, help="passed to Recognizer(detector=...)  [default: the pipeline's, %(default)s]")
    ap.add_argument("--conditions", default=None, help="comma-separated condition names (default: all)")
    ap.add_argument("--backgrounds", default=str(BACKGROUNDS), help="folder with noface* pictures ('' = synthetic)")
    ap.add_argument("--no-align", dest="align", action="store_false",
                    help="Recognizer(align=False): crop the detector's square unturned (the default before alignment)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the figures here")
    args = ap.parse_args(argv)

    from fer_edge.data.cache import load
    from fer_edge.errors import FerEdgeError

    try:
        split = load(args.data).split(args.split)
        order = np.random.default_rng(args.seed).permutation(len(split))[:args.n]
        conditions = CONDITIONS
        if args.conditions:
            want = [c.strip() for c in args.conditions.split(",")]
            unknown = [w for w in want if w not in {c.name for c in CONDITIONS}]
            if unknown:
                raise FerEdgeError(f"unknown condition(s) {unknown}; known: {[c.name for c in CONDITIONS]}")
            conditions = [c for c in CONDITIONS if c.name in want]
        if not degrade.video_available():
            print("ffmpeg not found: H.264 condition left out", file=sys.stderr)
            conditions = [c for c in conditions if c.video is None]
        backgrounds = load_backgrounds(Path(args.backgrounds) if args.backgrounds else None)
        t0 = time.perf_counter()
        results = run(split.images[order], split.labels[order], [m.strip() for m in args.models.split(",")],
                      args.detector, args.seed, conditions, backgrounds, args.threads,
                      progress=lambda s: print(s, file=sys.stderr, flush=True),
                      **({} if args.align else {"align": False}))
    except FerEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{len(order)} {args.split} faces, detector {args.detector}{'' if args.align else ', not aligned'}, "
          f"{len(backgrounds)} backgrounds, "
          f"seed {args.seed}, {time.perf_counter() - t0:.0f} s\n")
    print(format_results(results))
    if args.json:
        Path(args.json).write_text(json.dumps({"n": len(order), "split": args.split, "detector": args.detector,
                                               "align": args.align,
                                               "seed": args.seed, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
