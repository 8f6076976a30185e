"""compare_fer.py's fer-edge side: the `fer-edge run` pipeline (BlazeFace, crop, LiteRT classifier,
tracker) on frames from a .npy file, in its own process.

    python benchmarks/fer_edge_worker.py FRAMES.npy COUNT WARMUP MODEL THREADS
"""

from __future__ import annotations

import sys
import time

t_start = time.perf_counter()

import frame_loop  # noqa: E402  (beside this file)

from fer_edge.edge.classifier import FaceClassifier  # noqa: E402
from fer_edge.edge.console import quiet_native_stderr  # noqa: E402
from fer_edge.edge.detector import FaceDetector  # noqa: E402
from fer_edge.edge.pipeline import Pipeline  # noqa: E402


def main() -> None:
    frames_path, count, warmup, model, threads = sys.argv[1:6]
    with quiet_native_stderr():
        classifier = FaceClassifier(model, int(threads))
    detector = FaceDetector()
    pipeline = Pipeline(detector, classifier)
    loaded = time.perf_counter() - t_start
    try:
        frame_loop.run(lambda frame: len(pipeline.process(frame).faces), frames_path, int(count), int(warmup),
                       loaded, {"model": model, "threads": int(threads)})
    finally:
        detector.close()


if __name__ == "__main__":
    main()
