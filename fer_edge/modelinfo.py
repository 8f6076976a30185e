"""What a runtime must know to use a model file without guessing, kept in a sidecar JSON.

`models/baseline_int8.tflite` is described by `models/baseline_int8.meta.json`. The converter
writes it; `fer-edge run`, `bench` and `evaluate` read it. Nothing on the device side hard-codes
an input size, a label order or a normalisation.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fer_edge.atomic import write_text
from fer_edge.errors import FerEdgeError
from fer_edge.faces import DEFAULT_MARGIN, DEFAULT_SHIFT
from fer_edge.labels import EMOTIONS

META_FORMAT = 1
# The model takes raw grey levels 0..255 (grey replicated when it has 3 channels) and does its
# own scaling inside the graph; see fer_edge.faces.face_input.
INPUT_GRAY_PIXELS = "gray_pixels_0_255"


@dataclass
class ModelInfo:
    name: str
    input_size: int
    channels: int
    labels: list[str] = field(default_factory=lambda: list(EMOTIONS))
    input_kind: str = INPUT_GRAY_PIXELS
    crop_margin: float = DEFAULT_MARGIN
    crop_shift: float = DEFAULT_SHIFT
    precision: str = "float32"  # float32 | float16 | dynamic | int8
    # {"input": {"dtype": "int8", "scale": s, "zero_point": z}, "output": {...}} for int8 models
    quantization: dict | None = None
    source: str | None = None  # the .keras file it came from
    format: int = META_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, d: dict, where: str = "metadata") -> "ModelInfo":
        try:
            info = cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})
        except TypeError as exc:
            raise FerEdgeError(f"{where}: incomplete model metadata ({exc})") from None
        if info.format != META_FORMAT:
            raise FerEdgeError(f"{where}: metadata format {info.format} is not {META_FORMAT}")
        if info.input_kind != INPUT_GRAY_PIXELS:
            raise FerEdgeError(f"{where}: unsupported input kind {info.input_kind!r}")
        if len(info.labels) < 2:
            raise FerEdgeError(f"{where}: metadata lists no labels")
        if len(set(info.labels)) != len(info.labels):  # the scores are keyed by label: one would hide another
            twice = sorted({label for label in info.labels if info.labels.count(label) > 1})
            raise FerEdgeError(f"{where}: metadata lists {', '.join(map(repr, twice))} more than once")
        return info


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
        d = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FerEdgeError(f"{path}: unreadable metadata ({exc})") from None
    return ModelInfo.from_dict(d, str(path))
