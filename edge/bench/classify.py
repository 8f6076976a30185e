"""`fer-edge bench --classify-only`: the expression model alone, per face, at batch 1 (one face in
the frame) and batch 8 (a crowd), for every model in models/ and every model choice (fast,
accurate, best: an ensemble and flip TTA are timed as `run` uses them), or the ones asked for.

Each call is the classifier's predict (a FaceClassifier's, or an ensemble's or flip TTA's around
them) on prepared uint8 faces, as the pipeline's classify stage makes it: quantising the input, invoke, dequantising and normalising the scores. The faces are
fixed random grey levels: the networks' cost does not depend on the pixel values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fer_edge.edge.bench.stats import latency_ms, peak_rss_mb
from fer_edge.machine import load_average, machine
from fer_edge.console import quiet_native_stderr
from fer_edge.tta import check_tta
from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import sidecar_path
from fer_edge.paths import FACE_DETECTOR_NAME, models_dir

if TYPE_CHECKING:
    from fer_edge.model_choices import ModelChoice

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


def model_units(models: Sequence[str], tta: str | None = None) -> list[ModelChoice]:
    """What to time, each alone: each --model NAME, that choice (its files and TTA); each FILE, that
    model; each FOLDER, the models in it; none, every model in models/ and then every choice. `tta`
    ("none" or "flip") applies to every one of them; None keeps each choice's own."""
    from fer_edge.model_choices import ModelChoice, choice_names, resolve_models

    def files(folder: Path) -> list[ModelChoice]:
        return [ModelChoice(None, (path,), check_tta(tta)) for path in discover(folder)]

    if not models:
        return files(models_dir()) + [resolve_models(name, tta) for name in choice_names()]
    names = choice_names()
    found: list[ModelChoice] = []
    for model in models:
        if model not in names and Path(model).is_dir():
            found += files(Path(model))
        else:  # a choice or a file; anything else is an error that names the choices
            found.append(resolve_models(model, tta))
    return list(dict.fromkeys(found))  # a model named twice is timed once


def time_model(unit: ModelChoice, threads: int, runs: int, warmup: int = 10, seed: int = 0) -> dict:
    from fer_edge.edge.ensemble import load_classifier

    t0 = time.perf_counter()
    with quiet_native_stderr():  # LiteRT's delegate INFO line
        clf = load_classifier(unit.paths, threads, unit.tta)
    load_s = time.perf_counter() - t0
    info = clf.info
    members = getattr(clf, "members", [clf])
    several = len(unit.paths) > 1
    out = {"model": f"ensemble({', '.join(map(str, unit.paths))})" if several else str(unit.paths[0]),
           "paths": [str(p) for p in unit.paths], "choice": unit.name, "tta": unit.tta or "none",
           "name": " + ".join(m.info.name for m in members),
           "precision": "+".join(dict.fromkeys(m.info.precision for m in members)),
           "input": [info.input_size, info.input_size, info.channels],
           "size_kb": round(sum(p.stat().st_size for p in unit.paths) / 1024.0, 1), "threads": threads,
           "load_ms": round(load_s * 1e3, 2)}
    rng = np.random.default_rng(seed)
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


def run_classify_bench(models: Sequence[str], threads: tuple[int, ...], runs: int, warmup: int = 10,
                       tta: str | None = None) -> dict:
    units = model_units(models, tta)
    started_on = machine()
    files, choices = [], []
    for unit in units:
        for t in threads:
            (choices if unit.name else files).append(time_model(unit, t, runs, warmup))
    files.sort(key=lambda r: (Path(r["model"]).name.split("_")[0], PRECISION_ORDER.get(r["precision"], 9),
                              r["model"], r["threads"]))
    # files as the converter names them; the choices after them, in their own order
    return {"models": files + choices, "runs": runs, "warmup": warmup, "batches": list(BATCHES),
            "peak_rss_mb": peak_rss_mb(), "machine": started_on, "load_average_end": load_average()}
