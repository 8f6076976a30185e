"""Every default and every fixed set of choices that more than one place uses, in one module that
imports nothing (so `fer-edge --help` stays instant and loads no numpy)."""

from __future__ import annotations

THREADS = 2  # CPU threads for the face detector and the expression model
MIN_CONFIDENCE = 0.5  # least face-detector confidence for a face to count
SMOOTH = 0.6  # per-frame weight of a face's past scores along its track

TTA_CHOICES = ("none", "flip")  # test-time augmentation (fer_edge.tta)
DETECTORS = ("blazeface", "mediapipe")  # edge.detect.make_detector's kinds
DETECTOR = DETECTORS[0]  # BlazeFace on LiteRT; "mediapipe" is the reference runtime, installed separately

LIVE_VIDEO_FPS = 30.0  # output-video frame rate when a live source reports none
SERVE_HOST, SERVE_PORT = "127.0.0.1", 8080  # `--serve` alone
SERVE_FPS = 10  # most video frames a second sent to viewers
SERVE_VIEWERS = 4  # most browsers watching at once

BENCH_FRAMES = 300
BENCH_WARMUP = 10
BENCH_STARTUP_RUNS = 3

ONE_SOURCE = "give exactly one of --camera (picam or a number) and --source (file, folder or URL)"


def check_one_source(camera, source) -> None:
    """`run`, `bench` and open_source take a camera or a source, never both, never neither."""
    if (camera is None) == (source is None):
        from fer_edge.errors import FerEdgeError

        raise FerEdgeError(ONE_SOURCE)
