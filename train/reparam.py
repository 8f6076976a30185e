"""Structural re-parameterisation (RepVGG, Ding et al. 2021) for ferfast.

A plain 3x3 Conv-BN-ReLU stack trains worse than a multi-branch one, but runs faster. So training
uses, in place of each 3x3 Conv-BN, the sum of three branches: 3x3 Conv-BN, 1x1 Conv-BN and, where
the channels match, BN alone (identity). All three are linear once BN's statistics are frozen, so
after training they fold into one 3x3 convolution: `fuse` returns the plain ferfast model, with the
same outputs, the same graph and therefore the same int8 latency on the device.

The branches are ordinary Keras layers (no custom layer), so the training form saves, loads and
trains on every backend; the main branch keeps the plain model's layer names, so a plain model's
weights start a branched one (`init_from_plain`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

BRANCH_SUFFIXES = ("_1x1", "_1x1_bn", "_id_bn")


def rep_conv_bn_relu(x, filters: int, name: str):
    """Training form of `_conv_bn_relu`: 3x3 Conv-BN + 1x1 Conv-BN (+ BN identity) summed, then ReLU."""
    branches = [
        layers.BatchNormalization(name=f"{name}_bn")(
            layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)),
        layers.BatchNormalization(name=f"{name}_1x1_bn")(
            layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1x1")(x)),
    ]
    if x.shape[-1] == filters:
        branches.append(layers.BatchNormalization(name=f"{name}_id_bn")(x))
    x = layers.Add(name=f"{name}_sum")(branches)
    return layers.ReLU(name=f"{name}_relu")(x)


def is_branched(model: keras.Model) -> bool:
    return any(layer.name.endswith("_1x1") for layer in model.layers)


def _bn_scale_shift(bn) -> tuple[np.ndarray, np.ndarray]:
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
    scale = gamma / np.sqrt(var + bn.epsilon)
    return scale, beta - mean * scale


def _folded(model: keras.Model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One 3x3 kernel and bias equal to the branches of conv `name` in inference mode."""
    kernel3 = np.asarray(model.get_layer(f"{name}_conv").kernel, np.float64)
    scale, shift = _bn_scale_shift(model.get_layer(f"{name}_bn"))
    kernel, bias = kernel3 * scale, shift.copy()
    names = {layer.name for layer in model.layers}
    if f"{name}_1x1" in names:
        kernel1 = np.asarray(model.get_layer(f"{name}_1x1").kernel, np.float64)
        scale, shift = _bn_scale_shift(model.get_layer(f"{name}_1x1_bn"))
        kernel[1:2, 1:2] += kernel1 * scale  # a 1x1 kernel is a 3x3 one with zeros around its centre
        bias += shift
    if f"{name}_id_bn" in names:
        scale, shift = _bn_scale_shift(model.get_layer(f"{name}_id_bn"))
        channels = kernel.shape[-1]
        kernel[1, 1, np.arange(channels), np.arange(channels)] += scale  # identity: 1 at the centre, channel to itself
        bias += shift
    return kernel, bias


def fuse(branched: keras.Model, plain: keras.Model, faces: np.ndarray | None = None) -> keras.Model:
    """Fold `branched`'s branches into `plain` (a freshly built plain model of the same layout) and
    return it. Each folded conv gets the whole kernel, and its BN passes the bias through: with
    `faces` (model input), BN holds the statistics of the conv's output on them, so that BN in
    training mode (batch statistics) also gives about the same outputs and the plain model trains on
    from where the branched one stood; without, gamma 1, mean 0, variance 1 - epsilon (inference only)."""
    folded = [layer.name.removesuffix("_conv") for layer in plain.layers
              if isinstance(layer, layers.Conv2D) and not isinstance(layer, layers.DepthwiseConv2D)]
    for layer in plain.layers:
        name = layer.name.removesuffix("_conv")
        if name in folded:
            kernel, bias = _folded(branched, name)
            layer.set_weights([kernel.astype(np.float32)])
            bn = plain.get_layer(f"{name}_bn")
            bn.set_weights([np.ones_like(bias, np.float32), bias.astype(np.float32),
                            np.zeros_like(bias, np.float32), np.full_like(bias, 1.0 - bn.epsilon, np.float32)])
        elif layer.weights and layer.name.removesuffix("_bn") not in folded:
            layer.set_weights(branched.get_layer(layer.name).get_weights())
    if faces is not None:
        _match_batch_statistics(plain, folded, faces)
    return plain


def _match_batch_statistics(plain: keras.Model, convs: list[str], faces: np.ndarray) -> None:
    """BN(z) = gamma (z - mean) / sqrt(var + eps) + beta with mean, var the conv output's statistics,
    gamma sqrt(var + eps) and beta bias + mean is still z + bias in inference, and close to it in
    training mode, where the batch's own statistics stand in for mean and var."""
    probe = keras.Model(plain.inputs, [plain.get_layer(f"{name}_conv").output for name in convs])
    outputs = probe.predict(faces, batch_size=256, verbose=0)
    for name, z in zip(convs, outputs if isinstance(outputs, list) else [outputs]):
        z = np.asarray(z, np.float64)
        mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
        bn = plain.get_layer(f"{name}_bn")
        bias = np.asarray(bn.beta, np.float64)
        bn.set_weights([np.sqrt(var + bn.epsilon).astype(np.float32), (bias + mean).astype(np.float32),
                        mean.astype(np.float32), var.astype(np.float32)])


def init_from_plain(branched: keras.Model, plain: keras.Model) -> None:
    """Start a branched model from a trained plain one: shared layers copied by name, the extra
    branches switched off (their BN gamma 0), so it starts with the plain model's outputs."""
    for layer in branched.layers:
        if not layer.weights:
            continue
        if layer.name.endswith(BRANCH_SUFFIXES):
            if isinstance(layer, layers.BatchNormalization):
                weights = layer.get_weights()
                weights[0] = np.zeros_like(weights[0])
                layer.set_weights(weights)
            continue
        layer.set_weights(plain.get_layer(layer.name).get_weights())
