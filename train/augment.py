"""Training-time augmentation as Keras 3 preprocessing layers (active only when training=True).

Mirroring, cropping (zoom-in), shifting and rotation, plus mild zoom-out and brightness/contrast
jitter. The layers sit in front of the model inside the training graph, so they run compiled on
any backend and the saved deployable model never contains them.
"""

from __future__ import annotations

import keras
from keras import layers


def build_augmenter(input_shape: tuple[int, int, int], seed: int = 0, strength: float = 1.0) -> keras.Sequential:
    """`strength` scales every geometric and photometric range (1.0: the ranges below; small
    models that underfit FER2013 do better with less)."""
    s = strength
    return keras.Sequential(
        [
            keras.Input(input_shape),
            layers.RandomFlip("horizontal", seed=seed),
            layers.RandomRotation(s * 10 / 360, fill_mode="nearest", seed=seed + 1),
            layers.RandomTranslation(s * 0.1, s * 0.1, fill_mode="nearest", seed=seed + 2),
            # negative factors zoom in: a random crop of 80-100% of the face, resized back
            layers.RandomZoom((-0.2 * s, 0.1 * s), fill_mode="nearest", seed=seed + 3),
            layers.RandomBrightness(0.15 * s, value_range=(0.0, 255.0), seed=seed + 4),
            # (lower, upper) spelled out: Keras 3 clips a single factor's lower side to 0, so that
            # contrast only ever rose (x1.0-1.2) in the models trained before this was found
            layers.RandomContrast((0.2 * s, 0.2 * s), value_range=(0.0, 255.0), seed=seed + 5),
        ],
        name="augment",
    )


def compile_augmenter_on_jax(wrapper: keras.Model) -> None:
    """Let JAX compile a training model whose `augment` layers Keras marks as not compilable.

    Keras flags its rotation, translation and zoom layers `supports_jit = False` on every backend
    because TensorFlow's image-transform op has no XLA kernel; on JAX they are plain jnp ops that
    compile fine. Left flagged, fit runs the whole train step op by op: about 2 s per batch on an
    H200 instead of milliseconds. The flag is not saved, so a reloaded (resumed) model needs this too.
    """
    if keras.backend.backend() != "jax" or "augment" not in {layer.name for layer in wrapper.layers}:
        return
    for layer in wrapper.get_layer("augment").layers:
        layer.supports_jit = True
    wrapper.jit_compile = True


def _generators(wrapper: keras.Model) -> list:
    if "augment" not in {layer.name for layer in wrapper.layers}:
        return []
    return [layer.generator for layer in wrapper.get_layer("augment").layers if getattr(layer, "generator", None)]


def augment_seed_states(wrapper: keras.Model) -> list[list[int]]:
    """Where each augmentation layer's random stream stands. A saved model does not keep it, so a
    resumed run would replay the draws of its first epochs; the run's state file keeps it instead."""
    return [[int(v) for v in keras.ops.convert_to_numpy(g.state)] for g in _generators(wrapper)]


def restore_augment_seed_states(wrapper: keras.Model, states: list[list[int]] | None) -> None:
    generators = _generators(wrapper)
    # A state file from another run or hand-edited: the streams start afresh rather than fail.
    if states and len(states) == len(generators) and all(len(s) == g.state.shape[0] for g, s in zip(generators, states)):
        for g, state in zip(generators, states):
            g.state.assign(keras.ops.convert_to_tensor(state, dtype=g.state.dtype))
