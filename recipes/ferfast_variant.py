"""Train a `ferfast` with other stage widths through the real `fer-edge train` (an experiment: the
shipped models use `build_ferfast` as it is). The first argument gives the stages: comma-separated,
each an `x`-joined list of convolution widths before its 2x2 pooling; ferfast itself is 16,32,64,128x128.
A first stage written `16/2` is one stride-2 convolution in place of a convolution and its pooling.

    python recipes/ferfast_variant.py 16,32,64x64,128 --model ferfast --data fer2013.tar.gz --out runs/v ...

Everything after the stages is `fer-edge train`'s own options. Its int8 latency:
`python benchmarks/latency_variants.py` (the same stage layouts).
"""

import sys


def parse_stages(text: str) -> tuple[tuple[tuple[int, ...], ...], bool]:
    """(stages, stride-2 stem) from e.g. '16,32,64x64,128' or '16/2,32,64,152x152'."""
    stride2_stem = text.split(",")[0].endswith("/2")
    try:
        stages = tuple(tuple(int(w) for w in stage.split("x"))
                       for stage in text.replace("/2", "", 1 if stride2_stem else 0).split(","))
    except ValueError:
        stages = ()
    if (not stages or any(not stage or min(stage) < 1 for stage in stages)
            or (stride2_stem and len(stages[0]) != 1)):
        sys.exit(f"error: stages like 16,32,64x64,128 or 16/2,32,64,152x152 expected, got {text!r}")
    return stages, stride2_stem


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    stages, stride2_stem = parse_stages(sys.argv[1])
    if "--reparam" in sys.argv[2:] or "--width" in sys.argv[2:]:  # the stages fix the layout; no branched form
        sys.exit("error: --reparam and --width do not apply to a variant (its stages give the widths)")
    from fer_edge.keras_files import import_keras

    import_keras()
    import fer_edge.train.models as models
    from fer_edge.cli import main as cli_main

    models.MODELS["ferfast"] = (lambda **_: models.build_ferfast_stages(stages, stride2_stem=stride2_stem), 48, 1)
    sys.argv = ["fer-edge", "train", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
