"""Deterministic, stratified samples: the calibration set for int8 conversion, quick subsets."""

from __future__ import annotations

import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS, NUM_CLASSES


def stratified_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` row indices whose class mix follows the data's, with every class present at least once.

    Same labels, n and seed give the same indices on every machine (numpy's PCG64 stream).
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    missing = [EMOTIONS[c] for c in range(NUM_CLASSES) if counts[c] == 0]
    if missing:
        raise FerEdgeError(f"cannot sample all 7 classes: no rows of {', '.join(missing)}")
    if n < NUM_CLASSES:
        raise FerEdgeError(f"a stratified sample needs at least {NUM_CLASSES} rows, asked for {n}")
    if n > len(labels):
        raise FerEdgeError(f"asked for {n} samples but only {len(labels)} rows are available")
    # Largest-remainder allocation, then lift any class that got zero (taking from the largest).
    exact = counts / counts.sum() * n
    take = np.floor(exact).astype(int)
    for c in np.argsort(-(exact - take), kind="stable")[: n - take.sum()]:
        take[c] += 1
    for c in np.flatnonzero(take == 0):
        take[int(np.argmax(take))] -= 1
        take[c] = 1
    rng = np.random.default_rng(seed)
    picked = [rng.choice(np.flatnonzero(labels == c), size=take[c], replace=False) for c in range(NUM_CLASSES)]
    return np.sort(np.concatenate(picked))
