"""Model builders, chosen by name. Keras 3 layers only, so they build on TensorFlow, JAX or PyTorch.

Every model takes raw grey levels 0..255 (see fer_edge.faces.face_input) and scales them inside
the graph, so the converted int8 model's input quantisation is exact and the device side needs
no normalisation constants.
"""

from __future__ import annotations

from typing import Callable

import keras
from keras import layers

from fer_edge.labels import NUM_CLASSES
from fer_edge.train.reparam import rep_conv_bn_relu

# VGG-Face's ResNet50 was trained on BGR images minus these per-channel means.
VGGFACE_BGR_MEANS = (91.4953, 103.8827, 131.0912)


def _conv_bn_relu(x, filters: int, name: str, strides: int = 1):
    x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def build_baseline(input_size: int = 48) -> keras.Model:
    """The original project's baseline CNN (arXiv 2004.11823 style): four Conv-BN-ReLU-MaxPool
    blocks (32, 32, 64, 64), Dense 1024, Dropout 0.5, softmax over 7."""
    inputs = keras.Input((input_size, input_size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for i, filters in enumerate((32, 32, 64, 64), start=1):
        x = _conv_bn_relu(x, filters, f"block{i}")
        x = layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1024, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="baseline")


def _sep_bn_relu(x, filters: int, name: str):
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = layers.ReLU(name=f"{name}_dw_relu")(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    x = layers.BatchNormalization(name=f"{name}_pw_bn")(x)
    return layers.ReLU(name=f"{name}_pw_relu")(x)


def _residual_stage(x, filters: int, name: str):
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_proj")(x)
        shortcut = layers.BatchNormalization(name=f"{name}_proj_bn")(shortcut)
    x = _sep_bn_relu(x, filters, f"{name}_a")
    x = _sep_bn_relu(x, filters, f"{name}_b")
    return layers.Add(name=f"{name}_add")([x, shortcut])


def build_ferlite(input_size: int = 48, width: int = 32, stem_convs: int = 1) -> keras.Model:
    """Edge model: a full 3x3 stem at 48x48, then residual depthwise-separable stages that double
    the channels at each halving (48 -> 24 -> 12 -> 6), global average pooling and one dense layer.
    Depthwise-separable convolutions give far more channels (and accuracy) per multiply than the
    baseline's full convolutions, and average pooling replaces its 0.6 M-parameter dense layer."""
    inputs = keras.Input((input_size, input_size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for i in range(1, stem_convs + 1):
        x = _conv_bn_relu(x, width // 2, f"stem{i}")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    for i, mult in enumerate((2, 4, 8), start=1):
        x = _residual_stage(x, width * mult, f"stage{i}")
        if i < 3:
            x = layers.MaxPooling2D(2, name=f"stage{i}_pool")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="ferlite")


def build_ferfast(input_size: int = 48, width: int = 128, head: int = 256, branched: bool = False) -> keras.Model:
    """Edge model tuned for int8 latency on XNNPACK: plain 3x3 Conv-BN-ReLU only (depthwise
    convolutions cost ferlite more time per multiply than they save), few channels at full
    resolution and the width at 6x6 where it is cheap: 16@48 -> 32@24 -> 64@12 -> 128,128@6,
    then a 3x3 grid kept as features (face layout matters: mouth and brows sit in fixed places)
    into a small dense head. ~14 M multiply-adds, like the baseline's ~10 M. `width` sets the two
    6x6 convolutions (128: 13.9 M multiply-adds; 112: 12.3 M). `branched`: the training form with
    RepVGG branches (train/reparam.py), folded into this plain model after training."""
    return build_ferfast_stages(((16,), (32,), (64,), (width, width)), head, input_size, branched)


def build_ferfast_stages(stages: tuple[tuple[int, ...], ...], head: int = 256, input_size: int = 48,
                         branched: bool = False, stride2_stem: bool = False) -> keras.Model:
    """ferfast's layout with any widths (what benchmarks/latency_variants.py times): per stage, a
    Conv3x3-BN-ReLU per width, then 2x2 max pooling; the flattened grid into a dense head.
    `stride2_stem`: the first stage is one stride-2 convolution without pooling (on XNNPACK int8 a
    full-resolution convolution from one grey channel costs 17% of ferfast's time for 2% of its
    multiply-adds)."""
    if stride2_stem and (branched or len(stages[0]) != 1):
        raise ValueError("a stride-2 stem is one convolution, without RepVGG branches")
    conv = rep_conv_bn_relu if branched else _conv_bn_relu
    inputs = keras.Input((input_size, input_size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    k = 0
    for i, widths in enumerate(stages):
        if i == 0 and stride2_stem:
            k += 1
            x = _conv_bn_relu(x, widths[0], f"conv{k}", strides=2)
            continue
        for filters in widths:
            k += 1
            x = conv(x, filters, f"conv{k}")
        x = layers.MaxPooling2D(2, name=f"conv{k}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(head, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="ferfast")


def build_fervgg(input_size: int = 48, width: int = 48, head: int = 256) -> keras.Model:
    """Teacher for distillation, host only (too slow for the edge): VGG-style, two 3x3
    Conv-BN-ReLU per stage at width, 2x, 4x, 8x channels on 48, 24, 12 and 6 px (the design that
    reaches ~73% on FER2013 in Khaireddin & Chen 2021, slimmed), dropout after each stage, then the
    3x3 grid into a dense head. width 48: 3.5 M parameters, 264 M multiply-adds."""
    inputs = keras.Input((input_size, input_size, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    for i, mult in enumerate((1, 2, 4, 8), start=1):
        x = _conv_bn_relu(x, width * mult, f"stage{i}a")
        x = _conv_bn_relu(x, width * mult, f"stage{i}b")
        x = layers.MaxPooling2D(2, name=f"stage{i}_pool")(x)
        x = layers.Dropout(0.05 * i, name=f"stage{i}_dropout")(x)  # more where the channels are many
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(head, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="fervgg")


def build_resnet50(input_size: int = 197, weights_file: str | None = None) -> keras.Model:
    """ResNet50 backbone at 197x197x3 with a small classifier head.

    Grey faces are replicated to 3 channels (so BGR and RGB are the same image); the model
    subtracts VGG-Face's BGR means in-graph. With `weights_file` (rcmalli's VGG-Face no-top
    ResNet50, checked by sha256) the backbone starts from face-recognition features.
    """
    from fer_edge.train.resnet50 import build_backbone, load_vggface_weights

    inputs = keras.Input((input_size, input_size, 3), name="face")
    x = layers.Normalization(mean=list(VGGFACE_BGR_MEANS), variance=[1.0, 1.0, 1.0], name="vggface_means")(inputs)
    backbone = build_backbone(input_size)
    if weights_file:
        load_vggface_weights(backbone, weights_file)
    x = backbone(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(1024, activation="relu", name="fc")(x)
    x = layers.Dropout(0.5, name="dropout")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="resnet50")


# name -> (builder, input size, channels)
MODELS: dict[str, tuple[Callable[..., keras.Model], int, int]] = {
    "baseline": (build_baseline, 48, 1),
    "ferlite": (build_ferlite, 48, 1),
    "ferfast": (build_ferfast, 48, 1),
    "fervgg": (build_fervgg, 48, 1),
    "resnet50": (build_resnet50, 197, 3),
}
