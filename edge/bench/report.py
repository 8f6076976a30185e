"""Plain-text report of `fer-edge bench` results (the --json output carries the same numbers)."""

from __future__ import annotations

from pathlib import Path

from fer_edge.edge.results import STAGES
from fer_edge.table import format_table, wrap_text


def _ms(v: float) -> str:
    return f"{v:.2f}"


def _load(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values) if values else "n/a"


def machine_line(report: dict) -> str:
    m = report["machine"]
    return (f"machine: {m['cpu']}, {m['cores']} cores ({m['arch']}), Python {m['python']}; load average "
            f"{_load(m['load_average'])} at start, {_load(report.get('load_average_end', []))} at end")


def _stage_table(run: dict) -> str:
    rows = []
    for stage in STAGES:
        s = run["stages"][stage]
        rows.append([stage, _ms(s["median_ms"]), _ms(s["p95_ms"]), _ms(s["p99_ms"]), _ms(s["mean_ms"])])
    f = run["frame_ms"]
    rows.append(["frame (all stages)", _ms(f["median_ms"]), _ms(f["p95_ms"]), _ms(f["p99_ms"]), _ms(f["mean_ms"])])
    c = run["classify_per_face_ms"]
    rows.append(["classify per face", _ms(c["median_ms"]), _ms(c["p95_ms"]), _ms(c["p99_ms"]), _ms(c["mean_ms"])])
    return format_table(["stage", "median ms", "p95 ms", "p99 ms", "mean ms"], rows)


def _run_title(run: dict) -> str:
    mode = "on" if run["capture_thread"] else "off"
    text = (f"threads {run['threads']}, capture thread {mode}: {run['frames']} frames, {run['faces']} faces; "
            f"{run['fps']:.1f} FPS, {run['faces_per_s']:.1f} faces/s, CPU {run['cpu_percent']:.0f}% of one core")
    if run.get("dropped"):
        text += f", {run['dropped']} camera frames dropped"
    return text


def pipeline_text(report: dict) -> str:
    src, model = report["source"], report["model"]
    size = src["size"]
    where = Path(src["name"]).name if not src["live"] else src["name"]
    if src.get("sizes_vary"):
        first = src["decoded_size"]
        frames = (f"sizes vary, first {first[0]}x{first[1]}" if size == first
                  else f"sizes vary, letterboxed to {size[0]}x{size[1]}")
    elif src["decoded_size"] and size and src["decoded_size"] != size:
        frames = f"{src['decoded_size'][0]}x{src['decoded_size'][1]} letterboxed to {size[0]}x{size[1]}"
    else:
        frames = f"{size[0]}x{size[1]}" if size else "size unknown"
    flip = ", flip TTA" if model.get("tta") == "flip" else ""
    chosen = f"{model['choice']}: " if model.get("choice") else ""
    lines = [f"fer-edge bench: {where} ({frames}), model {chosen}{model['name']} ({model['precision']}, "
             f"{', '.join(Path(p).name for p in model['paths'])}{flip}), {report['warmup']} warm-up frames",
             *([f"detector {report['detector']}, on every frame" if report.get("detect_every") == 1 else
                f"detector {report['detector']}, on every {report['detect_every']} frames (boxes held between)"]
               if report.get("detector") and report.get("detect_every") else []),
             machine_line(report), ""]
    for run in report["runs"]:
        lines += [_run_title(run), _stage_table(run), ""]
    if len(report["runs"]) > 1:
        rows = [[r["threads"], "on" if r["capture_thread"] else "off", f"{r['fps']:.1f}", f"{r['faces_per_s']:.1f}",
                 _ms(r["frame_ms"]["median_ms"]), _ms(r["frame_ms"]["p95_ms"]), f"{r['cpu_percent']:.0f}"]
                for r in report["runs"]]
        lines += [format_table(["threads", "capture thread", "FPS", "faces/s", "frame median ms", "frame p95 ms",
                                "CPU %"], rows), ""]
    st = report.get("startup")
    if st:
        until = "the first face" if st["first_result"] == "face line" else "exit (no face in the first frame)"
        runs = ", ".join(f"{v:.2f}" for v in st["runs_s"])
        rss = f"; its peak RSS by then {st['peak_rss_mb']:.0f} MB" if st["peak_rss_mb"] is not None else ""
        lines.append(f"start-up: {st['s']:.2f} s from process start to {until} (median of fresh "
                     f"`fer-edge run --max-frames 1` processes: {runs} s{rss})")
    else:
        lines.append("start-up: not measured (--startup-runs 0)")
    lines.append(f"peak RSS: {report['peak_rss_mb']:.0f} MB (this process, all runs)")
    return wrap_text("\n".join(lines))


def _classify_label(r: dict) -> str:
    """`ferfast_int8.tflite`, or for a model choice `best: a.tflite + b.tflite, flip`."""
    text = " + ".join(Path(p).name.removesuffix(".tflite") for p in r.get("paths", [r["model"]]))
    if r.get("tta") == "flip":
        text += ", flip"
    return f"{r['choice']}: {text}" if r.get("choice") else text


def classify_text(report: dict) -> str:
    rows = []
    for r in report["models"]:
        rows.append([_classify_label(r), r["precision"], f"{r['input'][0]}x{r['input'][1]}x{r['input'][2]}",
                     f"{r['size_kb']:.0f}", r["threads"], _ms(r["batch1"]["median_ms_per_face"]),
                     _ms(r["batch1"]["p95_ms_per_face"]), _ms(r["batch8"]["median_ms_per_face"]),
                     _ms(r["batch8"]["p95_ms_per_face"])])
    table = format_table(["model (.tflite)", "dtype", "input", "KiB", "threads", "batch 1 median ms/face",
                          "p95", "batch 8 median ms/face", "p95"], rows)
    return wrap_text("\n".join([f"fer-edge bench --classify-only: {report['runs']} calls per model and batch size",
                      machine_line(report), "", table, "", f"peak RSS: {report['peak_rss_mb']:.0f} MB"]))
