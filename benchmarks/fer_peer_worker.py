"""compare_fer.py's side for the PyPI `fer` package, run by the Python of fer's own virtualenv (fer
pins TensorFlow and its own OpenCV; fer-edge is not installed there).

    PEER_PYTHON benchmarks/fer_peer_worker.py frames FRAMES.npy COUNT WARMUP
        FER() as its README uses it (Haar cascade + its quantised mini-Xception TFLite), detect_emotions
        on each frame.
    PEER_PYTHON benchmarks/fer_peer_worker.py accuracy FACES.npy OUT.npy
        fer's emotion model alone on (N, 48, 48) grey faces, prepared as detect_emotions prepares a
        face crop (resize to the model's 64x64, scale to [-1, 1]); writes (N, 7) scores.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

t_start = time.perf_counter()
warnings.filterwarnings("ignore")  # pkg_resources and tf.lite deprecation notices

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from fer import __version__ as fer_version  # noqa: E402
from fer.fer import FER  # noqa: E402


def frames_mode(frames_path: str, count: str, warmup: str) -> None:
    import frame_loop  # beside this file; numpy and the standard library only

    detector = FER()  # the package defaults: mtcnn=False (Haar cascade), use_tflite=True
    loaded = time.perf_counter() - t_start
    frame_loop.run(lambda frame: len(detector.detect_emotions(frame)), frames_path, int(count), int(warmup), loaded,
                   {"fer": fer_version, "opencv": cv2.__version__})


def accuracy_mode(faces_path: str, out_path: str) -> None:
    detector = FER()
    size = (64, 64)  # FER's emotion_target_size for its TFLite model
    faces = np.load(faces_path)
    # Exactly detect_emotions' steps after the crop: cv2.resize to 64x64, /255, -0.5, *2.
    prepared = np.array([cv2.resize(f, size) for f in faces], dtype="float32") / 255.0
    prepared = (prepared - 0.5) * 2.0
    t0 = time.perf_counter()
    scores = np.asarray(detector._classify_emotions(prepared), dtype=np.float32)  # fer's own inference path
    seconds = time.perf_counter() - t0
    np.save(out_path, scores)
    print(json.dumps({"fer": fer_version, "faces": len(faces), "seconds": seconds}), flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"frames": frames_mode, "accuracy": accuracy_mode}[mode](*args)
