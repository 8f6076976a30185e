"""Every default and every fixed set of choices that more than one place uses, in one module that
imports nothing but plain data (so `fer-edge --help` stays instant and loads no numpy)."""

from __future__ import annotations

THREADS = 2  # CPU threads for the face detector and the expression model
MIN_CONFIDENCE = 0.5  # least face-detector confidence for a face to count
SMOOTH = 0.6  # per-frame weight of a face's past scores along its track
# A face that appears mid-stream is reported once seen in CONFIRM_FRAMES consecutive frames, or at
# once with a detector score MIN_CONFIDENCE + START_MARGIN or more (edge/tracker.py); stills and a
# stream's first frame are not held back. benchmarks/track_confirmation.py on the shared videos:
# video04 (dark) 6 tracks, 4 of one frame (scores 0.50-0.52) -> 1 track, faces 121 -> 115;
# video02 (12 faces passing) faces 277 -> 261, tracks 12 -> 8; video01 and video03 unchanged.
CONFIRM_FRAMES = 3
START_MARGIN = 0.1

TTA_CHOICES = ("none", "flip")  # test-time augmentation (fer_edge.tta)
NORMALIZATIONS = (None, "standardize", "stretch", "stretch-sharpen")  # a model's declared per-crop normalisation (fer_edge.faces)
# edge.detect.make_detector's kinds and the default, defined with what each is for in detector_choices
from fer_edge.detector_choices import DEFAULT_DETECTOR as DETECTOR, DETECTORS  # noqa: E402,F401

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
