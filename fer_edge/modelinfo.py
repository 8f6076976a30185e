"""What a runtime must know to use a model file without guessing, kept in a sidecar JSON.

`models/baseline_int8.tflite` is described by `models/baseline_int8.meta.json`. The converter
writes it; `fer-edge run`, `bench` and `evaluate` read it. Nothing on the device side hard-codes
an input size, a label order or a normalisation.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer_edge.atomic import write_text
from fer_edge.errors import FerEdgeError
from fer_edge.faces import DEFAULT_MARGIN, DEFAULT_SHIFT, NORMALIZATIONS
from fer_edge.labels import EMOTIONS

META_FORMAT = 1
# The model takes raw grey levels 0..255 (grey replicated when it has 3 channels) and does its
# own scaling inside the graph; see fer_edge.faces.face_input.
INPUT_GRAY_PIXELS = "gray_pixels_0_255"
MAX_META_BYTES = 1 << 20


@dataclass
class ModelInfo:
    name: str
    input_size: int
    channels: int
    labels: list[str] = field(default_factory=lambda: list(EMOTIONS))
    input_kind: str = INPUT_GRAY_PIXELS
    crop_margin: float = DEFAULT_MARGIN
    crop_shift: float = DEFAULT_SHIFT
    # per-crop photometric normalisation the model was trained with (fer_edge.faces.NORMALIZATIONS);
    # None, and any sidecar written before the field, means raw grey levels
    normalize: str | None = None
    precision: str = "float32"  # float32 | float16 | dynamic | int8
    # {"input": {"dtype": "int8", "scale": s, "zero_point": z}, "output": {...}} for int8 models
    quantization: dict | None = None
    source: str | None = None  # the .keras file it came from
    format: int = META_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict, where: str = "metadata") -> "ModelInfo":
        if not isinstance(d, dict):
            raise FerEdgeError(f"{where}: model metadata must be a JSON object, not {type(d).__name__}")
        try:
            info = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except TypeError as exc:
            raise FerEdgeError(f"{where}: incomplete model metadata ({exc})") from None
        if not _is_int(info.format) or info.format != META_FORMAT:
            raise FerEdgeError(f"{where}: metadata format {info.format!r} is not {META_FORMAT}")
        if info.input_kind != INPUT_GRAY_PIXELS:
            raise FerEdgeError(f"{where}: unsupported input kind {info.input_kind!r}")
        _check_fields(info, where)
        if len(info.labels) < 2:
            raise FerEdgeError(f"{where}: metadata lists no labels")
        if len(set(info.labels)) != len(info.labels):  # the scores are keyed by label: one would hide another
            twice = sorted({label for label in info.labels if info.labels.count(label) > 1})
            raise FerEdgeError(f"{where}: metadata lists {', '.join(map(repr, twice))} more than once")
        return info


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


# Ranges a usable model's metadata lies in: the shipped models use 48 (197 for resnet50), a margin
# of 0.08 and a shift of -0.11; values far outside would make crops of no face or of gigapixels.
INPUT_SIZES = (8, 1024)
CROP_MARGINS = (0.0, 1.0)
CROP_SHIFTS = (-1.0, 1.0)


def _check_fields(info: ModelInfo, where: str) -> None:
    """Types and ranges of the fields the runtime computes with, so that a hand-edited sidecar
    fails here, in one line, rather than deep inside the pipeline."""
    problems = []
    if not isinstance(info.name, str):
        problems.append(f"name {info.name!r} is not text")
    if not _is_int(info.input_size) or not INPUT_SIZES[0] <= info.input_size <= INPUT_SIZES[1]:
        problems.append(f"input_size {info.input_size!r} is not a whole number in {INPUT_SIZES[0]}..{INPUT_SIZES[1]}")
    if not _is_int(info.channels) or info.channels not in (1, 3):
        problems.append(f"channels {info.channels!r} is not 1 or 3")
    if not isinstance(info.labels, list) or not all(isinstance(x, str) and x.strip() for x in info.labels):
        problems.append(f"labels {info.labels!r} is not a list of names")
    for field_name, (low, high) in (("crop_margin", CROP_MARGINS), ("crop_shift", CROP_SHIFTS)):
        value = getattr(info, field_name)
        if not _is_number(value) or not low <= value <= high:
            problems.append(f"{field_name} {value!r} is not a number in {low}..{high}")
    if info.normalize not in NORMALIZATIONS:
        problems.append(f"normalize {info.normalize!r} is not one of {', '.join(map(repr, NORMALIZATIONS))}")
    if not isinstance(info.precision, str):
        problems.append(f"precision {info.precision!r} is not text")
    if info.quantization is not None and not isinstance(info.quantization, dict):
        problems.append(f"quantization {info.quantization!r} is not an object")
    if info.source is not None and not isinstance(info.source, str):
        problems.append(f"source {info.source!r} is not text")
    if problems:
        raise FerEdgeError(f"{where}: bad model metadata: {'; '.join(problems)}"[:600])


def sidecar_path(model_path: str | os.PathLike) -> Path:
    p = Path(model_path)
    return p.with_name(p.stem + ".meta.json")


def write_info(model_path: str | os.PathLike, info: ModelInfo) -> Path:
    """Write the sidecar atomically (temp file, then rename)."""
    return write_text(sidecar_path(model_path), info.to_json() + "\n")


def read_info(model_path: str | os.PathLike) -> ModelInfo:
    path = sidecar_path(model_path)
    if not path.is_file():
        raise FerEdgeError(f"{model_path}: no metadata file {path.name} beside it (convert with `fer-edge convert`)")
    try:
        if path.stat().st_size > MAX_META_BYTES:
            raise ValueError(f"{path.stat().st_size} bytes; a model's metadata takes about one thousand")
        d = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
        raise FerEdgeError(f"{path}: unreadable metadata ({str(exc)[:300]})") from None
    return ModelInfo.from_dict(d, str(path))
