"""Model cards from what the commands wrote: the run directories (config, metrics) of each training
stage and the converter's report. Every figure in a card is copied from those files.

    python -m fer_edge.train.card RUN_DIR [RUN_DIR ...] --convert models/NAME_int8.convert.json \
        --train-command "fer-edge train ..." [--train-command ...] --convert-command "fer-edge convert ..." \
        -o models/NAME.md

Several RUN_DIRs are stages in order (e.g. training with augmentation, then fine-tuning with
`--init`); the last one's model is the one shipped.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from fer_edge.atomic import write_text
from fer_edge.machine import cpu_model
from fer_edge.train.rundir import teacher_paths


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _short(path: str) -> str:
    """Run folder and file name: every stage's model is `<model>.keras`, so the folder tells them apart."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _stage_row(i: int, cfg: dict, metrics: dict, where: str = "") -> str:
    aug = f"augmentation x{cfg.get('aug_strength', 1.0)}" if cfg["augment"] else "no augmentation"
    if cfg.get("mixup"):
        aug += f", mixup {cfg['mixup']}"
    start = f"from {_short(cfg['init'])}" if cfg.get("init") else "from scratch"
    if cfg.get("freeze_from"):
        start += f", layers from {cfg['freeze_from']} on frozen"
    if cfg.get("reparam"):
        start += ", RepVGG branches folded after training"
    teachers = teacher_paths(cfg.get("teacher"))
    teacher = f", distilled from {' + '.join(_short(t) for t in teachers)}" if teachers else ""
    if teachers and cfg.get("online_teacher"):
        teacher += " (online)"
    elif teachers and cfg.get("teacher_data"):
        teacher += f" (their targets from {_short(cfg['teacher_data'])})"
    return (f"| {i} | {start}{teacher}; {aug}; AdamW peak lr {cfg['learning_rate']}, batch {cfg['batch_size']}, "
            f"class weight {cfg['class_weight']}, label smoothing {cfg['label_smoothing']}{where} | "
            f"{metrics['epochs_run']} of {cfg['epochs']} (best {metrics['best_epoch']}) | "
            f"{metrics['wall_s'] / 60:.1f} min | {_pct(metrics['accuracy'])} |")


def render(runs: list[Path], convert: dict | None, train_cmds: list[str], convert_cmd: str | None,
           hardware: str | list[str], name: str | None = None) -> str:
    """`hardware`: one description for every stage, or one per stage (stages that ran on different
    machines, e.g. a GPU's then a CPU's: each row then says where it ran and on which backend)."""
    stages = [(json.loads((r / "config.json").read_text()), json.loads((r / "metrics.json").read_text())) for r in runs]
    cfg, metrics = stages[-1]
    hardware = [hardware] if isinstance(hardware, str) else list(hardware)
    per_stage = hardware * len(stages) if len(hardware) == 1 else hardware
    backends = [m["backend"] for _, m in stages]
    mixed = len(set(per_stage)) > 1 or len(set(backends)) > 1
    where = [f"; {hw}, Keras 3 on {b}" if mixed else "" for hw, b in zip(per_stage, backends)]
    ran_on = ("Hardware and backend: per stage, below." if mixed else
              f"Hardware: {per_stage[0]}; Keras 3 on {metrics['backend']} ({metrics['distribution']}).")
    title = f"`{name or cfg['model']}`"
    if name and name != cfg["model"]:  # a shipped variant, e.g. ferfast112 = ferfast --width 112
        title += f" (`{cfg['model']}" + (f" --width {cfg['width']}`)" if cfg.get("width") else "`)")
    subset = f" (first {cfg['limit']} rows only)" if cfg.get("limit") else ""
    size = convert["input"]["size"] if convert else "?"
    lines = [
        f"# Model card: {title}",
        "",
        "Facial-expression classifier over the 7 FER2013 classes (angry, disgust, fear, happy, sad, surprise, neutral).",
        f"Input: {size}x{size} grey face crop as raw grey levels 0..255 (the model scales them); crop and "
        "preprocessing: `fer_edge/faces.py`.",
        "",
        "## Training",
        "",
        f"Data: FER2013 Training split{subset}; every stage keeps its best epoch by PublicTest accuracy "
        f"(n = {metrics['n']}). Parameters: {metrics['params']:,}. {ran_on} Total wall time "
        f"{sum(m['wall_s'] for _, m in stages) / 60:.1f} min.",
        "",
        "| stage | settings | epochs | wall time | PublicTest accuracy |",
        "|---|---|---|---|---|",
        *[_stage_row(i, c, m, w) for i, ((c, m), w) in enumerate(zip(stages, where), start=1)],
        "",
        "Reproduce:",
        "",
        *[f"    {cmd}" for cmd in train_cmds],
        "",
        "## Accuracy on PublicTest (Keras model)",
        "",
        f"accuracy **{_pct(metrics['accuracy'])}**, macro-F1 {metrics['macro_f1']:.4f} (n = {metrics['n']})",
        "",
        "| class | precision | recall | f1 | support |",
        "|---|---|---|---|---|",
    ]
    for cls, c in metrics["per_class"].items():
        lines.append(f"| {cls} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
    if convert:
        lat = convert.get("latency_ms")  # None after `convert --latency-runs 0`
        q = convert["quantization"]
        split = (convert.get("eval") or {}).get("split", "PublicTest")
        lines += [
            "",
            "## Conversion (float32 vs int8 TFLite)",
            "",
            "| | float32 | int8 |",
            "|---|---|---|",
            f"| size | {convert['size_bytes']['float32']:,} B | {convert['size_bytes']['int8']:,} B (1/{convert['size_ratio']:.2f}) |",
            f"| {split} accuracy | {_pct(convert['float_accuracy'])} | {_pct(convert['int8_accuracy'])} |",
            *([f"| latency per face, {t} thread{'s' if t > 1 else ''} | {lat['float32'][f'threads_{t}']:.3f} ms | "
               f"{lat['int8'][f'threads_{t}']:.3f} ms |" for t in (1, 2)] if lat else []),
            "",
            f"Top-1 agreement float vs int8: {_pct(convert['agreement'])}. Calibration: "
            f"{q['calibration']['samples']} stratified Training faces (seed {q['calibration']['seed']}); "
            f"weights {q['weights']}; int8 input scale {q['input']['scale']}, zero point {q['input']['zero_point']}. " +
            (f"Latency: {convert['latency']['statistic']} over {convert['latency']['runs']} runs through "
             f"{convert['latency']['runtime']} on {convert['latency']['host']}, measured while the machine was "
             "busy with other work, so treat it as an upper bound (`fer-edge bench --classify-only` measures it alone)."
             if lat else "Latency: not measured (`fer-edge bench --classify-only` measures it)."),
        ]
        if convert_cmd:
            lines += ["", "Reproduce:", "", f"    {convert_cmd}"]
    return "\n".join(lines) + "\n"


def _check_inputs(runs: list[Path], convert: dict | None, train_cmds: list[str], name: str | None,
                  hardware: list[str] | None = None) -> None:
    """A card must describe one model: every stage a finished run, one command per stage, and the
    conversion report of that model at int8 (what the card's conversion table shows)."""
    for run in runs:
        if not (run / "config.json").is_file() or not (run / "metrics.json").is_file():
            raise SystemExit(f"error: {run}: not a finished training run (config.json and metrics.json)")
    if len(train_cmds) != len(runs):
        raise SystemExit(f"error: {len(runs)} runs but {len(train_cmds)} --train-command; give one per stage")
    if hardware and len(hardware) not in {1, len(runs)}:
        raise SystemExit(f"error: {len(runs)} runs but {len(hardware)} --hardware; give one, or one per stage")
    if convert:
        model = json.loads((runs[-1] / "config.json").read_text())["model"]
        if convert.get("model") not in {model, name}:
            raise SystemExit(f"error: the conversion report is of {convert.get('model')!r}, the last run of {model!r}")
        if convert.get("mode") != "int8":
            raise SystemExit(f"error: the conversion report is of {convert.get('mode')}; the card compares float32 with int8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write a model card from training runs and a conversion report.")
    ap.add_argument("runs", type=Path, nargs="+", help="run directories, one per training stage, in order")
    ap.add_argument("--convert", type=Path, default=None, help="the converter's <stem>.convert.json")
    ap.add_argument("--train-command", action="append", required=True, help="once per stage")
    ap.add_argument("--convert-command", default=None)
    ap.add_argument("--hardware", action="append", default=None,
                    help="where the stages ran: once for all, or once per stage [this machine's CPU and core count]")
    ap.add_argument("--name", default=None, help="name of the shipped model, when it differs from the builder's")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    hardware = args.hardware or [f"{cpu_model()}, {os.cpu_count()} cores, no GPU"]
    convert = json.loads(args.convert.read_text()) if args.convert else None
    _check_inputs(args.runs, convert, args.train_command, args.name, hardware)
    write_text(args.output, render(args.runs, convert, args.train_command, args.convert_command, hardware, args.name))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
