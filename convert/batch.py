"""Keep a batch-1 trace resizable to any batch.

The converter traces the model with a fixed [1, S, S, C] input so the file has static shapes and
no shape-arithmetic ops (what integer-only accelerators need). Keras' Flatten and Reshape read the
batch size from the traced shape, so a batch-1 trace bakes `reshape(x, [1, n])` into the file and
the runtime could then never classify several faces in one invoke. Swapping them for equivalent
layers that reshape to -1 keeps the batch free. The swap shares every weight with the original.
"""

from __future__ import annotations

import math

import keras


class _AnyBatchReshape(keras.layers.Layer):
    """Reshape of everything after the batch axis to `target_shape`, the batch axis left as -1."""

    def __init__(self, target_shape: tuple[int, ...], **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)

    def call(self, x):
        return keras.ops.reshape(x, (-1, *self.target_shape))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.target_shape)


def _static_target(layer, input_shape) -> tuple[int, ...] | None:
    dims = tuple(input_shape[1:])
    if any(d is None for d in dims):
        return None
    if isinstance(layer, keras.layers.Flatten):
        if getattr(layer, "data_format", "channels_last") == "channels_first" and len(dims) > 1:
            return None  # transposes before flattening; leave it alone
        return (math.prod(dims),)
    target = tuple(layer.target_shape)
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target = tuple(math.prod(dims) // known if d == -1 else d for d in target)
    return target


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)


def batch_free(model):
    """`model`, or a copy sharing its weights in which Flatten/Reshape no longer fix the batch size."""
    swappable = (keras.layers.Flatten, keras.layers.Reshape)
    if not any(isinstance(layer, swappable) for layer in _all_layers(model)):
        return model

    def swap(layer):
        if isinstance(layer, swappable):
            try:
                target = _static_target(layer, layer.input.shape)
            except (AttributeError, ValueError):  # a layer called more than once has no single input
                target = None
            if target is not None:
                return _AnyBatchReshape(target, name=layer.name)
        return layer  # the same layer object: weights shared, nothing re-initialised

    try:
        return keras.models.clone_model(model, clone_function=swap, recursive=True)
    except Exception:  # subclassed models cannot be cloned; they convert as they are
        return model
