"""Keras model -> .tflite in one of four precisions, written with its metadata sidecar.

    int8     full integer: int8 weights and activations, int8 input and output, only integer
             builtin ops (TFLITE_BUILTINS_INT8), calibrated on representative faces
    float16  float16 weights, float32 compute
    dynamic  int8 weights, float activations (dynamic-range quantisation)
    float32  plain conversion

Keras 3 models go through a SavedModel traced at batch 1 (TFLiteConverter.from_keras_model's
variable handling is not reliable with Keras 3, and a concrete function keeps READ_VARIABLE ops
that calibration cannot run).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fer_edge.atomic import require_output_folder
from fer_edge.convert.files import make_readable, write_temp
from fer_edge.console import held_text, native_stderr_held, quiet_native_stderr
from fer_edge.errors import FerEdgeError
from fer_edge.faces import faces_batch
from fer_edge.modelinfo import ModelInfo, sidecar_path, write_info

MODES = ("int8", "float16", "dynamic", "float32")


def output_path(model_path: str | os.PathLike, mode: str) -> Path:
    """Default output: `<stem>_<mode>.tflite` beside the .keras file."""
    p = Path(model_path)
    return p.with_name(f"{p.stem}_{mode}.tflite")


def export_saved_model(model, dest: str | os.PathLike) -> tuple[int, int]:
    """Export `model` as a SavedModel with one [1, S, S, C] float32 input; returns (S, C)."""
    import tensorflow as tf

    from fer_edge.convert.batch import batch_free
    from fer_edge.convert.keras_model import model_geometry

    size, channels = model_geometry(model, getattr(model, "name", "model"))
    spec = tf.TensorSpec([1, size, size, channels], tf.float32, name="face")
    with quiet_native_stderr():
        batch_free(model).export(str(dest), format="tf_saved_model", input_signature=[spec], verbose=False)
    return size, channels


def _failure_detail(exc: BaseException, log) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    logged = [ln.strip() for ln in held_text(log).splitlines()]
    detail = next((ln for ln in lines + logged if "error" in ln.lower()), lines[0] if lines else type(exc).__name__)
    return detail[:300]


def tflite_bytes(saved_model: str | os.PathLike, mode: str, calib_faces: np.ndarray | None = None,
                 per_tensor: bool = False, progress: bool = False) -> bytes:
    """Convert an exported SavedModel. `calib_faces` (uint8 (N, S, S, C), int8 only) calibrates
    the activation ranges; `per_tensor` gives one weight scale per tensor instead of per channel."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if mode != "float32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        conv.target_spec.supported_types = [tf.float16]
    with native_stderr_held() as (terminal, log):
        bar = None
        if mode == "int8":
            if calib_faces is None or len(calib_faces) == 0:
                raise FerEdgeError("int8 conversion needs calibration faces")
            bar = tqdm(total=len(calib_faces), desc="calibrating", unit=" faces", file=terminal,
                       disable=not progress, leave=False)

            def representative():
                for face in calib_faces:
                    bar.update(1)
                    yield [face[None].astype(np.float32)]

            conv.representative_dataset = representative
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            if per_tensor:
                if not hasattr(conv, "_experimental_disable_per_channel"):
                    raise FerEdgeError("this TensorFlow's converter has no per-tensor quantisation switch")
                conv._experimental_disable_per_channel = True
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return conv.convert()
        except Exception as exc:  # ConverterError, RuntimeError from calibration, ...
            raise FerEdgeError(f"conversion to {mode} failed: {_failure_detail(exc, log)}") from None
        finally:
            if bar is not None:
                bar.close()


def write_model(data: bytes, out: str | os.PathLike, info: ModelInfo) -> ModelInfo:
    """Write `out` and its sidecar; an int8 file is checked to be integer-only and its input and
    output quantisation recorded. Nothing is left behind if any step fails."""
    out = Path(out)
    require_output_folder(out)
    tmp = write_temp(data, out)
    meta = sidecar_path(out)
    meta_written = False
    try:
        if info.precision == "int8":
            from fer_edge.convert.tflite_info import integer_only_problems, io_quantization

            problems = integer_only_problems(tmp)
            if problems:
                raise FerEdgeError(f"{out.name}: int8 conversion is not integer-only: {'; '.join(problems[:3])}")
            info.quantization = {**io_quantization(tmp), **(info.quantization or {})}
        make_readable(write_info(out, info))
        meta_written = True
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if meta_written:
            meta.unlink(missing_ok=True)
        raise
    return info


def convert_keras(model, mode: str, out: str | os.PathLike, calib_images=None, *, name: str | None = None,
                  source: str | None = None, per_tensor: bool = False, calibration: dict | None = None,
                  saved_model: str | None = None, progress: bool = False, normalize: str | None = None) -> ModelInfo:
    """Convert `model` (a .keras path or a loaded Keras model) to `out` with its `.meta.json`.

    calib_images: int8 only, faces in any form fer_edge.faces.faces_batch accepts, e.g. FER2013's
    (N, 48, 48) uint8 images (see fer_edge.data.sampling.stratified_indices for choosing them).
    name, source: recorded in the sidecar (default: the file's stem without suffixes, its file name).
    calibration: provenance recorded in the sidecar (e.g. split, samples, seed).
    saved_model: a folder written by export_saved_model for this model, to skip a second export.
    normalize: the per-crop normalisation the model was trained with (fer_edge.faces.NORMALIZATIONS):
    declared in the sidecar, and applied to the calibration faces.
    """
    from fer_edge.convert.keras_model import load_keras_model, model_geometry, model_name

    if isinstance(model, (str, os.PathLike)):
        source = source or Path(model).name
        name = name or model_name(model)
        model = load_keras_model(model)
    name = name or getattr(model, "name", None) or "model"
    size, channels = model_geometry(model, name)
    if mode == "int8" and calib_images is None:
        raise FerEdgeError("int8 conversion needs calibration images (--data)")
    calib = faces_batch(calib_images, size, channels, normalize) if mode == "int8" else None
    with tempfile.TemporaryDirectory(prefix="fer-edge-savedmodel-") as tmp:
        if saved_model is None:
            saved_model = os.path.join(tmp, "saved_model")
            export_saved_model(model, saved_model)
        data = tflite_bytes(saved_model, mode, calib, per_tensor=per_tensor, progress=progress)
    quant = None
    if mode == "int8":
        quant = {"weights": "per-tensor" if per_tensor else "per-channel"}
        if calibration:
            quant["calibration"] = calibration
    info = ModelInfo(name=name, input_size=size, channels=channels, precision=mode, quantization=quant, source=source,
                     normalize=normalize)
    return write_model(data, out, info)
