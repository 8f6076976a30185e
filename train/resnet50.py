"""ResNet50 as in VGG-Face (rcmalli/keras-vggface), so its published no-top weights load by name.

It differs from keras.applications.ResNet50 in layer names and in having no conv biases, hence
its own definition. Weights come only from a file the user supplies, checked by sha256: nothing is
downloaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
import numpy as np
from keras import layers

from fer_edge.errors import FerEdgeError

VGGFACE_FILE = "rcmalli_vggface_tf_notop_resnet50.h5"
VGGFACE_SIZE = 94_694_792
VGGFACE_SHA256 = "ad81577b744b2c8cc60cfb953747670cef18c3eed56ffff6007a00088614b14f"


def keras_name(vggface_name: str) -> str:
    """Keras 3 forbids '/' in layer names, which VGG-Face's use ('conv1/7x7_s2/bn')."""
    return vggface_name.replace("/", "__")


def _bottleneck(x, filters, stage: int, block: int, strides: int = 1, project: bool = False):
    f1, f2, f3 = filters
    base = f"conv{stage}_{block}"
    shortcut = x
    y = layers.Conv2D(f1, 1, strides=strides, use_bias=False, name=keras_name(f"{base}_1x1_reduce"))(x)
    y = layers.BatchNormalization(name=keras_name(f"{base}_1x1_reduce/bn"))(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(f2, 3, padding="same", use_bias=False, name=keras_name(f"{base}_3x3"))(y)
    y = layers.BatchNormalization(name=keras_name(f"{base}_3x3/bn"))(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(f3, 1, use_bias=False, name=keras_name(f"{base}_1x1_increase"))(y)
    y = layers.BatchNormalization(name=keras_name(f"{base}_1x1_increase/bn"))(y)
    if project:
        shortcut = layers.Conv2D(f3, 1, strides=strides, use_bias=False, name=keras_name(f"{base}_1x1_proj"))(x)
        shortcut = layers.BatchNormalization(name=keras_name(f"{base}_1x1_proj/bn"))(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def build_backbone(input_size: int = 197) -> keras.Model:
    """VGG-Face ResNet50 without its classifier: (S, S, 3) BGR minus means -> 2048-d feature map."""
    inputs = keras.Input((input_size, input_size, 3))
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False, name=keras_name("conv1/7x7_s2"))(inputs)
    x = layers.BatchNormalization(name=keras_name("conv1/7x7_s2/bn"))(x)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D(3, strides=2)(x)
    for stage, filters, blocks, strides in ((2, (64, 64, 256), 3, 1), (3, (128, 128, 512), 4, 2),
                                            (4, (256, 256, 1024), 6, 2), (5, (512, 512, 2048), 3, 2)):
        x = _bottleneck(x, filters, stage, 1, strides=strides, project=True)
        for block in range(2, blocks + 1):
            x = _bottleneck(x, filters, stage, block)
    return keras.Model(inputs, x, name="vggface_resnet50")


def check_vggface_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FerEdgeError(f"{p}: no such VGG-Face weights file (expected {VGGFACE_FILE})")
    size = p.stat().st_size
    if size != VGGFACE_SIZE:
        raise FerEdgeError(f"{p}: {size} bytes, but {VGGFACE_FILE} has {VGGFACE_SIZE}; wrong file")
    digest = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != VGGFACE_SHA256:
        raise FerEdgeError(f"{p}: sha256 {digest.hexdigest()} does not match {VGGFACE_FILE} ({VGGFACE_SHA256})")
    return p


def load_h5_by_name(model: keras.Model, path: str | Path) -> int:
    """Load a Keras-2 `save_weights` .h5 into layers of the same names; returns layers loaded."""
    import h5py

    named = {layer.name: layer for layer in model.layers if layer.weights}
    loaded = 0
    with h5py.File(path, "r") as f:
        root = f["model_weights"] if "model_weights" in f else f
        for name in [n.decode() if isinstance(n, bytes) else n for n in root.attrs.get("layer_names", [])]:
            if keras_name(name) not in named:
                continue
            group = root[name]  # h5py reads 'a/b' as nested groups, as Keras 2 wrote them
            weight_names = [w.decode() if isinstance(w, bytes) else w for w in group.attrs["weight_names"]]
            values = [np.asarray(group[w]) for w in weight_names]
            layer = named[keras_name(name)]
            if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in layer.weights]:
                raise FerEdgeError(f"{path}: layer {name} weights have shapes {[v.shape for v in values]}, "
                                   f"expected {[tuple(w.shape) for w in layer.weights]}")
            layer.set_weights(values)
            loaded += 1
    expected = len(named)
    if loaded != expected:
        raise FerEdgeError(f"{path}: loaded {loaded} of {expected} backbone layers; not VGG-Face ResNet50 weights")
    return loaded


def load_vggface_weights(backbone: keras.Model, path: str | Path) -> None:
    load_h5_by_name(backbone, check_vggface_file(path))
