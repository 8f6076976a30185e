"""Start a wider `ferfast` variant from a trained `ferfast` (an experiment, like ferfast_variant.py):
its weights copied into a model with WIDTH channels at 6 px, the new channels silent (zero weights
out of them), so that without --stride2-stem the wider model gives the same outputs.

    python recipes/ferfast_widen.py models/ferfast.keras 152 runs/wide152_init.keras [--stride2-stem]
    python recipes/ferfast_variant.py 16/2,32,64,152x152 --model ferfast --init runs/wide152_init.keras ...

--stride2-stem puts the first convolution's weights into the stride-2 stem of ferfast_variant.py's
`16/2,...` layouts (outputs then differ: the stem no longer pools).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

GRID = 3  # ferfast flattens a 3x3 grid of its last channels into the dense layer


def widen(source, width: int, stride2_stem: bool):
    from fer_edge.train.models import build_ferfast_stages

    from fer_edge.train.reparam import is_branched

    if "conv5_conv" not in {layer.name for layer in source.layers}:
        raise ValueError(f"{source.name} is not a ferfast model (no conv5_conv)")
    if is_branched(source):  # only its 3x3 branch would be copied
        raise ValueError("the source holds RepVGG training branches; widen the run's folded ferfast.keras")
    old_width = source.get_layer("conv5_conv").filters
    if width < old_width:
        raise ValueError(f"{width} channels is narrower than the source's {old_width}")
    wide = build_ferfast_stages(((16,), (32,), (64,), (width, width)), stride2_stem=stride2_stem)
    for layer in wide.layers:
        if not layer.weights:
            continue
        fresh = [np.asarray(w).copy() for w in layer.get_weights()]
        trained = [np.asarray(w) for w in source.get_layer(layer.name).get_weights()]
        if layer.name == "conv5_conv":  # new input channels silent; new filters start small
            kernel = fresh[0] * 0.1
            kernel[:, :, old_width:, :old_width] = 0.0
            kernel[:, :, :old_width, :old_width] = trained[0]
            fresh[0] = kernel
        elif layer.name == "fc":  # rows of the flattened (row, column, channel) grid; new channels' rows 0
            kernel = np.zeros((GRID, GRID, width, fresh[0].shape[-1]), fresh[0].dtype)
            kernel[:, :, :old_width] = trained[0].reshape(GRID, GRID, old_width, -1)
            fresh = [kernel.reshape(fresh[0].shape), trained[1]]
        else:  # the same shape, or new output channels (conv4 and the BNs) that keep their fresh values
            for dst, src in zip(fresh, trained):
                dst[tuple(slice(0, n) for n in src.shape)] = src
        layer.set_weights(fresh)
    return wide


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source")
    ap.add_argument("width", type=int)
    ap.add_argument("output")
    ap.add_argument("--stride2-stem", action="store_true")
    args = ap.parse_args()
    from fer_edge.errors import FerEdgeError
    from fer_edge.keras_files import import_keras, load_keras_file
    from fer_edge.train.rundir import save_keras

    import_keras()
    try:
        source = load_keras_file(args.source, "model to widen")
        wide = widen(source, args.width, args.stride2_stem)
    except (FerEdgeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    save_keras(wide, args.output)
    print(f"{args.output}: {wide.count_params():,} parameters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
