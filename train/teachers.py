"""Teachers for distillation: their probabilities precomputed once on the clean training faces, or
computed online on the very batch the student sees, augmentation included ("consistent teaching",
Beyer et al. 2022, "Knowledge distillation: A good teacher is patient and consistent")."""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
import numpy as np
from keras import ops

from fer_edge.atomic import atomic_output
from fer_edge.data.cache import cache_dir
from fer_edge.errors import FerEdgeError
from fer_edge.keras_files import check_keras_file, load_keras_file
from fer_edge.labels import NUM_CLASSES
from fer_edge.train.predict import predict_keras

TEACHER_CACHE_FORMAT = 1  # bump when what a cached file holds changes


def _check_teachers(paths: list[str]) -> None:
    for path in paths:  # every file checked before the first (slow) load or prediction
        check_keras_file(path, "teacher model")


def load_teachers(paths: list[str]) -> list[keras.Model]:
    _check_teachers(paths)
    return [load_keras_file(path, "teacher model") for path in paths]


def precomputed_targets(paths: list[str], images: np.ndarray) -> np.ndarray:
    """The teachers' mean flip-TTA probabilities: several teachers distil as one ensemble.

    Each teacher's probabilities are cached under FER_EDGE_CACHE_DIR, keyed by the bytes of its
    file and of the faces: a big teacher takes minutes per pass on a CPU, and a chain of
    distillation stages asks for the same predictions again and again."""
    _check_teachers(paths)
    # the faces' part of the key once (the Training split is 66 MB), each teacher's file added to a copy
    faces_key = hashlib.sha256(f"{TEACHER_CACHE_FORMAT}|{keras.backend.backend()}|{images.shape}|".encode())
    faces_key.update(np.ascontiguousarray(images).data)
    return np.mean([_teacher_probs(path, images, faces_key) for path in paths], axis=0)


def _teacher_probs(path: str, images: np.ndarray, faces_key) -> np.ndarray:
    digest = faces_key.copy()
    digest.update(Path(path).read_bytes())
    cached = cache_dir() / "teachers" / f"{digest.hexdigest()[:32]}.npy"
    if cached.is_file():
        try:
            probs = np.load(cached)
            if probs.shape == (len(images), NUM_CLASSES):
                return probs
        except (OSError, ValueError):
            pass  # unreadable: predict again and replace it
    probs = predict_keras(load_keras_file(path, "teacher model"), images, tta_flip=True)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cached, suffix=".npy") as tmp:
            np.save(tmp, probs)
    except (OSError, FerEdgeError):
        pass  # a cache that cannot be written only costs time
    return probs


@keras.saving.register_keras_serializable(package="fer_edge")
class OnlineTeachers(keras.layers.Layer):
    """Frozen teachers' mean probabilities on the student's own (augmented) input.

    Precomputed targets describe the clean face while the student sees a rotated, shifted, zoomed
    one, and teachers trained on these same faces are over-confident on them; computed online the
    target matches the input and is softer. The teachers run in inference mode (no dropout, BN
    statistics frozen) and pass no gradient. Their models live in this layer's config and weights,
    so a checkpoint resumes without the teacher files.
    """

    def __init__(self, teachers, **kwargs):
        super().__init__(**kwargs)
        self.teachers = [t if isinstance(t, keras.Model) else keras.saving.deserialize_keras_object(t)
                         for t in teachers]
        self.trainable = False

    def build(self, input_shape):
        for teacher in self.teachers:
            if tuple(teacher.inputs[0].shape[1:]) != tuple(input_shape[1:]):
                raise FerEdgeError(f"teacher {teacher.name} takes {tuple(teacher.inputs[0].shape[1:])} input,"
                                   f" the student {tuple(input_shape[1:])}")
        self.built = True

    def call(self, x):
        # training=False here, not from the caller: a functional model would pass its own flag down
        probs = [teacher(x, training=False) for teacher in self.teachers]
        return ops.stop_gradient(ops.mean(ops.stack(probs, axis=0), axis=0))

    def compute_output_shape(self, input_shape):
        return self.teachers[0].compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(),
                "teachers": [keras.saving.serialize_keras_object(t) for t in self.teachers]}
