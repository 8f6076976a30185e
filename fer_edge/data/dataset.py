"""In-memory FER2013: uint8 48x48 grey images and labels, grouped by Usage split."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS, NUM_CLASSES

# Kaggle's Usage values, in the order reports list them; other split names are kept as found.
KNOWN_SPLITS = ("Training", "PublicTest", "PrivateTest")


@dataclass
class Split:
    images: np.ndarray  # (N, 48, 48) uint8
    labels: np.ndarray  # (N,) int64, index into EMOTIONS

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def per_class(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=NUM_CLASSES)
        return {name: int(counts[i]) for i, name in enumerate(EMOTIONS)}


@dataclass
class Dataset:
    source: str
    splits: dict[str, Split] = field(default_factory=dict)

    def split(self, name: str) -> Split:
        """The named split; a clear error when the data has no rows for it."""
        split = self.splits.get(name)
        if split is None or len(split) == 0:
            present = ", ".join(self.split_names()) or "none"
            raise FerEdgeError(f"{self.source}: no {name} rows (splits present: {present})")
        return split

    def split_names(self) -> list[str]:
        known = [s for s in KNOWN_SPLITS if s in self.splits]
        return known + sorted(s for s in self.splits if s not in KNOWN_SPLITS)

    def summary(self) -> dict:
        return {
            "splits": {
                name: {"total": len(self.splits[name]), "per_class": self.splits[name].per_class()}
                for name in self.split_names()
            }
        }


def group_rows(source: str, images: np.ndarray, labels: np.ndarray, usages: list[str]) -> Dataset:
    """Group parallel per-row arrays into splits, keeping row order within each split."""
    usage_arr = np.asarray(usages)
    dataset = Dataset(source=source)
    for name in dict.fromkeys(usages):  # first-seen order, no duplicates
        idx = np.flatnonzero(usage_arr == name)
        dataset.splits[name] = Split(images=images[idx], labels=labels[idx])
    return dataset
