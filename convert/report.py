"""The conversion report: file sizes, Keras float accuracy against the converted file's accuracy,
their top-1 agreement, and per-face LiteRT latency at 1 and 2 threads, side by side."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fer_edge.console import quiet_native_stderr
from fer_edge.classifier import FaceClassifier
from fer_edge.faces import faces_batch

# The targets for the shipped int8 models.
INT8_MAX_DROP_POINTS = 0.5
INT8_MIN_SIZE_RATIO = 3.5
LATENCY_THREADS = (1, 2)
CHUNK = 256


def keras_probabilities(model, images: np.ndarray, progress: bool = False, normalize: str | None = None) -> np.ndarray:
    """Float model probabilities for (N, 48, 48) FER2013 images, prepared by fer_edge.faces (with the
    normalisation the converted file declares)."""
    from fer_edge.convert.keras_model import model_geometry

    size, channels = model_geometry(model)
    out = []
    for start in tqdm(range(0, len(images), CHUNK), desc="keras float", unit=" batches", disable=not progress, leave=False):
        x = faces_batch(images[start : start + CHUNK], size, channels, normalize).astype(np.float32)
        out.append(np.asarray(model.predict_on_batch(x), dtype=np.float32))
    return np.concatenate(out)


def tflite_probabilities(path: str | os.PathLike, images: np.ndarray, threads: int = 2,
                         progress: bool = False) -> np.ndarray:
    """Probabilities from the .tflite file through the edge runtime's FaceClassifier."""
    from fer_edge.convert.tflite_info import batch_resizable

    with quiet_native_stderr():  # LiteRT's delegate INFO line
        clf = FaceClassifier(path, threads=threads)
    batch = CHUNK if batch_resizable(path) else 1
    out = []
    for start in tqdm(range(0, len(images), CHUNK), desc=Path(path).name, unit=" batches", disable=not progress, leave=False):
        out.append(clf.predict_dataset(images[start : start + CHUNK], batch_size=batch))
    return np.concatenate(out)


def _latency(path, face, runs: int) -> dict:
    from fer_edge.convert.latency import latency_ms

    return {f"threads_{t}": round(latency_ms(path, face, t, runs), 4) for t in LATENCY_THREADS}


def build_report(model, files: dict[str, str | os.PathLike], mode: str, eval_images: np.ndarray | None = None,
                 eval_labels: np.ndarray | None = None, eval_split: str | None = None, latency_runs: int = 200,
                 progress: bool = False) -> dict:
    """Report for `files` ({"float32": path, mode: path}, each with its .meta.json) converted from
    the loaded Keras `model`. Accuracies are fractions; they need eval images and labels."""
    from fer_edge.convert.keras_model import model_geometry
    from fer_edge.modelinfo import read_info

    info = read_info(files[mode])
    size, channels = model_geometry(model)
    order = ["float32"] + ([mode] if mode != "float32" else [])
    report: dict = {
        "model": info.name,
        "source": info.source,
        "mode": mode,
        "input": {"size": size, "channels": channels},
        "size_bytes": {m: Path(files[m]).stat().st_size for m in order},
    }
    if mode != "float32":
        report["size_ratio"] = round(report["size_bytes"]["float32"] / report["size_bytes"][mode], 4)
    if eval_images is not None and eval_labels is not None and len(eval_labels):
        labels = np.asarray(eval_labels)
        float_pred = keras_probabilities(model, eval_images, progress, info.normalize).argmax(axis=1)
        conv_pred = tflite_probabilities(files[mode], eval_images, progress=progress).argmax(axis=1)
        float_acc, conv_acc = float((float_pred == labels).mean()), float((conv_pred == labels).mean())
        report.update({
            "eval": {"split": eval_split, "faces": int(len(labels))},
            "float_accuracy": float_acc,
            f"{mode}_accuracy": conv_acc,
            "agreement": float((float_pred == conv_pred).mean()),
            "accuracy_drop_points": round((float_acc - conv_acc) * 100.0, 4),
        })
    if latency_runs > 0:
        face = faces_batch(eval_images[:1] if eval_images is not None and len(eval_images) else
                           np.random.default_rng(0).integers(0, 256, (1, 48, 48), dtype=np.uint8), size, channels)[0]
        report["latency_ms"] = {m: _latency(files[m], face, latency_runs) for m in order}
        report["latency"] = {"runs": latency_runs, "statistic": "median per face", "runtime": "ai-edge-litert",
                             "host": f"{platform.machine()}, {os.cpu_count()} CPUs"}
    if info.quantization:
        report["quantization"] = info.quantization
    if mode == "int8":
        targets: dict = {"max_accuracy_drop_points": INT8_MAX_DROP_POINTS, "min_size_ratio": INT8_MIN_SIZE_RATIO,
                         "size_ok": report["size_ratio"] >= INT8_MIN_SIZE_RATIO}
        if "accuracy_drop_points" in report:
            targets["accuracy_ok"] = report["accuracy_drop_points"] <= INT8_MAX_DROP_POINTS
        report["targets"] = targets
    return report


def _pct(x) -> str:
    return "-" if x is None else f"{100.0 * x:.2f}%"


def _lat(report: dict, m: str, t: int) -> str:
    v = report.get("latency_ms", {}).get(m, {}).get(f"threads_{t}")
    return "-" if v is None else f"{v:.3f} ms"


def format_report(report: dict) -> str:
    from fer_edge.table import format_table

    mode = report["mode"]
    split = (report.get("eval") or {}).get("split", "eval")
    rows = []
    for m in report["size_bytes"]:
        if m == "float32":
            acc = f"{_pct(report.get('float_accuracy'))} (keras)" if "float_accuracy" in report else "-"
        else:
            acc = _pct(report.get(f"{m}_accuracy"))
        rows.append([f"{m} .tflite", f"{report['size_bytes'][m] / 1000:,.1f} KB", acc, _lat(report, m, 1), _lat(report, m, 2)])
    lines = [format_table(["file", "size", f"{split} accuracy", "latency 1 thread", "latency 2 threads"], rows)]
    if "agreement" in report:
        lines.append(f"top-1 agreement, keras float vs {mode}: {_pct(report['agreement'])}"
                     f" of {report['eval']['faces']} {split} faces")
    targets = report.get("targets", {})
    if "accuracy_drop_points" in report:
        verdict = "" if "accuracy_ok" not in targets else \
            f" (target <= {targets['max_accuracy_drop_points']}: {'ok' if targets['accuracy_ok'] else 'MISSED'})"
        lines.append(f"{mode} accuracy drop: {report['accuracy_drop_points']:.2f} points{verdict}")
    if "size_ratio" in report:
        verdict = "" if "size_ok" not in targets else \
            f" (target <= 1/{targets['min_size_ratio']}: {'ok' if targets['size_ok'] else 'MISSED'})"
        lines.append(f"{mode} size: 1/{report['size_ratio']:.2f} of float32{verdict}")
    quant = report.get("quantization") or {}
    if "input" in quant:
        qi, qo = quant["input"], quant["output"]
        exact = qi["scale"] == 1.0 and qi["zero_point"] == -128
        lines.append(f"int8 input: scale {qi['scale']:.6g}, zero point {qi['zero_point']}"
                     f" ({'grey levels map exactly' if exact else 'NOT the exact 0..255 grey-level mapping'});"
                     f" output: scale {qo['scale']:.6g}, zero point {qo['zero_point']}; weights {quant.get('weights', '?')}")
    cal = quant.get("calibration")
    if cal:
        lines.append(f"calibration: {cal.get('samples')} stratified {cal.get('split')} faces, seed {cal.get('seed')}")
    return "\n".join(lines)
