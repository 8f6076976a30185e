"""`fer-edge convert` end to end: check every input first, convert into a hidden staging folder
beside the output, report, then move the finished files into place. An error or Ctrl-C at any
point leaves no .tflite, sidecar or report behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from fer_edge.atomic import clean_leftovers, require_output_folder, temp_prefix, write_json
from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import sidecar_path

CALIBRATION_SPLIT = "Training"


def report_path(out: str | os.PathLike) -> Path:
    p = Path(out)
    return p.with_name(p.stem + ".convert.json")


def _resolve_output(model_path: Path, mode: str, output: str | None) -> Path:
    from fer_edge.convert.converter import output_path

    out = Path(output) if output else output_path(model_path, mode)
    if out.suffix != ".tflite":
        raise FerEdgeError(f"{out}: output must be a .tflite file")
    return require_output_folder(out)


def _calibration_indices(dataset, data: str, samples: int, seed: int):
    import numpy as np

    from fer_edge.data.sampling import stratified_indices

    split = dataset.split(CALIBRATION_SPLIT)
    if len(split) < samples:
        raise FerEdgeError(f"{data}: too few {CALIBRATION_SPLIT} rows to calibrate: {len(split)}, --samples asks"
                           f" for {samples}")
    try:
        return split, np.asarray(stratified_indices(split.labels, samples, seed))
    except FerEdgeError as exc:
        raise FerEdgeError(f"{data}: cannot calibrate on {CALIBRATION_SPLIT}: {exc}") from None


def run_convert(model: str, mode: str, data: str | None = None, samples: int = 500, seed: int = 0,
                eval_split: str = "PublicTest", output: str | None = None, latency_runs: int = 200,
                per_tensor: bool = False, progress: bool = False, normalize: str | None = None) -> dict:
    """Convert `model` to `mode`, report against float32, write `<out>`, its `.meta.json` and
    `.convert.json`; returns the report (with the paths written under "files")."""
    from fer_edge.convert.converter import MODES
    from fer_edge.convert.keras_model import check_keras_file, model_name

    if mode not in MODES:
        raise FerEdgeError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode == "int8" and not data:
        raise FerEdgeError("--int8 needs --data (FER2013, for calibration on its Training split)")
    if per_tensor and mode != "int8":
        raise FerEdgeError("--per-tensor applies to --int8 only")
    model_path = check_keras_file(model)
    out = _resolve_output(model_path, mode, output)

    # Data problems surface before TensorFlow is even imported.
    eval_part = calib_part = idx = None
    if data:
        from fer_edge.data.cache import load

        dataset = load(data, progress=progress)
        eval_part = dataset.split(eval_split)
        if mode == "int8":
            calib_part, idx = _calibration_indices(dataset, data, samples, seed)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from fer_edge.convert.converter import convert_keras, export_saved_model
    from fer_edge.convert.keras_model import load_keras_model
    from fer_edge.convert.report import build_report

    keras_model = load_keras_model(model_path)
    name = model_name(model_path)
    try:
        clean_leftovers(out.parent)  # a killed conversion's staging folder
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=temp_prefix("fer-edge-convert")))
    except OSError as exc:
        raise FerEdgeError(f"{out.parent}: cannot write there ({exc.strerror})") from None
    try:
        saved_model = staging / "saved_model"
        export_saved_model(keras_model, saved_model)
        staged = {mode: staging / out.name}
        calibration = None
        if mode == "int8":
            calibration = {"split": CALIBRATION_SPLIT, "samples": int(len(idx)), "seed": seed, "data": Path(data).name}
        convert_keras(keras_model, mode, staged[mode], calib_part.images[idx] if idx is not None else None,
                      name=name, source=model_path.name, per_tensor=per_tensor, calibration=calibration,
                      saved_model=str(saved_model), progress=progress, normalize=normalize)
        converted = staged[mode]
        if mode != "float32":  # the float32 reference file, for size and latency; not kept
            (staging / "reference").mkdir()
            staged["float32"] = staging / "reference" / f"{out.stem}_float32_reference.tflite"
            convert_keras(keras_model, "float32", staged["float32"], name=name, source=model_path.name,
                          saved_model=str(saved_model), normalize=normalize)
        report = build_report(keras_model, staged, mode,
                              eval_part.images if eval_part is not None else None,
                              eval_part.labels if eval_part is not None else None,
                              eval_split if eval_part is not None else None, latency_runs, progress)
        if data:
            report["data"] = Path(data).name
        files = {"tflite": str(out), "metadata": str(sidecar_path(out)), "report": str(report_path(out))}
        report["files"] = files
        write_json(staging / report_path(out).name, report)
        # Finished: move into place, the model file last so it never appears without its sidecar.
        os.replace(sidecar_path(converted), files["metadata"])
        os.replace(staging / report_path(out).name, files["report"])
        os.replace(converted, out)
        return report
    finally:
        shutil.rmtree(staging, ignore_errors=True)
