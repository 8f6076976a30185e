"""Shared pieces of the edge tests: test media, a small real int8 classifier, fake cameras
(cv2.VideoCapture and picamera2) and a local MJPEG stream.

The classifier is a real TFLite int8 model (Rescaling -> Conv -> Flatten -> Dense softmax, untrained
weights) built by TensorFlow's converter in a subprocess, so the test process itself never
imports TensorFlow. FER_EDGE_TEST_MODEL=path/to/model.tflite (with its .meta.json) runs the tests
against another model instead, e.g. a shipped one.

Test modules import the fixtures they use from here (there is no conftest.py for the edge tests).
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest

MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"
REAL_VIDEO_CAPTURE = cv2.VideoCapture  # taken before any test replaces it
REPO = Path(__file__).resolve().parents[1]

# (file name, input size, channels, weight seed): the FER-sized grey model; a second one with other
# weights, so an ensemble of the two differs from either; and a 3-channel one standing in for the
# ResNet50 variant (197x197x3) at a size that keeps the tests quick.
TEST_MODELS = {"grey": ("edge_test_grey_int8.tflite", 48, 1, 0),
               "grey_b": ("edge_test_grey_b_int8.tflite", 48, 1, 7),
               "rgb": ("edge_test_rgb_int8.tflite", 64, 3, 0)}


def run_python(code: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -c code` in a fresh process from the repository root: for what a test process,
    with its own imports already made, cannot show (import side effects, file descriptor 2)."""
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


def media(name: str) -> Path:
    """A file from the shared test media; the test is skipped when the media folder is absent."""
    path = MEDIA / name
    if not path.is_file():
        pytest.skip(f"test media {path} not available")
    return path


def build_models(out_dir: Path) -> dict[str, Path]:
    """Build the test models into out_dir (once: existing files are reused) and return their paths."""
    paths = {key: out_dir / name for key, (name, *_) in TEST_MODELS.items()}
    if all(p.is_file() and p.with_name(p.stem + ".meta.json").is_file() for p in paths.values()):
        return paths
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(REPO))
    try:
        proc = subprocess.run([sys.executable, __file__, str(staging)], env=env, capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"building the test models failed:\n{proc.stdout}\n{proc.stderr[-4000:]}")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(staging, out_dir)  # all files appear together, or none
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return paths


@pytest.fixture(scope="session")
def edge_models(request, tmp_path_factory) -> dict[str, Path]:
    """{'grey', 'grey_b': 48x48x1 int8 models, 'rgb': 64x64x3 int8 model}; or FER_EDGE_TEST_MODEL for all.

    Kept in pytest's cache folder (.pytest_cache), keyed by the builder's source, because starting
    TensorFlow to build them costs 5-30 s; with the cache disabled they go to the session's temp dir.
    """
    override = os.environ.get("FER_EDGE_TEST_MODEL")
    if override:
        return {key: Path(override) for key in TEST_MODELS}
    key = hashlib.sha256((inspect.getsource(_build) + repr(TEST_MODELS)).encode()).hexdigest()[:12]
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return build_models(Path(cache.mkdir("fer-edge-test-models")) / key)
    return build_models(tmp_path_factory.getbasetemp() / "edge-test-models")


@pytest.fixture(scope="session")
def edge_model(edge_models) -> Path:
    return edge_models["grey"]


def fake_webcam(video: Path, fail_after: int | None = None, opens: bool = True) -> type:
    """A cv2.VideoCapture stand-in for a camera opened by number, fed from a real video file that it
    loops like a camera that never ends. read() fails for good after `fail_after` frames (a camera
    pulled out mid-run); opens=False is a camera that is not there. `opened` lists the numbers used."""

    class FakeWebcam:
        opened: list[int] = []

        def __new__(cls, target, *args):
            if isinstance(target, str):  # a file (e.g. the output video read back): the real reader
                return REAL_VIDEO_CAPTURE(target, *args)
            return super().__new__(cls)

        def __init__(self, target, *args):
            assert isinstance(target, int), "a webcam is opened by number"
            FakeWebcam.opened.append(target)
            self.inner = REAL_VIDEO_CAPTURE(str(video)) if opens else REAL_VIDEO_CAPTURE()
            self.n = 0

        def isOpened(self):
            return self.inner.isOpened()

        def read(self):
            if fail_after is not None and self.n >= fail_after:
                return False, None
            ok, frame = self.inner.read()
            if not ok:
                self.inner.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self.inner.read()
            self.n += 1
            return ok, frame

        def get(self, prop):
            return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_COUNT: -1.0}.get(prop, 0.0)

        def set(self, prop, value):
            return True

        def release(self):
            self.inner.release()

    return FakeWebcam


def fake_picamera2(frames: list[np.ndarray], fail_after: int | None = None) -> types.ModuleType:
    """A stand-in `picamera2` module whose camera returns `frames` in a loop, or raises after
    `fail_after` captures (a camera unplugged mid-run). The module records what was called."""
    mod = types.ModuleType("picamera2")
    mod.calls = []

    class Picamera2:
        def __init__(self, camera_num: int = 0):
            mod.calls.append(("init", camera_num))
            self.n = 0

        def create_video_configuration(self, main=None, **kw):
            mod.calls.append(("config", main))
            return {"main": main}

        def configure(self, config):
            mod.calls.append(("configure",))

        def start(self):
            mod.calls.append(("start",))

        def capture_array(self, name: str = "main"):
            if fail_after is not None and self.n >= fail_after:
                raise RuntimeError("Camera frontend has timed out!")
            frame = frames[self.n % len(frames)]
            self.n += 1
            return frame.copy()

        def stop(self):
            mod.calls.append(("stop",))

        def close(self):
            mod.calls.append(("close",))

    mod.Picamera2 = Picamera2
    return mod


@contextmanager
def mjpeg_stream(jpeg: bytes, frames: int, interval: float = 0.01):
    """A live MJPEG-over-HTTP stream (as IP cameras serve) on localhost that sends `frames` frames
    and then drops the connection; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for _ in range(frames):
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n"
                                     % len(jpeg) + jpeg + b"\r\n")
                    self.wfile.flush()
                    time.sleep(interval)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/stream.mjpg"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def virtual_display():
    """An Xvfb X server for the session (the window tests); its DISPLAY name. Skips without Xvfb."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed")
    name = ":%d" % (90 + os.getpid() % 100)
    xvfb = subprocess.Popen(["Xvfb", name, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(f"/tmp/.X11-unix/X{name[1:]}"):
                break
            time.sleep(0.05)
        yield name
    finally:
        xvfb.terminate()
        xvfb.wait(10)


# ----------------------------------------------------------------------------- model builder
def _build(out_dir: Path) -> None:  # runs in a subprocess: the only place that imports TensorFlow
    import keras
    import tensorflow as tf

    from fer_edge.modelinfo import ModelInfo, write_info

    for key, (name, size, channels, seed) in TEST_MODELS.items():
        keras.utils.set_random_seed(seed)
        # Untrained, but its scores must move with the face (the smoothing test measures that):
        # a coarse spatial map flattened, rather than global pooling, and a wide output layer.
        model = keras.Sequential([
            keras.Input((size, size, channels)),
            keras.layers.Rescaling(1.0 / 255),
            keras.layers.Conv2D(8, 5, strides=4, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(7, activation="softmax",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=0.15, seed=1 + seed)),
        ])
        rng = np.random.default_rng(0)

        def representative():
            for _ in range(16):
                yield [rng.integers(0, 256, (1, size, size, channels)).astype(np.float32)]

        with tempfile.TemporaryDirectory() as tmp:
            model.export(tmp, format="tf_saved_model", verbose=False)
            conv = tf.lite.TFLiteConverter.from_saved_model(tmp)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = representative
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = tf.int8
            conv.inference_output_type = tf.int8
            blob = conv.convert()
        path = out_dir / name
        path.write_bytes(blob)
        interp = tf.lite.Interpreter(model_content=blob)
        q = {}
        for part, det in (("input", interp.get_input_details()[0]), ("output", interp.get_output_details()[0])):
            scale, zero = det["quantization"]
            q[part] = {"dtype": "int8", "scale": float(scale), "zero_point": int(zero)}
        write_info(path, ModelInfo(name=f"edge-test-{key}", input_size=size, channels=channels,
                                   precision="int8", quantization=q, source="tests/edge_fixtures.py"))


if __name__ == "__main__":
    _build(Path(sys.argv[1]))
