"""Shared pieces of the convert tests: a generated FER2013-style CSV and tiny Keras models really
trained on it, saved as .keras files.

`grey` stands in for baseline/ferlite (48x48x1, with Flatten and a dense layer so the weights
dominate the file as in the baseline); `rgb` for the resnet50 path (197x197x3, grey faces
replicated to 3 channels by fer_edge.faces). Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from fer_edge.labels import NUM_CLASSES


def make_fer_rows(per_usage: dict[str, int], seed: int = 0) -> list[tuple[int, np.ndarray, str]]:
    """(emotion, 48x48 uint8 image, usage) rows, classes in turn; each class has its own brightness
    and the noise reaches both 0 and 255, as real faces do (so int8 input ranges come out 0..255)."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage, n in per_usage.items():
        for i in range(n):
            label = i % NUM_CLASSES
            img = 20 + 36 * label + rng.integers(-45, 46, (48, 48))
            rows.append((label, np.clip(img, 0, 255).astype(np.uint8), usage))
    return rows


def write_fer_csv(path: Path, rows) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["emotion", "pixels", "Usage"])
        for label, img, usage in rows:
            w.writerow([label, " ".join(map(str, img.ravel().tolist())), usage])
    return path


def build_grey_model():
    import keras
    from keras import layers

    inputs = keras.Input((48, 48, 1), name="face")
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = layers.Conv2D(8, 3, activation="relu")(x)
    x = layers.BatchNormalization(momentum=0.8)(x)  # moving statistics settle within a few epochs
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny_grey")


def build_rgb_model(size: int = 197):
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3), name="face")
    x = layers.Normalization(mean=[91.5, 103.9, 131.1], variance=[1.0, 1.0, 1.0])(inputs)  # like resnet50's
    x = layers.Rescaling(1.0 / 128.0)(x)
    x = layers.Conv2D(8, 5, strides=4, activation="relu")(x)
    x = layers.Conv2D(16, 3, strides=2, activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="tiny_rgb")


def train_and_save(model, images: np.ndarray, labels: np.ndarray, path: Path, epochs: int) -> Path:
    from fer_edge.faces import faces_batch

    size, channels = int(model.inputs[0].shape[1]), int(model.inputs[0].shape[-1])
    x = faces_batch(images, size, channels).astype(np.float32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, labels, epochs=epochs, batch_size=16, verbose=0)
    model.save(path)
    return path


@pytest.fixture(scope="session")
def convert_data(tmp_path_factory) -> Path:
    """Training 140 rows (20 per class), PublicTest 70 (10 per class)."""
    rows = make_fer_rows({"Training": 140, "PublicTest": 70}, seed=3)
    return write_fer_csv(tmp_path_factory.mktemp("convert-data") / "fer2013.csv", rows)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """Too few Training rows (14) for a 50-face calibration sample."""
    rows = make_fer_rows({"Training": 14, "PublicTest": 14}, seed=4)
    return write_fer_csv(tmp_path_factory.mktemp("convert-small") / "small.csv", rows)


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, convert_data) -> dict[str, Path]:
    """{"grey": .keras, "rgb": .keras}, each trained briefly on convert_data's Training rows."""
    import keras

    from fer_edge.data.cache import load

    train = load(convert_data).split("Training")
    root = tmp_path_factory.mktemp("convert-models")
    keras.utils.set_random_seed(0)
    return {
        "grey": train_and_save(build_grey_model(), train.images, train.labels, root / "tiny_grey.keras", epochs=4),
        "rgb": train_and_save(build_rgb_model(), train.images, train.labels, root / "tiny_rgb.keras", epochs=1),
    }
