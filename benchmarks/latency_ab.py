"""Per-face latency of several .tflite models, compared fairly: alternating rounds on one machine.

    python benchmarks/latency_ab.py models/baseline_int8.tflite models/ferfast_int8.tflite \
        [--rounds 6 --calls 2000 --threads 1,2]
    python benchmarks/latency_ab.py fast accurate best      # the model choices, each as `run` uses it

Each round times `--calls` single-face `predict` calls (the runtime's own call: a FaceClassifier's,
or for a choice its ensemble and flip TTA) per model, models in turn, so a change in machine load touches all of them alike. Per model and thread
count it prints the median of the round medians in ms, to 4 decimals, and the change against the
first model. `fer-edge bench --classify-only` reports 2 decimals, too coarse to tell ~0.11 from ~0.12 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from fer_edge.edge.bench.stats import latency_ms
from fer_edge.machine import machine
from fer_edge.console import quiet_native_stderr
from fer_edge.edge.ensemble import load_classifier
from fer_edge.errors import FerEdgeError
from fer_edge.model_choices import resolve_models


def round_median_ms(clf, face: np.ndarray, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        clf.predict(face)
        times.append(time.perf_counter() - t0)
    return latency_ms(times)["median_ms"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    try:
        choices = [resolve_models(model) for model in args.models]  # a .tflite, or a choice's files and TTA
    except FerEdgeError as exc:
        raise SystemExit(f"error: {exc}") from None
    rng = np.random.default_rng(0)
    m = machine()
    print(f"machine: {m['cpu']}, {m['cores']} cores, load average {' '.join(map(str, m['load_average']))}; "
          f"{args.rounds} rounds x {args.calls} single-face calls")
    for threads in (int(t) for t in args.threads.split(",")):
        with quiet_native_stderr():  # LiteRT's delegate INFO line
            clfs = [load_classifier(c.paths, threads, c.tta) for c in choices]
        faces = [rng.integers(0, 256, (1, c.info.input_size, c.info.input_size, c.info.channels), dtype=np.uint8)
                 for c in clfs]
        for clf, face in zip(clfs, faces):  # warm-up: first calls allocate and pack weights
            round_median_ms(clf, face, 200)
        rounds: list[list[float]] = [[] for _ in clfs]
        for _ in range(args.rounds):
            for i, (clf, face) in enumerate(zip(clfs, faces)):
                rounds[i].append(round_median_ms(clf, face, args.calls))
        first = statistics.median(rounds[0])
        for model, r in zip(args.models, rounds):
            med = statistics.median(r)
            print(f"threads {threads}  {model:40s} {med:.4f} ms/face  ({100 * (med / first - 1):+.1f}% vs first)  "
                  f"rounds {min(r):.4f}-{max(r):.4f}")


if __name__ == "__main__":
    main()
