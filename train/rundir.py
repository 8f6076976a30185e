"""The run directory: config, resumable state, history and the models a training run leaves."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from fer_edge.atomic import atomic_output
from fer_edge.errors import FerEdgeError


def teacher_paths(saved: str | list[str] | None) -> list[str]:
    """A run config's teachers as a list: runs saved before --teacher could repeat hold one path."""
    if not saved:
        return []
    return [saved] if isinstance(saved, str) else list(saved)


def save_keras(model, path: Path) -> None:
    """model.save to a temp name in the same folder, then rename: never a half-written .keras."""
    with atomic_output(path, suffix=".keras") as tmp:
        model.save(tmp)


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

    def check_writable(self) -> None:
        """Refuse an --out that cannot become a run folder before minutes of data loading, not after;
        the folder itself is made only once the model builds (`create`)."""
        if self.root.exists() and not self.root.is_dir():
            raise FerEdgeError(f"{self.root}: exists and is not a folder (choose another --out)")
        existing = next(p for p in (self.root, *self.root.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise FerEdgeError(f"{self.root}: cannot create the run folder ({existing} is a file)")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise FerEdgeError(f"{self.root}: cannot create the run folder ({existing} is not writable)")

    def create(self) -> None:
        try:
            self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FerEdgeError(f"{self.root}: cannot create the run folder ({exc.strerror})") from None

    def can_resume(self) -> bool:
        return self.state.is_file() and self.last.is_file() and self.config.is_file()

    def write_history_csv(self, history: dict[str, list[float]]) -> None:
        keys = list(history)
        with atomic_output(self.history_csv) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["epoch", *keys])
            for i in range(len(history[keys[0]]) if keys else 0):
                w.writerow([i + 1, *(f"{history[k][i]:.6g}" for k in keys)])
