"""Train a `ferfast` with other stage widths through the real `fer-edge train` (an experiment: the
shipped models use `build_ferfast` as it is). The first argument gives the stages: comma-separated,
each an `x`-joined list of convolution widths before its 2x2 pooling; ferfast itself is 16,32,64,128x128.

    python recipes/ferfast_variant.py 16,32,64x64,128 --model ferfast --data fer2013.tar.gz --out runs/v ...

Everything after the stages is `fer-edge train`'s own options. Its int8 latency:
`python benchmarks/latency_variants.py` (the same stage layouts).
"""

import sys


def parse_stages(text: str) -> tuple[tuple[int, ...], ...]:
    try:
        stages = tuple(tuple(int(w) for w in stage.split("x")) for stage in text.split(","))
    except ValueError:
        stages = ()
    if not stages or any(not stage or min(stage) < 1 for stage in stages):
        sys.exit(f"error: stages like 16,32,64x64,128 expected, got {text!r}")
    return stages


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    stages = parse_stages(sys.argv[1])
    from fer_edge.keras_files import import_keras

    import_keras()
    import fer_edge.train.models as models
    from fer_edge.cli import main as cli_main

    models.MODELS["ferfast"] = (lambda **_: models.build_ferfast_stages(stages), 48, 1)
    sys.argv = ["fer-edge", "train", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
