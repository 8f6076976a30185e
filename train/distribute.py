"""Scale-out on an existing engine rather than our own: Keras' distribution API on JAX
(data parallel over all local devices), tf.distribute on TensorFlow (MirroredStrategy over local
GPUs, or MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster)."""

from __future__ import annotations

import contextlib
import json
import os

import keras


def distribution_scope(enabled: bool):
    """Context in which the model must be built and compiled; returns (scope, description)."""
    if not enabled:
        return contextlib.nullcontext(), "single device"
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if "TF_CONFIG" in os.environ:
            strategy = tf.distribute.MultiWorkerMirroredStrategy()
            workers = len(json.loads(os.environ["TF_CONFIG"]).get("cluster", {}).get("worker", []))
            desc = f"tf.distribute.MultiWorkerMirroredStrategy ({workers} workers)"
        else:
            strategy = tf.distribute.MirroredStrategy()
            desc = f"tf.distribute.MirroredStrategy ({strategy.num_replicas_in_sync} replicas)"
        return strategy.scope(), desc
    if backend == "jax":
        devices = keras.distribution.list_devices()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return contextlib.nullcontext(), f"keras.distribution.DataParallel ({len(devices)} devices)"
    raise ValueError(f"--distribute is not supported on the {backend} backend (use tensorflow or jax)")


def sharded_devices() -> int:
    """How many devices every batch is split across in equal parts: Keras' DataParallel on JAX
    shards each batch's first axis and refuses a size it cannot divide; 1 otherwise (one device, or
    tf.distribute, which splits uneven batches itself)."""
    if keras.backend.backend() != "jax":
        return 1
    dist = keras.distribution.distribution()
    return int(dist.device_mesh.devices.size) if dist is not None else 1


def end_distribution() -> None:
    """Back to one device after training (the final evaluation predicts batches of any size)."""
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(None)
