"""The Python API's cost per frame beside `fer-edge bench`'s, on the same frames.

`fer-edge run` and `bench` are built on fer_edge.Recognizer, so a loop of `recognizer.recognize(frame)`
should cost what bench reports for its detect + preprocess + classify stages. This prints both,
alternating them in rounds (load drifts), from one video letterboxed as bench letterboxes it:

    python benchmarks/api_vs_bench.py ../shared/media/video03_emotions_woman.mp4 [--frames 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import cv2

import fer_edge
from fer_edge.edge.bench.looped import letterbox


def api_ms(frames: list, threads: int, warmup: int) -> float:
    """Median ms per frame of recognize() over `frames`, after `warmup` untimed frames."""
    with fer_edge.Recognizer(threads=threads) as recognizer:
        for frame in frames[:warmup]:
            recognizer.recognize(frame)
        recognizer.reset()
        times = []
        for frame in frames:
            t0 = time.perf_counter()
            recognizer.recognize(frame)
            times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def bench_ms(video: str, frames: int, threads: int, warmup: int) -> tuple[float, dict]:
    """bench's median detect + preprocess + classify ms (no capture, no drawing) and its stages."""
    out = subprocess.run([sys.executable, "-m", "fer_edge", "bench", "--source", video, "--frames", str(frames),
                          "--warmup", str(warmup), "--size", "640x480", "--threads", str(threads),
                          "--no-capture-thread", "--no-draw", "--startup-runs", "0", "--json"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out)
    stages = {k: report["stages"][k]["median_ms"] for k in ("detect", "preprocess", "classify")}
    return sum(stages.values()), stages


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    cap = cv2.VideoCapture(args.video)
    frames = []
    while len(frames) < args.frames:
        ok, frame = cap.read()
        if not ok:
            if not frames:
                print(f"error: {args.video}: no frame could be decoded", file=sys.stderr)
                return 1
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # loop a short clip, as bench does
            continue
        frames.append(letterbox(frame, (640, 480)))
    api, bench = [], []
    for r in range(args.rounds):
        a = api_ms(frames, args.threads, args.warmup)
        b, stages = bench_ms(args.video, args.frames, args.threads, args.warmup)
        api.append(a)
        bench.append(b)
        print(f"round {r + 1}: API recognize() {a:.3f} ms/frame; bench detect+preprocess+classify {b:.3f} ms "
              f"({', '.join(f'{k} {v:.3f}' for k, v in stages.items())})")
    a, b = statistics.median(api), statistics.median(bench)
    print(f"median of {args.rounds} rounds: API {a:.3f} ms, bench {b:.3f} ms, API/bench {a / b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
