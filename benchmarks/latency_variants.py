"""What extra capacity would cost `ferfast` in int8 latency: wider or deeper variants, random weights
(two that move a convolution to a higher resolution at about the same cost, and a stride-2 stem).

    python benchmarks/latency_variants.py [--rounds 4 --calls 1500 --threads 1]

Each variant is built untrained (latency does not depend on the weights), converted to full-integer
int8 with 200 random calibration faces by the project's own converter, and timed with
benchmarks/latency_ab.py against `ferfast` as built (first row) and the baseline. Needs TensorFlow.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent


def variants() -> dict:
    from fer_edge.train.models import build_baseline, build_ferfast, build_ferfast_stages as stages

    ferfast = ((16,), (32,), (64,), (128, 128))
    return {
        "ferfast": build_ferfast(),
        "baseline": build_baseline(),
        "second_64_at_12px": stages(((16,), (32,), (64, 64), (128, 128))),
        "192_at_6px": stages(((16,), (32,), (64,), (192, 192))),
        "third_128_at_6px": stages(((16,), (32,), (64,), (128, 128, 128))),
        "second_32_at_24px": stages(((16,), (32, 32), (64,), (128, 128))),
        "wider_early_24_48_96": stages(((24,), (48,), (96,), (128, 128))),
        "dense_512": stages(ferfast, head=512),
        # the same arithmetic moved to a higher resolution: one 128@6 conv traded for a second conv there
        "moved_to_64x2_at_12px": stages(((16,), (32,), (64, 64), (128,))),
        "moved_to_32x2_at_24px": stages(((16,), (32, 32), (64,), (128,))),
        # a stride-2 first convolution in place of the full-resolution one and its pooling, and what
        # the time it saves buys at 6 px
        "stride2_stem": stages(ferfast, stride2_stem=True),
        "stride2_stem_144_at_6px": stages(((16,), (32,), (64,), (144, 144)), stride2_stem=True),
        "stride2_stem_152_at_6px": stages(((16,), (32,), (64,), (152, 152)), stride2_stem=True),
    }


def timing_args(description: str, rounds: int) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()
    from fer_edge.keras_files import import_keras

    import_keras()  # TensorFlow's start-up chatter held back, as in the CLI
    return args


def time_untrained(models: dict, describe: Callable, args: argparse.Namespace) -> None:
    """Convert each model to int8 with 200 random calibration faces (the project's converter), print
    `describe(name, model)` for it, then time them all with latency_ab.py, the first as reference."""
    from fer_edge.convert.converter import convert_keras

    faces = np.random.default_rng(0).integers(0, 256, (200, 48, 48, 1), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, model in models.items():
            out = Path(tmp) / f"{name}.tflite"
            convert_keras(model, "int8", out, faces, name=name)
            paths.append(str(out))
            print(describe(name, model), flush=True)
        subprocess.run([sys.executable, str(HERE / "latency_ab.py"), *paths, "--rounds", str(args.rounds),
                        "--calls", str(args.calls), "--threads", args.threads], check=True)


def main() -> None:
    args = timing_args(__doc__.splitlines()[0], rounds=4)
    time_untrained(variants(), lambda name, model: f"{name:24s} {model.count_params():>9,} parameters", args)


if __name__ == "__main__":
    main()
