"""Several expression models used as one: each face gets the mean of the members' probabilities
(as `fer-edge evaluate` averages an ensemble), for `fer-edge run --model A --model B`.

The pipeline crops and prepares each face once and hands the same batch to every member, so the
members must share that preprocessing (input size, channels, crop margin and shift) and the label
order the probabilities are averaged in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fer_edge.classifier import FaceClassifier, require_model_file
from fer_edge.tta import FlipClassifier, check_tta
from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import ModelInfo, read_info
from fer_edge import defaults

# What members must agree on: (ModelInfo field, how the error message names it).
SHARED_FIELDS = (("labels", "labels"), ("input_size", "input size"), ("channels", "channels"),
                 ("crop_margin", "crop margin"), ("crop_shift", "crop shift"), ("normalize", "normalisation"))


def check_agreement(members: Sequence[tuple[Path, ModelInfo]]) -> None:
    """FerEdgeError naming the first member and one that prepares or labels faces differently."""
    first_path, first = members[0]
    for path, info in members[1:]:
        differ = [f"{name} {getattr(first, field)} vs {getattr(info, field)}"
                  for field, name in SHARED_FIELDS if getattr(first, field) != getattr(info, field)]
        if differ:
            raise FerEdgeError(f"{first_path} and {path} cannot be averaged: they differ in {', '.join(differ)}")


class EnsembleClassifier:
    """The FaceClassifier interface the pipeline uses (`info`, `labels`, `predict`) over several models."""

    def __init__(self, members: Sequence[FaceClassifier]):
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two models")
        check_agreement([(member.path, member.info) for member in members])
        self.members = list(members)

    @property
    def info(self) -> ModelInfo:
        # The preprocessing fields are the same in every member (checked above); the first
        # member's name and precision stand for the rest.
        return self.members[0].info

    @property
    def labels(self) -> list[str]:
        return self.members[0].labels

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """The mean of the members' probabilities for a uint8 (N, S, S, C) batch."""
        return np.mean([member.predict(batch) for member in self.members], axis=0)


def load_classifier(model_paths: Sequence[str | os.PathLike], threads: int = defaults.THREADS,
                    tta: str | None = None) -> FaceClassifier | EnsembleClassifier | FlipClassifier:
    """One model as it is; several as an ensemble (each member with `threads` threads: they run one
    after another, never at once); with tta "flip", either one wrapped in a FlipClassifier."""
    tta = check_tta(tta)  # before loading anything
    paths = [Path(p) for p in model_paths]
    if not paths:
        raise ValueError("no model to load")
    if len(paths) == 1:
        classifier = FaceClassifier(paths[0], threads)
    else:
        # Metadata first, so a mismatch is reported before any interpreter starts (and logs).
        for path in paths:
            require_model_file(path)
        infos = [read_info(path) for path in paths]
        check_agreement(list(zip(paths, infos)))
        classifier = EnsembleClassifier([FaceClassifier(path, threads, info) for path, info in zip(paths, infos)])
    return FlipClassifier(classifier) if tta == "flip" else classifier
