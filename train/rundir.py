"""The run directory: config, resumable state, history and the models a training run leaves."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path


def write_json(path: Path, obj) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_keras(model, path: Path) -> None:
    """model.save to a temp name in the same folder, then rename: never a half-written .keras."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class RunDir:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.ckpt_dir = self.root / "checkpoint"

    config = property(lambda self: self.root / "config.json")
    state = property(lambda self: self.root / "checkpoint" / "state.json")
    last = property(lambda self: self.root / "checkpoint" / "last.keras")
    best = property(lambda self: self.root / "best.keras")
    history_csv = property(lambda self: self.root / "history.csv")
    curves = property(lambda self: self.root / "curves.png")
    metrics = property(lambda self: self.root / "metrics.json")

    def final(self, name: str) -> Path:
        return self.root / f"{name}.keras"

    def create(self) -> None:
        self.ckpt_dir.mkdir(parents=True, exist_ok=True)

    def can_resume(self) -> bool:
        return self.state.is_file() and self.last.is_file() and self.config.is_file()

    def write_history_csv(self, history: dict[str, list[float]]) -> None:
        keys = list(history)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".history.", suffix=".tmp")
        with os.fdopen(fd, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", *keys])
            for i in range(len(history[keys[0]]) if keys else 0):
                w.writerow([i + 1, *(f"{history[k][i]:.6g}" for k in keys)])
        os.replace(tmp, self.history_csv)
