"""Whether a model file comes from a quick try (`fer-edge train --limit N`): the run's config.json
beside it says so. Such a model checks that data, training, the run folder and the plots work;
its accuracy says nothing of a real run, and `evaluate` and `convert` say so next to their figures."""

from __future__ import annotations

import json
from pathlib import Path


def quick_try_config(model_path: str | Path) -> dict | None:
    """The run config of a model trained with --limit, or None (a full run, or no run folder)."""
    config = Path(model_path).parent / "config.json"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("limit"), int) and data["limit"] > 0:
        return data
    return None


def quick_try_note(model_path: str | Path) -> str | None:
    """One line for a quick-try model: what it was trained on, and what its figures are worth."""
    cfg = quick_try_config(model_path)
    if cfg is None:
        return None
    epochs = cfg.get("epochs")
    return (f"note: {model_path} is a quick try (--limit {cfg['limit']:,}: the first {cfg['limit']:,} faces of each split, "
            f"{epochs} epoch{'s' if epochs != 1 else ''}): it shows the path works; its figures say nothing of a full "
            "run (chance is 14%, the shipped ferfast 68%)")
