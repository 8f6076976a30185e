"""`fer-edge convert` (click definition only; TensorFlow is imported when it runs)."""

from __future__ import annotations

import json

import click

from fer_edge.defaults import NORMALIZATIONS
from fer_edge.errors import FerEdgeError
from fer_edge.options import given_on_command_line


@click.command()
@click.argument("model", type=click.Path(path_type=str))
@click.option("--int8", "int8", is_flag=True, help="Full integer: int8 weights, activations, input and output (needs --data).")
@click.option("--float16", "float16", is_flag=True, help="float16 weights.")
@click.option("--dynamic", "dynamic", is_flag=True, help="Dynamic range: int8 weights, float activations.")
@click.option("--float32", "float32", is_flag=True, help="Plain float32 (the default when no precision is given).")
@click.option("--data", default=None, type=click.Path(path_type=str),
              help="FER2013 (csv, tar.gz, image folder or .npz): int8 calibration on Training, and the report.")
@click.option("--samples", default=500, show_default=True, type=click.IntRange(min=7),
              help="Calibration faces: a stratified sample of Training with all 7 classes.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0), help="Seed of the calibration sample.")
@click.option("--eval-split", default="PublicTest", show_default=True, help="Split the report's accuracies are measured on.")
@click.option("-o", "--output", default=None, type=click.Path(path_type=str),
              help="Output .tflite [default: <stem>_<precision>.tflite beside MODEL].")
@click.option("--latency-runs", default=200, show_default=True, type=click.IntRange(min=0),
              help="Single-face invokes timed per file and thread count (0: skip latency).")
@click.option("--per-tensor", is_flag=True,
              help="int8: one weight scale per tensor instead of per channel (smaller file, may cost accuracy).")
@click.option("--normalize", type=click.Choice([n for n in NORMALIZATIONS if n]), default=None,
              help="The per-crop normalisation the model takes (fer_edge/faces.py: standardize, as trained with "
                   "train/field_views.py --normalize; stretch, which leaves 99% of FER2013's faces as they are): "
                   "declared in the metadata, applied to calibration and report faces and at run time.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def convert(model, int8, float16, dynamic, float32, data, samples, seed, eval_split, output, latency_runs,
            per_tensor, normalize, as_json) -> None:
    """Convert a trained MODEL.keras to TFLite and report float vs converted side by side.

    Writes OUT.tflite, OUT.meta.json (labels, input size and channels, preprocessing, quantisation:
    what `fer-edge run` and `evaluate` read) and OUT.convert.json (the report). For every precision
    but float32 the float32 file is also built, in a temporary folder, for the size and latency
    comparison.
    """
    chosen = [m for m, on in (("int8", int8), ("float16", float16), ("dynamic", dynamic), ("float32", float32)) if on]
    if len(chosen) > 1:
        raise FerEdgeError(f"choose one precision, not {' and '.join('--' + m for m in chosen)}")
    _refuse_unused_options(chosen[0] if chosen else "float32", data)
    from fer_edge.keras_files import require_host_side

    require_host_side("converting")
    from fer_edge.convert.staged import run_convert
    from fer_edge.convert.report import format_report

    report = run_convert(model, chosen[0] if chosen else "float32", data=data, samples=samples, seed=seed,
                         eval_split=eval_split, output=output, latency_runs=latency_runs, per_tensor=per_tensor,
                         progress=not as_json, normalize=normalize)
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(format_report(report))
    from fer_edge.quick_try import quick_try_note

    note = quick_try_note(model)
    if note and "targets" in report:  # a 2-epoch model misses targets set for trained ones: not a fault
        click.echo(f"{note}; the targets are for fully trained models")
    elif note:
        click.echo(note)
    click.echo(f"wrote {report['files']['tflite']} (+ {', '.join(report['files'][k] for k in ('metadata', 'report'))})")


def _refuse_unused_options(mode: str, data: str | None) -> None:
    """Options given that this conversion would not use are an error, not silently dropped."""
    given = given_on_command_line()
    problems = [f"{given[name]} applies to --int8 only" for name in ("samples", "seed") if name in given and mode != "int8"]
    if "eval_split" in given and not data:
        problems.append(f"{given['eval_split']} needs --data")
    if problems:
        raise FerEdgeError("; ".join(problems))
