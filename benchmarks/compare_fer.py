"""fer-edge against the PyPI `fer` package (fer==25.10.3, its default pipeline) on the same frames, in
one run: per-frame latency, FPS, faces found, CPU use, start-up time, peak memory, and the ratio;
and with --accuracy, both emotion models on FER2013 PublicTest the same way.

The command behind the comparison in docs/performance.md (frames: the first 310 of a real one-face clip,
letterboxed to 640x480; 10 warm-up frames each, then 300 timed):

    python benchmarks/compare_fer.py ../shared/media/video03_emotions_woman.mp4 --frames 300 \\
        --size 640x480 --accuracy ../shared/datasets/fer2013/fer2013.tar.gz

`fer` needs TensorFlow (and pulls PyTorch, ~8 GB), so it lives in its own virtualenv:

    python3 -m venv .venv-fer-peer          # in the checkout (git-ignored)
    .venv-fer-peer/bin/pip install fer==25.10.3 "setuptools<81" "opencv-contrib-python<5"

(--peer-python, or FER_PEER_PYTHON, points at another one.) Both sides run as separate processes
(benchmarks/fer_edge_worker.py in this venv, benchmarks/fer_peer_worker.py in fer's), one after the
other, each at its defaults: fer-edge = BlazeFace + crop + the int8 classifier on LiteRT (2 threads)
+ tracker, as `fer-edge run`; fer = FER() = OpenCV Haar cascade + its quantised mini-Xception on
tf.lite, `detect_emotions(frame)`. Per-frame latency is one of those calls on a frame already in
memory; FPS is timed frames over the wall time of the timed loop.

Accuracy "the same way" as `fer-edge evaluate MODEL --data DATA --split PublicTest`: each
classifier alone on FER2013's 48x48 faces, prepared the way its own pipeline prepares a face crop
(fer: resize to 64x64, scale to [-1, 1], fed through FER's own inference call).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from fer_edge.atomic import require_output_folder, write_json
from fer_edge.edge.bench.looped import letterbox, parse_size
from fer_edge.edge.bench.stats import latency_ms
from fer_edge.machine import machine
from fer_edge.errors import FerEdgeError
from fer_edge.table import format_table

HERE = Path(__file__).resolve().parent
DEFAULT_PEER = str(Path(__file__).resolve().parents[1] / ".venv-fer-peer" / "bin" / "python")  # in the checkout
PEER_SETUP = ('python3 -m venv .venv-fer-peer && .venv-fer-peer/bin/pip install fer==25.10.3 "setuptools<81" '
              '"opencv-contrib-python<5"')


def decode(video: str, count: int, size: tuple[int, int] | None) -> tuple[np.ndarray, tuple[int, int], int]:
    """Up to `count` frames of the video (letterboxed to `size`), the decoded size, and how many the file had.
    A shorter video is cycled by the workers (frame i is frames[i % K])."""
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise FerEdgeError(f"{video}: cannot open as a video")
    frames, decoded = [], None
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            break
        decoded = decoded or (frame.shape[1], frame.shape[0])
        frames.append(letterbox(frame, size) if size else frame)
    cap.release()
    if not frames:
        raise FerEdgeError(f"{video}: no frame could be decoded")
    return np.stack(frames), decoded, len(frames)


def run_worker(cmd: list[str], env: dict | None = None, timeout: float = 1800) -> dict:
    """Run a worker; its result, plus `startup_s`: process start -> the `first` line it prints after its
    first frame."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True,
                                    env=env)
        except OSError as exc:
            raise FerEdgeError(f"{cmd[0]}: cannot run it ({exc.strerror})") from None
        # Reading stdout blocks until the worker writes or exits: a hung worker is killed by a timer.
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            proc.kill()

        watchdog = threading.Timer(timeout, kill)
        watchdog.start()
        first_at = None
        lines = []
        try:
            for line in proc.stdout:
                if line.strip() == "first" and first_at is None:
                    first_at = time.perf_counter() - t0
                elif line.strip():
                    lines.append(line)
            code = proc.wait()
        finally:
            watchdog.cancel()
        if expired.is_set():
            raise FerEdgeError(f"{Path(cmd[1]).name} did not finish within {timeout:.0f} s")
        if code != 0 or not lines:
            err.seek(0)
            tail = [ln for ln in err.read().splitlines() if ln.strip()][-5:]
            raise FerEdgeError(f"{Path(cmd[1]).name} failed (exit {code}):\n  " + "\n  ".join(tail))
    try:
        result = json.loads(lines[-1])
    except ValueError:
        raise FerEdgeError(f"{Path(cmd[1]).name} printed no JSON result: {lines[-1].strip()[:200]!r}") from None
    if first_at is not None:
        result["startup_s"] = round(first_at, 3)
    return result


def peer_env() -> dict:
    # No GPU probing, no TensorFlow banner; never this repo on the peer's path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore")
    return env


def check_peer(peer: str) -> None:
    if not Path(peer).is_file():
        raise FerEdgeError(f"fer's virtualenv Python {peer} not found; create it with: {PEER_SETUP} "
                           "(or pass --peer-python)")


def summarise(r: dict) -> dict:
    lat = latency_ms(r["latency_s"])
    faces = np.asarray(r["faces"])
    n = len(faces)
    return {"frames": n, "faces": int(faces.sum()), "frames_with_face": int((faces > 0).sum()),
            "frames_one_face": int((faces == 1).sum()), **lat, "fps": n / r["wall_s"],
            "cpu_percent": 100.0 * r["cpu_s"] / r["wall_s"], "cpu_ms_per_frame": 1000.0 * r["cpu_s"] / n,
            "startup_s": r.get("startup_s"),
            "load_s": r["load_s"], "frames_mb": r["frames_mb"],
            # Both workers hold the whole frames array in memory; what the pipeline itself needs is the rest.
            "peak_rss_mb": r["peak_rss_mb"] - r["frames_mb"], "peak_rss_with_frames_mb": r["peak_rss_mb"]}


def speed(args, peer: str, model: str) -> dict:
    size = parse_size(args.size)
    frames, decoded, k = decode(args.video, args.frames + args.warmup, size)
    h, w = frames.shape[1:3]
    print(f"frames: {k} decoded from {Path(args.video).name} ({decoded[0]}x{decoded[1]}"
          + (f", letterboxed to {w}x{h}" if (w, h) != decoded else "") + f"); {args.warmup} warm-up + "
          f"{args.frames} timed per side" + (f", cycling the {k}" if k < args.frames + args.warmup else ""),
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="compare-fer-") as tmp:
        path = Path(tmp) / "frames.npy"
        np.save(path, frames)
        del frames
        n, wu = str(args.frames), str(args.warmup)
        out = {}
        for side, cmd, env in (
            ("fer-edge", [sys.executable, str(HERE / "fer_edge_worker.py"), str(path), n, wu, model,
                          str(args.threads)], None),
            ("fer", [peer, str(HERE / "fer_peer_worker.py"), "frames", str(path), n, wu], peer_env()),
        ):
            print(f"running {side} (load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}) ...",
                  file=sys.stderr)
            raw = run_worker(cmd, env)
            out[side] = {**summarise(raw), "load_average_after": [round(v, 2) for v in os.getloadavg()],
                         "info": {k2: v for k2, v in raw.items() if k2 in ("model", "threads", "fer", "opencv")},
                         # every frame, for --json: latency in ms and faces found
                         "per_frame_ms": [round(t * 1000.0, 3) for t in raw["latency_s"]],
                         "faces_per_frame": raw["faces"]}
    out["frames"] = {"video": args.video, "decoded": list(decoded), "size": [w, h], "distinct": k,
                     "timed": args.frames, "warmup": args.warmup}
    return out


def accuracy(args, peer: str, model: str) -> dict:
    from fer_edge.data.cache import load
    from fer_edge.train.evaluation import evaluate_models
    from fer_edge.metrics import classification_report

    part = load(args.accuracy).split(args.split)
    print(f"accuracy: {len(part)} {args.split} faces; fer-edge ...", file=sys.stderr)
    ours = evaluate_models([model], args.accuracy, args.split, threads=args.threads)
    print("accuracy: fer ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="compare-fer-") as tmp:
        faces, scores = Path(tmp) / "faces.npy", Path(tmp) / "scores.npy"
        np.save(faces, part.images)
        info = run_worker([peer, str(HERE / "fer_peer_worker.py"), "accuracy", str(faces), str(scores)], peer_env())
        try:
            probs = np.load(scores)
        except (OSError, ValueError) as exc:
            raise FerEdgeError(f"fer_peer_worker.py wrote no readable scores ({exc})") from None
    if probs.shape != (len(part), 7):
        raise FerEdgeError(f"fer_peer_worker.py gave scores of shape {probs.shape}, expected ({len(part)}, 7)")
    theirs = classification_report(part.labels, probs)
    return {"split": args.split, "n": len(part),
            "fer-edge": {"model": model, "accuracy": ours["accuracy"], "macro_f1": ours["macro_f1"],
                         "ms_per_face": ours["ms_per_face"],
                         "command": f"fer-edge evaluate {model} --data {args.accuracy} --split {args.split}"},
            "fer": {"model": "fer/data/emotion_model_quantized.tflite (FER() default)", "accuracy": theirs["accuracy"],
                    "macro_f1": theirs["macro_f1"], "ms_per_face": round(1000.0 * info["seconds"] / len(part), 4)}}


def speed_table(s: dict) -> str:
    a, b = s["fer-edge"], s["fer"]

    def row(name, key, fmt="{:.2f}", better_low=True):
        x, y = a[key], b[key]
        if x is None or y is None:
            return [name, "n/a" if x is None else fmt.format(x), "n/a" if y is None else fmt.format(y), ""]
        ratio = (y / x if better_low else x / y) if min(x, y) > 0 else float("nan")
        return [name, fmt.format(x), fmt.format(y), f"{ratio:.1f}x"]

    rows = [
        row("median ms per frame", "median_ms"), row("p95 ms per frame", "p95_ms"), row("p99 ms per frame", "p99_ms"),
        row("mean ms per frame", "mean_ms"), row("FPS", "fps", "{:.1f}", better_low=False),
        ["faces found (frames with one face)", f"{a['faces']} ({a['frames_one_face']})",
         f"{b['faces']} ({b['frames_one_face']})", ""],
        row("CPU ms per frame (all threads)", "cpu_ms_per_frame"),
        ["CPU % of one core", f"{a['cpu_percent']:.0f}", f"{b['cpu_percent']:.0f}", ""],
        row("start-up s (process start -> first result)", "startup_s"),
        row("peak RSS MB (less the frames array)", "peak_rss_mb", "{:.0f}"),
    ]
    return format_table(["", "fer-edge", f"fer {s['fer']['info'].get('fer', '')}", "fer-edge advantage"], rows)


def accuracy_table(acc: dict) -> str:
    a, b = acc["fer-edge"], acc["fer"]
    rows = [[f"fer-edge ({Path(a['model']).name})", f"{a['accuracy']:.4f}", f"{a['macro_f1']:.4f}",
             f"{a['ms_per_face']:.3f}"],
            [f"fer ({b['model']})", f"{b['accuracy']:.4f}", f"{b['macro_f1']:.4f}", f"{b['ms_per_face']:.3f}"]]
    return format_table([f"FER2013 {acc['split']} ({acc['n']} faces)", "accuracy", "macro-F1", "ms/face"], rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n", 2)[2])
    ap.add_argument("video", nargs="?", help="a real face video (decoded once; both sides get the same frames)")
    ap.add_argument("--frames", type=int, default=300, help="timed frames per side (default 300)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed frames first (default 10)")
    ap.add_argument("--size", default="640x480", help="letterbox frames to WxH (default 640x480; '' keeps them)")
    ap.add_argument("--model", help="fer-edge model (default: the shipped int8 model)")
    ap.add_argument("--threads", type=int, default=2, help="fer-edge classifier threads (default 2, as fer-edge run)")
    ap.add_argument("--peer-python", default=os.environ.get("FER_PEER_PYTHON", DEFAULT_PEER),
                    help=f"Python of fer's virtualenv (default $FER_PEER_PYTHON or {DEFAULT_PEER})")
    ap.add_argument("--accuracy", metavar="DATA", help="also compare accuracy on FER2013 (fer2013.tar.gz, CSV, ...)")
    ap.add_argument("--split", default="PublicTest", help="split for --accuracy (default PublicTest)")
    ap.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    args = ap.parse_args()
    try:
        if not args.video and not args.accuracy:
            raise FerEdgeError("give a video, --accuracy DATA, or both")
        if args.frames < 1 or args.warmup < 1 or args.threads < 1:
            raise FerEdgeError("--frames, --warmup and --threads must be at least 1")
        if args.json:  # before minutes of measuring, not after
            require_output_folder(args.json, "--json")
        if args.accuracy:
            from fer_edge.data.cache import load

            load(args.accuracy).split(args.split)  # a bad file or split says so now (and is cached for later)
        from fer_edge.paths import default_model

        model = args.model or str(default_model())
        if not Path(model).is_file():
            raise FerEdgeError(f"{model}: no such model file")
        check_peer(args.peer_python)
        if args.video and not Path(args.video).is_file():
            raise FerEdgeError(f"{args.video}: no such file")
        report = {"machine": machine(), "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}
        m = report["machine"]
        print(f"machine: {m['cpu']}, {m['cores']} cores ({m['arch']}), Python {m['python']}; "
              f"load average {' '.join(f'{v:.2f}' for v in m['load_average'])} at start")
        if args.video:
            report["speed"] = speed(args, args.peer_python, model)
            s = report["speed"]
            f = s["frames"]
            print(f"\nsame {f['timed']} frames ({f['size'][0]}x{f['size'][1]}, {Path(f['video']).name}) through each "
                  f"pipeline; fer-edge model {Path(model).name}, {args.threads} threads")
            print(speed_table(s))
            ratio = s["fer-edge"]["fps"] / s["fer"]["fps"]
            print(f"ratio: fer-edge {s['fer-edge']['fps']:.1f} FPS / fer {s['fer']['fps']:.1f} FPS = {ratio:.1f}x")
            print(f"load average after fer-edge: {' '.join(map(str, s['fer-edge']['load_average_after']))}; "
                  f"after fer: {' '.join(map(str, s['fer']['load_average_after']))}")
        if args.accuracy:
            report["accuracy"] = accuracy(args, args.peer_python, model)
            print()
            print(accuracy_table(report["accuracy"]))
            print(f"(fer-edge's row = `{report['accuracy']['fer-edge']['command']}`)")
        report["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
        print(f"load average at end: {' '.join(map(str, report['load_average_end']))}")
        if args.json:
            write_json(args.json, report)
    except FerEdgeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
