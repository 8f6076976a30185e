"""`fer-edge bench` for every detector choice, frame size and source, one table: FPS, faces a frame,
and each stage's median and mean ms a frame (the mean counts the frames where a held detection
made detect free). With --rounds N the configurations alternate N times and the median round is shown;
compare rows of one run (each row gives the load average).

    python benchmarks/detector_bench.py ../shared/media/video03_emotions_woman.mp4 \
        ../shared/media/video02_hamilton_multi_face.mp4 [--sizes 640x480,1280x720] [--frames 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from fer_edge.detector_choices import DETECTORS

STAGES = ("capture", "detect", "preprocess", "classify", "draw")
FER_FPS = 30.7  # the fer package 25.10.3 by benchmarks/compare_fer.py (docs/performance.md, 2026-11-26)


def bench(source: str, size: str, detector: str, every: int | None, frames: int) -> dict:
    fer_edge = Path(sys.executable).with_name("fer-edge")
    cmd = [str(fer_edge), "bench", "--source", source, "--size", size, "--frames", str(frames), "--threads", "2",
           "--no-capture-thread", "--startup-runs", "0", "--detector", detector, "--json"]
    if every is not None:
        cmd += ["--detect-every", str(every)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=dict(os.environ))
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds; the median round (by FPS) is shown")
    ap.add_argument("--detectors", default=",".join(d for d in DETECTORS if d != "mediapipe"),
                    help="choices; yunet is also run with --detect-every 1")
    args = ap.parse_args(argv)
    configs = []
    for name in args.detectors.split(","):
        configs.append((name, None))
        if name == "yunet":
            configs.append((name, 1))
    print(f"{'source':<16} {'size':<9} {'detector':<15} {'every':>5} {'FPS':>6} {'x fer':>5} {'faces/fr':>8}  "
          + "  ".join(f"{s + ' med/mean':>17}" for s in STAGES + ("frame",)))
    for source in args.sources:
        for size in args.sizes.split(","):
            runs: dict = {c: [] for c in configs}
            for _ in range(args.rounds):  # configurations alternate, so a change of load falls on all
                for name, every in configs:
                    runs[(name, every)].append(bench(source, size, name, every, args.frames))
            for name, every in configs:
                r = sorted(runs[(name, every)], key=lambda x: x["fps"])[len(runs[(name, every)]) // 2]  # median
                st = r["stages"]
                cells = [f"{st[s]['median_ms']:8.2f}/{st[s]['mean_ms']:<8.2f}" for s in STAGES]
                cells.append(f"{r['frame_ms']['median_ms']:8.2f}/{r['frame_ms']['mean_ms']:<8.2f}")
                fps = " ".join(f"{x['fps']:.0f}" for x in runs[(name, every)])
                print(f"{Path(source).stem[:16]:<16} {size:<9} {name:<15} {r['detect_every']:>5} {r['fps']:6.1f} "
                      f"{r['fps'] / FER_FPS:5.1f} {r['faces'] / r['frames']:8.2f}  " + "  ".join(cells)
                      + f"  load {r['load_average_end'][0]:.1f}"
                      + (f"  (rounds: {fps} FPS)" if args.rounds > 1 else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
