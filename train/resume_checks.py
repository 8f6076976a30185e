"""What `train --resume` reads from a run folder, checked before it is used: config.json, the
checkpoint's state.json and last.keras. A damaged file (cut short by a full disk, edited by hand,
copied from elsewhere) is a one-line error naming it, not a traceback from deep inside training."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from fer_edge.errors import FerEdgeError

MAX_JSON_BYTES = 64 << 20  # a state file holds a few numbers per epoch


def read_json_object(path: Path, what: str) -> dict:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"{path.stat().st_size} bytes")
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise FerEdgeError(f"{path}: damaged {what} ({str(exc)[:200]}); start a new run with another --out") from None
    if not isinstance(data, dict):
        raise FerEdgeError(f"{path}: damaged {what} (not a JSON object); start a new run with another --out")
    return data


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


_CHECKS = {  # one annotation word -> does a value fit it
    "int": _is_int, "float": _is_number, "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
    "None": lambda v: v is None, "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
}
# Fields that must be at least 1 when set (0 would divide by zero or train nothing).
_POSITIVE = ("epochs", "batch_size", "patience", "limit", "width")


def check_config(saved: dict, config_cls, path: Path) -> dict:
    """`saved` (config.json) as keyword arguments of `config_cls` (TrainConfig): known fields only,
    each of its annotated type, the required ones present."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    problems = [f"unknown field {k!r}" for k in saved if k not in fields]
    for name, f in fields.items():
        if name not in saved:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{name} missing")
            continue
        annotation = f.type.__name__ if isinstance(f.type, type) else str(f.type)  # "int", "str | None"
        value, kinds = saved[name], [k.strip() for k in annotation.split("|") if k.strip() in _CHECKS]
        if name == "teacher":
            kinds.append("str")  # runs saved before --teacher could repeat hold one path
        if kinds and not any(_CHECKS[k](value) for k in kinds):
            problems.append(f"{name} {value!r} is not {' or '.join(kinds)}")
        elif name in _POSITIVE and value is not None and value < 1:
            problems.append(f"{name} {value!r} is below 1")
    if not problems:
        problems = _outside_option_ranges(saved)
    if problems:
        raise FerEdgeError(f"{path}: damaged run config: {'; '.join(problems)}"[:600])
    return saved


def _outside_option_ranges(saved: dict) -> list[str]:
    """Values the command line would have refused (`train`'s own option ranges and choices: a seed
    numpy cannot take, an unknown class weighting), and the two fields it has no range for."""
    import click

    from fer_edge.train.options import train_params

    params = train_params()
    problems = []
    for name, value in saved.items():
        param = params.get(name)
        if param is None or value is None or not isinstance(param.type, (click.IntRange, click.FloatRange, click.Choice)):
            continue
        try:
            param.type.convert(value, param, None)
        except click.BadParameter as exc:
            problems.append(f"{name} {value!r}: {exc.message}")
    for name in ("learning_rate", "weight_decay"):
        value = saved.get(name)
        if value is not None and not (value > 0 if name == "learning_rate" else value >= 0):
            problems.append(f"{name} {value!r} is {'not above' if name == 'learning_rate' else 'below'} 0")
    return problems


def check_state(state: dict, path: Path) -> dict:
    """The checkpoint's counters and history as the trainer writes them."""
    problems = []
    for name in ("epoch", "best_epoch", "wait"):
        if not _is_int(state.get(name)) or state[name] < 0:
            problems.append(f"{name} {state.get(name)!r} is not a count")
    for name in ("best_val_accuracy", "wall_s"):
        if name in state and not _is_number(state[name]):
            problems.append(f"{name} {state[name]!r} is not a number")
    if "best_val_accuracy" not in state:
        problems.append("best_val_accuracy missing")
    history = state.get("history")
    if not isinstance(history, dict) or not all(isinstance(v, list) and all(_is_number(x) for x in v)
                                                for v in history.values()):
        problems.append("history is not lists of numbers")
    elif len({len(v) for v in history.values()}) > 1:
        problems.append("history's columns differ in length")
    seeds = state.get("augment_seeds")
    if seeds is not None and not (isinstance(seeds, list) and all(
            isinstance(s, list) and all(_is_int(x) and 0 <= x < 1 << 32 for x in s) for s in seeds)):
        problems.append("augment_seeds is not lists of 32-bit counts")
    if problems:
        raise FerEdgeError(f"{path}: damaged checkpoint state: {'; '.join(problems)}"[:600])
    return state


def check_checkpoint(wrapper, path: Path, input_shape: tuple[int, int, int]) -> None:
    """A loaded last.keras must be a compiled training model of this run's input size."""
    name = getattr(wrapper, "name", "")
    layers = {layer.name for layer in getattr(wrapper, "layers", [])}
    if not name.startswith("train_") or name.removeprefix("train_") not in layers:
        raise FerEdgeError(f"{path}: not a fer-edge training checkpoint (model {name!r}); start a new run with another --out")
    if getattr(wrapper, "optimizer", None) is None:
        raise FerEdgeError(f"{path}: the checkpoint holds no optimiser state; start a new run with another --out")
    shape = tuple(wrapper.inputs[0].shape[1:])
    if shape != tuple(input_shape):
        raise FerEdgeError(f"{path}: the checkpoint takes {shape} input, this run's model {tuple(input_shape)}")
