"""Evaluate .keras or .tflite models (or an ensemble of them) on a FER2013 split."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fer_edge.data.cache import load
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS
from fer_edge.metrics import classification_report
from fer_edge.table import format_table
from fer_edge import defaults


def predict_file(path: str, images: np.ndarray, tta_flip: bool = False, threads: int = defaults.THREADS) -> tuple[np.ndarray, float]:
    """Probabilities from one model file, in FER2013's label order, and the seconds spent predicting
    (loading excluded); .tflite runs on LiteRT without TensorFlow."""
    p = Path(path)
    if not p.is_file():
        raise FerEdgeError(f"{p}: no such model file")
    if p.suffix == ".tflite":
        from fer_edge.classifier import FaceClassifier
        from fer_edge.console import quiet_native_stderr
        from fer_edge.tta import flip_averaged

        with quiet_native_stderr():  # LiteRT's delegate INFO line
            clf = FaceClassifier(p, threads=threads)
        if sorted(clf.labels) != sorted(EMOTIONS):
            raise FerEdgeError(f"{p}: its metadata labels {clf.labels} are not FER2013's {list(EMOTIONS)}")
        started = time.perf_counter()
        probs = flip_averaged(clf.predict_dataset, images) if tta_flip else clf.predict_dataset(images)
        seconds = time.perf_counter() - started
        return probs[:, [clf.labels.index(e) for e in EMOTIONS]], seconds  # the model's column order -> FER2013's
    if p.suffix == ".keras":
        from fer_edge.keras_files import load_keras_file

        try:
            model = load_keras_file(p)
        except ImportError:
            from fer_edge.keras_files import host_extra_hint

            raise FerEdgeError(f"{p}: evaluating a .keras model needs the [train] extra ({host_extra_hint()})") from None
        from fer_edge.train.predict import predict_keras

        if int(model.outputs[0].shape[-1]) != len(EMOTIONS):
            raise FerEdgeError(f"{p}: model has {model.outputs[0].shape[-1]} outputs, expected {len(EMOTIONS)}")
        started = time.perf_counter()
        probs = predict_keras(model, images, tta_flip=tta_flip)
        return probs, time.perf_counter() - started
    raise FerEdgeError(f"{p}: expected a .keras or .tflite model")


def evaluate_models(models: list[str], data: str, split: str, tta_flip: bool = False, threads: int = defaults.THREADS) -> dict:
    part = load(data).split(split)
    predicted = [predict_file(m, part.images, tta_flip, threads) for m in models]
    probs = np.mean([p for p, _ in predicted], axis=0)
    elapsed = sum(seconds for _, seconds in predicted)  # the models' predictions, batched; loading left out
    report = classification_report(part.labels, probs)
    name = models[0] if len(models) == 1 else "ensemble(" + ", ".join(models) + ")"
    return {"model": name, "models": list(models), "split": split, "tta": "flip" if tta_flip else "none",
            **report, "seconds": round(elapsed, 2), "ms_per_face": round(elapsed / max(len(part), 1) * 1e3, 4)}


def format_report(report: dict) -> str:
    lines = [f"model:     {report['model']}" + (f" (choice {report['choice']})" if report.get("choice") else ""),
             f"split:     {report['split']} ({report['n']} faces, tta {report['tta']})",
             f"accuracy:  {report['accuracy']:.4f}", f"macro-F1:  {report['macro_f1']:.4f}", ""]
    rows = [[name, c["precision"], c["recall"], c["f1"], c["support"]] for name, c in report["per_class"].items()]
    lines.append(format_table(["class", "precision", "recall", "f1", "support"], rows))
    lines.append("")
    lines.append("confusion (rows true, columns predicted):")
    lines.append(format_table(["", *[e[:5] for e in EMOTIONS]], [[EMOTIONS[i], *row] for i, row in enumerate(report["confusion"])]))
    return "\n".join(lines)
