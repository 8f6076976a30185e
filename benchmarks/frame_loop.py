"""The timed frame loop both sides of compare_fer.py run, each in its own process and virtualenv
(so this module needs only numpy and the standard library).

A worker builds `process(frame) -> number of faces`, then calls run(): it prints `first` as soon
as the first frame is done (the parent times process start -> first result from that line), runs
the warm-up frames, times each of the measured frames, and prints one JSON line of results.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Callable

import numpy as np


def run(process: Callable[[np.ndarray], int], frames_path: str, count: int, warmup: int, loaded_s: float,
        extra: dict | None = None) -> None:
    frames = np.load(frames_path)  # (K, H, W, 3) BGR uint8, all in memory: no disk reads while timing
    process(frames[0])
    print("first", flush=True)
    for i in range(1, warmup):
        process(frames[i % len(frames)])
    latencies, faces = [], []
    cpu0, wall0 = _cpu(), time.perf_counter()
    for i in range(count):
        frame = frames[(warmup + i) % len(frames)]
        t0 = time.perf_counter()
        n = process(frame)
        latencies.append(time.perf_counter() - t0)
        faces.append(n)
    wall, cpu = time.perf_counter() - wall0, _cpu() - cpu0
    peak = _peak_rss_mb()
    out = {"latency_s": latencies, "faces": faces, "wall_s": wall, "cpu_s": cpu, "load_s": loaded_s,
           "peak_rss_mb": round(peak, 1), "frames_mb": round(frames.nbytes / 2**20, 1), **(extra or {})}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def _peak_rss_mb() -> float:
    """This process's peak RSS: Linux VmHWM, because ru_maxrss after exec() starts from the parent's
    size at fork (here the comparison script, which held the frames too)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _cpu() -> float:
    t = os.times()
    return t.user + t.system
