"""`fer-edge bench --classify-only`: the expression model alone, per face, at batch 1 (one face in
the frame) and batch 8 (a crowd), for every model in models/ or the ones asked for.

Each call is FaceClassifier.predict on prepared uint8 faces, as the pipeline's classify stage
makes it: quantising the input, invoke, dequantising and normalising the scores. The faces are
fixed random grey levels: the networks' cost does not depend on the pixel values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fer_edge.edge.bench_stats import latency_ms, load_average, machine, peak_rss_mb
from fer_edge.edge.console import quiet_native_stderr
from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import sidecar_path
from fer_edge.paths import FACE_DETECTOR_NAME, models_dir

BATCHES = (1, 8)
# Order in the report: smallest and fastest first, as the converter names them.
PRECISION_ORDER = {"int8": 0, "dynamic": 1, "float16": 2, "float32": 3}


def discover(folder: Path) -> list[Path]:
    """Every expression model in `folder`: a .tflite with its .meta.json, the face detector excepted."""
    if not folder.is_dir():
        raise FerEdgeError(f"{folder}: no such folder")
    found = [p for p in sorted(folder.glob("*.tflite"))
             if p.name != FACE_DETECTOR_NAME and sidecar_path(p).is_file()]
    if not found:
        raise FerEdgeError(f"{folder}: no expression model (.tflite with its .meta.json); pass --model")
    return found


def model_paths(models: Sequence[str]) -> list[Path]:
    """Each --model FILE: that model; each --model FOLDER: the models in it; none: the models in models/."""
    if not models:
        return discover(models_dir())
    found: list[Path] = []
    for model in models:
        path = Path(model)
        if path.is_dir():
            found += discover(path)
        elif path.is_file():
            found.append(path)
        else:
            raise FerEdgeError(f"{path}: no such model file")
    return list(dict.fromkeys(found))  # a model named twice is timed once


def time_model(path: Path, threads: int, runs: int, warmup: int = 10, seed: int = 0) -> dict:
    from fer_edge.edge.classifier import FaceClassifier

    t0 = time.perf_counter()
    with quiet_native_stderr():  # LiteRT's delegate INFO line
        clf = FaceClassifier(path, threads=threads)
    load_s = time.perf_counter() - t0
    info = clf.info
    rng = np.random.default_rng(seed)
    out = {"model": str(path), "name": info.name, "precision": info.precision,
           "input": [info.input_size, info.input_size, info.channels],
           "size_kb": round(path.stat().st_size / 1024.0, 1), "threads": threads, "load_ms": round(load_s * 1e3, 2)}
    for batch in BATCHES:
        faces = rng.integers(0, 256, (batch, info.input_size, info.input_size, info.channels), dtype=np.uint8)
        for _ in range(warmup):  # first invokes after a resize allocate and pack weights
            clf.predict(faces)
        per_face = []
        for _ in range(runs):
            t = time.perf_counter()
            clf.predict(faces)
            per_face.append((time.perf_counter() - t) / batch)
        stats = latency_ms(per_face)
        out[f"batch{batch}"] = {"median_ms_per_face": stats["median_ms"], "p95_ms_per_face": stats["p95_ms"],
                                "p99_ms_per_face": stats["p99_ms"]}
    return out


def run_classify_bench(models: Sequence[str], threads: tuple[int, ...], runs: int, warmup: int = 10) -> dict:
    paths = model_paths(models)
    started_on = machine()
    results = []
    for path in paths:
        for t in threads:
            results.append(time_model(path, t, runs, warmup))
    results.sort(key=lambda r: (Path(r["model"]).name.split("_")[0], PRECISION_ORDER.get(r["precision"], 9),
                                r["model"], r["threads"]))
    return {"models": results, "runs": runs, "warmup": warmup, "batches": list(BATCHES), "peak_rss_mb": peak_rss_mb(),
            "machine": started_on, "load_average_end": load_average()}
