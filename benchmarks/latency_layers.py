"""Where `ferfast`'s int8 time goes: the model cut after each stage, timed against its whole.

    python benchmarks/latency_layers.py [--rounds 5 --calls 1500 --threads 1]

Each cut keeps the layers up to a stage's last layer and ends in global average pooling and a
7-way dense layer (so every cut is a complete classifier); `input_only` is that ending on the
input alone (the invoke, quantisation and output cost every model pays). The differences between
consecutive rows are each stage's share. Untrained weights (latency does not depend on them),
converted to int8 by the project's converter with 200 random calibration faces, timed by
benchmarks/latency_ab.py (through latency_variants.py's `time_untrained`). Needs TensorFlow.
"""

from __future__ import annotations

from latency_variants import time_untrained, timing_args  # beside this file

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
    args = timing_args(__doc__.splitlines()[0], rounds=5)
    from fer_edge.train.complexity import count_macs

    time_untrained(cut_models(), lambda name, model: f"{name:16s} {count_macs(model):>12,} multiply-adds", args)


if __name__ == "__main__":
    main()
