"""Multiply-accumulate count of a Keras model (conv, depthwise and dense layers), for model cards."""

from __future__ import annotations

import numpy as np


def count_macs(model) -> int:
    from keras import layers

    total = 0
    for layer in _flat_layers(model):
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)):
            out_shape = layer.output.shape
            spatial = int(np.prod(out_shape[1:-1])) if len(out_shape) > 2 else 1
            # kernel is (kh, kw, cin, cout) or, depthwise, (kh, kw, cin, multiplier): one MAC per weight per position
            total += spatial * int(np.prod(layer.kernel.shape))
    return total


def _flat_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _flat_layers(layer)
        else:
            yield layer
