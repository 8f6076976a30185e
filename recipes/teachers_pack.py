"""Carry trained teachers to a GPU machine in a fifth of their size, and unpack them there.

    python recipes/teachers_pack.py pack A.keras B.keras [--bits 7] -o .gpu/teachers.npz.xz   # here
    python3 recipes/teachers_pack.py unpack .gpu/teachers.npz.xz -o /tmp/teachers    # there: A.keras, B.keras

A `fervgg --width 48` teacher is 14.2 MB as .keras, and the device transfer (64 MiB) already holds the
repo, the data and the Keras wheels. Packed, every kernel is int8 with one float32 scale per output
channel (symmetric, as TFLite's per-channel weights; --bits 7 uses 127 levels instead of 255, which
xz then packs ~14% smaller); biases and BatchNorm statistics stay float32;
the architecture travels as Keras JSON, so unpacking needs no builder. An unpacked teacher is the
weight-quantised model, so unpack here first and `fer-edge evaluate` it before trusting a packing
(README, GPU recipe, has the figures for the two GPU teachers). The file is written atomically.
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
import sys
from pathlib import Path

import numpy as np

from fer_edge.atomic import atomic_output
from fer_edge.errors import FerEdgeError
from fer_edge.keras_files import import_keras, load_keras_file


def quantise(w: np.ndarray, bits: int = 8) -> dict[str, np.ndarray]:
    if w.ndim < 2:
        return {"f": w.astype(np.float32)}
    top = 2 ** (bits - 1) - 1  # fewer levels: fewer bits per weight after xz
    # one scale per output channel: the last axis, or for a depthwise kernel (h, w, C, 1) its channels
    channel_axis = w.ndim - 2 if w.ndim == 4 and w.shape[-1] == 1 else w.ndim - 1
    others = tuple(a for a in range(w.ndim) if a != channel_axis)
    peak = np.abs(w).max(axis=others, keepdims=True)
    scale = np.where(peak > 0, peak / top, 1.0).astype(np.float32)
    return {"q": np.clip(np.round(w / scale), -top, top).astype(np.int8), "s": scale}


def dequantise(parts: dict[str, np.ndarray]) -> np.ndarray:
    return parts["f"] if "f" in parts else parts["q"].astype(np.float32) * parts["s"]


def pack(models: list[Path], out: Path, bits: int = 8) -> None:
    arrays: dict[str, np.ndarray] = {}
    names = [p.stem for p in models]
    if len(set(names)) < len(names):  # run folders all hold best.keras: name them by their folders
        names = [f"{p.parent.name}_{p.stem}" for p in models]
    if len(set(names)) < len(names):
        raise FerEdgeError(f"teachers would unpack to the same name: {', '.join(map(str, models))}")
    for m, path in enumerate(models):
        model = load_keras_file(path, "teacher model")
        arrays[f"m{m}_json"] = np.frombuffer(model.to_json().encode(), np.uint8)
        for i, w in enumerate(model.get_weights()):
            for kind, a in quantise(w, bits).items():
                arrays[f"m{m}_w{i}_{kind}"] = a
    arrays["names"] = np.frombuffer(json.dumps(names).encode(), np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with atomic_output(out) as tmp:
        Path(tmp).write_bytes(lzma.compress(buf.getvalue(), preset=9 | lzma.PRESET_EXTREME))
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {len(models)} teachers)")


def unpack(packed: Path, out_dir: Path) -> list[Path]:
    keras = import_keras()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with np.load(io.BytesIO(lzma.decompress(packed.read_bytes()))) as z:
        for m, name in enumerate(json.loads(bytes(z["names"]).decode())):
            model = keras.models.model_from_json(bytes(z[f"m{m}_json"]).decode())
            weights = []
            for i in range(len(model.weights)):
                parts = {k: z[f"m{m}_w{i}_{k}"] for k in ("f", "q", "s") if f"m{m}_w{i}_{k}" in z}
                weights.append(dequantise(parts))
            model.set_weights(weights)
            path = out_dir / f"{name}.keras"
            model.save(path)
            written.append(path)
            print(f"unpacked {path} ({model.count_params():,} parameters)")
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pack")
    p.add_argument("models", nargs="+", type=Path)
    p.add_argument("-o", "--out", type=Path, required=True)
    p.add_argument("--bits", type=int, default=8, choices=range(4, 9), help="weight levels: 2^(bits-1)-1 each side")
    u = sub.add_parser("unpack")
    u.add_argument("packed", type=Path)
    u.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args()
    try:
        if args.cmd == "pack":
            pack(args.models, args.out, args.bits)
        else:
            unpack(args.packed, args.out)
    except FerEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, lzma.LZMAError) as exc:
        if args.cmd == "unpack":  # not a file this script wrote, or no room for the models
            print(f"error: {args.packed}: cannot unpack ({exc})", file=sys.stderr)
        else:
            print(f"error: {args.out}: cannot pack ({exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
