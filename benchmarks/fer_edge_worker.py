"""compare_fer.py's fer-edge side: the `fer-edge run` pipeline (BlazeFace, crop, LiteRT classifier,
tracker) on frames from a .npy file, in its own process.

    python benchmarks/fer_edge_worker.py FRAMES.npy COUNT WARMUP MODEL THREADS
"""

from __future__ import annotations

import sys
import time

t_start = time.perf_counter()

import frame_loop  # noqa: E402  (beside this file)

from fer_edge.edge.recognizer import Recognizer  # noqa: E402


def main() -> None:
    frames_path, count, warmup, model, threads = sys.argv[1:6]
    with Recognizer(model, threads=int(threads)) as recognizer:  # what `fer-edge run` uses
        loaded = time.perf_counter() - t_start
        frame_loop.run(lambda frame: len(recognizer.recognize(frame)), frames_path, int(count), int(warmup),
                       loaded, {"model": model, "threads": int(threads)})


if __name__ == "__main__":
    main()
