"""Expression accuracy through each detector's crop: does changing the detector cost accuracy?

FER2013 images (PublicTest by default) are upscaled and framed by a plain border, as in
benchmarks/calibrate_crop_margin.py, so each detector sees a face with surroundings. Each detector
finds the face; the runtime's crop (fer_edge.faces.crop_square with the detector's margin and
shift, as edge/pipeline.py chooses them) goes to the default expression model. Printed per
detector: faces found, accuracy on those through the detector's crop, through BlazeFace's
constants (what the crop would be uncalibrated), and the model on the same images' own 48x48
pixels (the ceiling).

    python benchmarks/crop_accuracy.py ../shared/datasets/fer2013/fer2013.tar.gz [-n 2000] \
        [--detectors yunet,blazeface]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fer_edge.data.cache import load
from fer_edge.edge.detect import make_detector
from fer_edge.edge.ensemble import load_classifier
from fer_edge.faces import DEFAULT_MARGIN, DEFAULT_SHIFT, FER_SIZE, crop_square, faces_batch
from fer_edge.paths import default_model

sys.path.insert(0, str(Path(__file__).parent))
from calibrate_crop_margin import framed, nearest_centre  # noqa: E402  (the same framing the margins were calibrated on)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="FER2013 source (fer2013.tar.gz, CSV, folder or .npz cache)")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("-n", "--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=4, help="upscale factor (48 -> 192 px)")
    ap.add_argument("--pad", type=float, default=0.5, help="border per side, a fraction of the image side")
    ap.add_argument("--detectors", default="yunet,blazeface")
    args = ap.parse_args(argv)

    part = load(args.data).split(args.split)
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(part), size=min(args.samples, len(part)), replace=False))
    images, labels = part.images[idx], np.asarray(part.labels)[idx]
    side = FER_SIZE * args.scale
    pad = int(round(args.pad * side))
    classifier = load_classifier([default_model()], 2)
    info = classifier.info

    def predict(crops: list[np.ndarray]) -> np.ndarray:
        out = [classifier.predict(faces_batch(crops[i:i + 64], info.input_size, info.channels))
               for i in range(0, len(crops), 64)]
        return np.concatenate(out).argmax(axis=1)

    own = predict(list(images))
    print(f"{default_model().name}, {args.split}: {len(idx)} images (seed {args.seed}), {side}x{side} + {pad} px "
          f"border; own 48x48 pixels: accuracy {np.mean(own == labels):.4f}")
    for name in args.detectors.split(","):
        with make_detector(name, 0.5, threads=2) as det:
            margin, shift = getattr(det, "crop", None) or (info.crop_margin, info.crop_shift)
            found, calibrated, uncalibrated = [], [], []
            centre = pad + side / 2.0
            for i, img in enumerate(images):
                frame = framed(img, side, pad)
                dets = det.detect(frame)
                if not dets:
                    continue
                d = nearest_centre(dets, centre)
                found.append(i)
                calibrated.append(crop_square(frame, d.box, margin, shift))
                uncalibrated.append(crop_square(frame, d.box, DEFAULT_MARGIN, DEFAULT_SHIFT))
            found = np.asarray(found)
            truth = labels[found]
            print(f"{name:<10} found {len(found)}/{len(idx)}; crop margin {margin:+.2f} shift {shift:+.2f}: "
                  f"accuracy {np.mean(predict(calibrated) == truth):.4f}; BlazeFace's {DEFAULT_MARGIN:+.2f}/"
                  f"{DEFAULT_SHIFT:+.2f}: {np.mean(predict(uncalibrated) == truth):.4f}; own pixels on the same "
                  f"images: {np.mean(own[found] == truth):.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
