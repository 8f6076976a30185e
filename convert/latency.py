"""Per-face latency of a .tflite file through LiteRT, the way the edge runtime calls it."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from fer_edge.console import quiet_native_stderr
from fer_edge.classifier import FaceClassifier

WARMUP = 5


def latency_ms(model_path: str | os.PathLike, face: np.ndarray, threads: int, runs: int = 200) -> float:
    """Median milliseconds of one FaceClassifier.predict on a single prepared face (1, S, S, C):
    quantising the input, invoke and reading the scores back, as `fer-edge run` pays per face."""
    with quiet_native_stderr():  # LiteRT's delegate INFO line
        clf = FaceClassifier(model_path, threads=threads)
    batch = face[None] if face.ndim == 3 else face[:1]
    for _ in range(WARMUP):  # first invokes allocate and pack weights
        clf.predict(batch)
    times = []
    for _ in range(max(1, runs)):
        t0 = time.perf_counter()
        clf.predict(batch)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0
