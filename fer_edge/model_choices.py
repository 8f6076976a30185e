"""Named model choices, so a user never types a file path for the common cases: `fast` (the edge
model, the default), `accurate` (one GPU-trained teacher) and `best` (the pair, with flip TTA).

What each name means (its files and test-time augmentation) and its measured figures (PublicTest
accuracy, ms per face) live in one shipped file, models/choices.json, which `run`, `bench`,
`evaluate`, `fer-edge models` and the Python API all read. Device side: no TensorFlow.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fer_edge.tta import check_tta
from fer_edge.errors import FerEdgeError
from fer_edge.paths import models_dir

CHOICES_FILE = "choices.json"


@dataclass(frozen=True)
class ModelChoice:
    name: str | None  # "fast", "accurate", "best", or None when the user gave file paths
    paths: tuple[Path, ...]  # one model, or several = an ensemble (mean of probabilities)
    tta: str | None  # "flip" or None


def shipped_choices() -> dict:
    """models/choices.json: {"default": name, "choices": [{"name", "files", "tta", ...figures}], ...}."""
    path = models_dir() / CHOICES_FILE
    try:
        table = json.loads(path.read_text())
        names = [c["name"] for c in table["choices"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FerEdgeError(f"{path}: the model choices cannot be read ({exc})") from None
    if table.get("default") not in names:
        raise FerEdgeError(f"{path}: its default {table.get('default')!r} is not one of its choices")
    return table


def choice_names() -> list[str]:
    return [c["name"] for c in shipped_choices()["choices"]]


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def _as_list(specs) -> list:
    if specs is None:
        return []
    if isinstance(specs, (str, os.PathLike)):
        return [specs]
    return list(specs)


def resolve_models(specs: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
                   tta: str | None = None) -> ModelChoice:
    """What to load for `--model` values (or the API's `model=`).

    None or empty: the default choice. One choice name (a str equal to a name; it wins over a file
    of that name in the working folder, which `./NAME` reaches): its shipped files, and its TTA
    unless `tta` is given. Otherwise file paths, each an existing file: themselves (several: an
    ensemble). `tta`: None keeps the choice's own ("none" for files); "none" or "flip" overrides.
    """
    explicit_tta = check_tta(tta)
    items = _as_list(specs)
    table = shipped_choices()
    by_name = {c["name"]: c for c in table["choices"]}
    names = [s for s in items if isinstance(s, str) and s in by_name]
    if not items:
        names = [table["default"]]
    elif names and len(names) < len(items):
        files = [str(s) for s in items if not (isinstance(s, str) and s in by_name)]
        raise FerEdgeError(f"give a model choice ({_listing(list(by_name))}) or model files, not both: "
                           f"{', '.join(names)} with {', '.join(files)}")
    elif len(names) > 1:
        raise FerEdgeError(f"name one model choice, not {' and '.join(names)} (best already averages several models)")
    if names:
        entry = by_name[names[0]]
        paths = tuple(models_dir() / f for f in entry["files"])
        for path in paths:
            if not path.is_file():
                raise FerEdgeError(f"model choice {entry['name']!r} needs {path}, which is missing from this install")
        return ModelChoice(entry["name"], paths, explicit_tta if tta is not None else check_tta(entry.get("tta")))
    paths = []
    for spec in items:
        path = Path(spec)
        if path.is_dir():
            raise FerEdgeError(f"{path}: a folder, not a model file")
        if not path.is_file():
            raise FerEdgeError(f"{spec}: no such model file, nor a model choice ({_listing(list(by_name))})")
        paths.append(path)
    return ModelChoice(None, tuple(paths), explicit_tta)


def describe_choices() -> dict:
    """For `fer-edge models` and the API: every choice with its resolved files (and whether this install
    has them), TTA and measured figures, and how those were measured."""
    table = shipped_choices()
    rows = []
    for entry in table["choices"]:
        paths = [models_dir() / f for f in entry["files"]]
        rows.append({**entry, "default": entry["name"] == table["default"], "paths": [str(p) for p in paths],
                     "installed": all(p.is_file() for p in paths)})
    return {"default": table["default"], "choices": rows, "measured": table.get("measured", {})}
