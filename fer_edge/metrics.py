"""Classification metrics in numpy (no scikit-learn or TensorFlow needed on the device side)."""

from __future__ import annotations

import numpy as np

from fer_edge.labels import EMOTIONS, NUM_CLASSES


def confusion(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return np.bincount(labels * NUM_CLASSES + preds, minlength=NUM_CLASSES**2).reshape(NUM_CLASSES, NUM_CLASSES)


def classification_report(labels: np.ndarray, probs: np.ndarray) -> dict:
    labels = np.asarray(labels, dtype=np.int64)
    preds = np.asarray(probs).argmax(axis=1)
    cm = confusion(labels, preds)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    # macro-F1 over the classes the split has or the model predicts (as scikit-learn's default): a
    # split without disgust must still count the faces wrongly called disgust
    present = (support > 0) | (predicted > 0)
    return {
        "n": int(len(labels)),
        "accuracy": float((preds == labels).mean()) if len(labels) else 0.0,
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(EMOTIONS)
        },
        "confusion": cm.tolist(),
    }
