"""Model cards from what the commands wrote: the run directory (config, metrics, state) and the
converter's report. Every figure in a card is copied from those files, never typed by hand.

    python -m fer_edge.train.card RUN_DIR --convert models/NAME_int8.convert.json \
        --train-command "fer-edge train ..." --convert-command "fer-edge convert ..." -o models/NAME.md
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

from fer_edge.atomic import write_text


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def render(run: Path, convert: dict | None, train_cmd: str, convert_cmd: str | None, hardware: str) -> str:
    cfg = json.loads((run / "config.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    name = cfg["model"]
    subset = f" (first {cfg['limit']} rows only)" if cfg.get("limit") else ""
    lines = [
        f"# Model card: `{name}`",
        "",
        "Facial-expression classifier, 7 FER2013 classes (angry, disgust, fear, happy, sad, surprise, neutral).",
        f"Input: {convert['input']['size'] if convert else '?'}x{convert['input']['size'] if convert else '?'} grey face crop, "
        "raw grey levels 0..255 (the model scales them); crop and preprocessing: `fer_edge.faces`.",
        "",
        "## Training",
        "",
        "| | |",
        "|---|---|",
        f"| data | FER2013 Training split{subset}, "
        f"model selected on PublicTest (n = {metrics['n']}) |",
        f"| parameters | {metrics['params']:,} |",
        f"| epochs run | {metrics['epochs_run']} (best PublicTest epoch {metrics['best_epoch']}; cosine schedule over {cfg['epochs']}, early-stopping patience {cfg['patience']}) |",
        f"| batch, learning rate | {cfg['batch_size']}, AdamW peak {cfg['learning_rate']} (weight decay {cfg['weight_decay']}), label smoothing {cfg['label_smoothing']} |",
        f"| augmentation | {'mirror, rotate ±10°, shift ±10%, crop/zoom, brightness, contrast' if cfg['augment'] else 'none'} |",
        f"| class weighting | {cfg['class_weight']} |",
        f"| teacher | {cfg.get('teacher') or 'none'} |",
        f"| wall time | {metrics['wall_s'] / 60:.1f} min |",
        f"| hardware | {hardware} |",
        f"| backend | Keras 3 on {metrics['backend']} ({metrics['distribution']}) |",
        "",
        "Reproduce:",
        "",
        f"    {train_cmd}",
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
        lat = convert["latency_ms"]
        lines += [
            "",
            "## Conversion (float32 vs int8 TFLite)",
            "",
            "| | float32 | int8 |",
            "|---|---|---|",
            f"| size | {convert['size_bytes']['float32']:,} B | {convert['size_bytes']['int8']:,} B (1/{convert['size_ratio']:.2f}) |",
            f"| PublicTest accuracy | {_pct(convert['float_accuracy'])} | {_pct(convert['int8_accuracy'])} |",
            f"| latency per face, 1 thread | {lat['float32']['threads_1']:.3f} ms | {lat['int8']['threads_1']:.3f} ms |",
            f"| latency per face, 2 threads | {lat['float32']['threads_2']:.3f} ms | {lat['int8']['threads_2']:.3f} ms |",
            "",
            f"Top-1 agreement float vs int8: {_pct(convert['agreement'])}. Calibration: "
            f"{convert['quantization']['calibration']['samples']} stratified Training faces (seed "
            f"{convert['quantization']['calibration']['seed']}); weights {convert['quantization']['weights']}; "
            f"int8 input scale {convert['quantization']['input']['scale']}, zero point {convert['quantization']['input']['zero_point']}. "
            f"Latency: {convert['latency']['statistic']} over {convert['latency']['runs']} runs through "
            f"{convert['latency']['runtime']} on {convert['latency']['host']}.",
        ]
        if convert_cmd:
            lines += ["", "Reproduce:", "", f"    {convert_cmd}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write a model card from a training run and a conversion report.")
    ap.add_argument("run", type=Path)
    ap.add_argument("--convert", type=Path, default=None, help="the converter's <stem>.convert.json")
    ap.add_argument("--train-command", required=True)
    ap.add_argument("--convert-command", default=None)
    ap.add_argument("--hardware", default=None, help="default: this machine's CPU and core count")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args(argv)
    import os

    hardware = args.hardware or f"{cpu_name()}, {os.cpu_count()} cores, no GPU"
    convert = json.loads(args.convert.read_text()) if args.convert else None
    write_text(args.output, render(args.run, convert, args.train_command, args.convert_command, hardware))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
