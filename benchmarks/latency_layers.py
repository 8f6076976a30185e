"""Where `ferfast`'s int8 time goes: the model cut after each stage, timed against its whole.

    python benchmarks/latency_layers.py [--rounds 5 --calls 1500 --threads 1]

Each cut keeps the layers up to a stage's last layer and ends in global average pooling and a
7-way dense layer (so every cut is a complete classifier); `input_only` is that ending on the
input alone (the invoke, quantisation and output cost every model pays). The differences between
consecutive rows are each stage's share. Untrained weights (latency does not depend on them),
converted to int8 by the project's converter with 200 random calibration faces, timed by
benchmarks/latency_ab.py. Needs TensorFlow.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CUTS = ("conv1_pool", "conv2_pool", "conv3_pool", "conv4_relu", "conv5_pool")


def cut_models() -> dict:
    import keras
    from keras import layers

    from fer_edge.train.models import build_ferfast

    def ending(x):
        x = layers.GlobalAveragePooling2D()(x)
        return layers.Dense(7, activation="softmax")(x)

    full = build_ferfast()
    inputs = keras.Input(full.inputs[0].shape[1:])
    cuts = {"input_only": keras.Model(inputs, ending(layers.Rescaling(1.0 / 255.0)(inputs)))}
    for name in CUTS:
        cuts[f"to_{name}"] = keras.Model(full.inputs, ending(full.get_layer(name).output))
    cuts["ferfast"] = full
    return cuts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1500)
    ap.add_argument("--threads", default="1")
    args = ap.parse_args()
    from fer_edge.keras_files import import_keras

    import_keras()  # TensorFlow's start-up chatter held back, as in the CLI
    from fer_edge.convert.converter import convert_keras
    from fer_edge.train.complexity import count_macs

    faces = np.random.default_rng(0).integers(0, 256, (200, 48, 48, 1), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, model in cut_models().items():
            out = Path(tmp) / f"{name}.tflite"
            convert_keras(model, "int8", out, faces, name=name)
            paths.append(str(out))
            print(f"{name:16s} {count_macs(model):>12,} multiply-adds", flush=True)
        subprocess.run([sys.executable, str(HERE / "latency_ab.py"), *paths, "--rounds", str(args.rounds),
                        "--calls", str(args.calls), "--threads", args.threads], check=True)


if __name__ == "__main__":
    main()
