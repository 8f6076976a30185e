"""`fer-edge bench`: the real pipeline (the same source, detector, classifier, tracker and overlay as
`fer-edge run`) over N frames, timed per stage and per frame.

What each figure means:
- capture: getting the next frame: reading and decoding it (plus letterboxing with --size); with a
  capture thread, only the wait for the frame that thread has ready. A file shorter than the run is
  reopened at its end and the reopening is left out (a camera never reopens).
- detect, preprocess, classify: edge.pipeline's stages (classify includes the tracker, microseconds).
- draw: the overlay (boxes, labels, FPS) drawn on a copy of the frame, as for a window or video.
- fps: measured frames over the wall time of the measured loop; faces_per_s likewise.
- cpu_percent: CPU time of all the process's threads over that wall time (200 = two cores busy).
- peak_rss_mb: the process's highest resident memory so far (ru_maxrss).
Warm-up frames run first and are not counted; stage statistics are over every measured frame,
those without a face included.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from fer_edge.edge.bench.looped import LoopedSource
from fer_edge.edge.bench.startup import measure_startup
from fer_edge.edge.bench.stats import UsageMeter, latency_ms, peak_rss_mb
from fer_edge.machine import load_average, machine
from fer_edge.console import warn
from fer_edge.edge.loop import recognized_frames
from fer_edge.edge.results import STAGES
from fer_edge.edge.sources import Source, capture_reader, open_source
from fer_edge.errors import FerEdgeError
from fer_edge import defaults

if TYPE_CHECKING:
    from fer_edge.classifier import FaceClassifier
    from fer_edge.edge.ensemble import EnsembleClassifier
    from fer_edge.edge.recognizer import Recognizer


@dataclass
class BenchOptions:
    camera: str | None
    source: str | None
    models: tuple[Path, ...]  # several: their ensemble, as `fer-edge run --model A --model B`
    frames: int = defaults.BENCH_FRAMES
    threads: tuple[int, ...] = (defaults.THREADS,)
    capture_thread: bool | None = None  # None: measure with and without
    size: tuple[int, int] | None = None
    warmup: int = defaults.BENCH_WARMUP
    draw: bool = True
    min_confidence: float = defaults.MIN_CONFIDENCE
    startup_runs: int = defaults.BENCH_STARTUP_RUNS  # 0: not measured
    tta: str | None = None  # "flip": each face also mirrored (edge.flip)
    choice: str | None = None  # the model choice's name (fer_edge.model_choices) the models came from
    detector: str = defaults.DETECTOR  # edge.detect.make_detector's kind
    detect_every: int | None = None  # None: the detector choice's own


def measure(source: Source, looped: LoopedSource, recognizer: Recognizer, frames: int, warmup: int, draw: bool,
            threaded: bool, label: str = "") -> dict:
    """One configuration: `warmup` frames untimed, then `frames` frames timed."""
    stage_s = {stage: [] for stage in STAGES}
    frame_s: list[float] = []
    per_face_s: list[float] = []
    faces = 0
    # Reopening a looped file is left out, inline only (on a thread it overlaps inference).
    reopening = None if threaded else (lambda: looped.excluded_s)
    steps = recognized_frames(source, recognizer, draw=draw, fps_overlay=True, max_frames=warmup + frames,
                              excluded=reopening)
    for _ in range(warmup):  # first invokes allocate buffers; keep them out of the figures
        if next(steps, None) is None:
            break
    recognizer.reset()
    bar = tqdm(total=frames, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True, disable=None,
               desc=label or None)
    excluded_before = looped.excluded_s
    meter = UsageMeter()
    meter.start()
    try:
        for step in steps:
            for stage in STAGES:
                stage_s[stage].append(step.result.timings.get(stage, 0.0))
            frame_s.append(step.seconds)
            n = len(step.result.faces)
            faces += n
            if n:
                per_face_s.append(step.result.timings["classify"] / n)
            bar.update(1)
    finally:
        usage = meter.stop()
        bar.close()
    excluded = 0.0 if threaded else looped.excluded_s - excluded_before
    if not frame_s:
        raise FerEdgeError(f"{source.name}: delivered no frame to measure")
    if len(frame_s) < frames:
        warn(f"{source.name} ended after {len(frame_s)} of {frames} frames")
    wall = max(usage.wall_s - excluded, 1e-9)
    return {
        "frames": len(frame_s), "faces": faces,
        "fps": round(len(frame_s) / wall, 2), "faces_per_s": round(faces / wall, 2),
        "stages": {stage: latency_ms(stage_s[stage]) for stage in STAGES},
        "frame_ms": latency_ms(frame_s),
        "classify_per_face_ms": latency_ms(per_face_s),
        "cpu_percent": round(100.0 * usage.cpu_s / wall, 1),
        "peak_rss_mb": peak_rss_mb(),
        "dropped": int(getattr(source, "dropped", 0)),
        "wall_s": round(wall, 3),
    }


def _wrap(looped: LoopedSource, threaded: bool) -> Source:
    if not threaded:
        return looped
    return capture_reader(looped)  # the same reader as run's


def model_entry(classifier: FaceClassifier | EnsembleClassifier, choice: str | None = None) -> dict:
    """The report's model: one model as it is; an ensemble named as `fer-edge evaluate` names it,
    `ensemble(a, b)`, with every member's path in `paths`; its test-time augmentation and the model
    choice it came from, if any."""
    members = getattr(classifier, "members", [classifier])
    info = classifier.info
    paths = [str(m.path) for m in members]
    names = [m.info.name for m in members]
    precisions = list(dict.fromkeys(m.info.precision for m in members))  # distinct, in member order
    several = len(members) > 1
    return {"path": f"ensemble({', '.join(paths)})" if several else paths[0], "paths": paths,
            "name": f"ensemble({', '.join(names)})" if several else names[0], "precision": "+".join(precisions),
            "input": [info.input_size, info.input_size, info.channels],
            "tta": getattr(classifier, "tta", None) or "none", "choice": choice}


def run_bench(opts: BenchOptions) -> dict:
    """All configurations (threads x capture thread on/off); the first is the headline, with
    `fer-edge run`'s default capture mode (off for files, on for cameras and streams)."""
    from fer_edge.edge.recognizer import Recognizer  # noqa: F811 (the TYPE_CHECKING name, at run time)

    started_on = machine()

    def opener() -> Source:
        return open_source(opts.camera, opts.source, opts.size if opts.camera is not None else None)

    def recognizer(threads: int) -> Recognizer:  # what `fer-edge run` and the API use
        return Recognizer(list(opts.models), threads=threads, min_confidence=opts.min_confidence, tta=opts.tta,
                          detector=opts.detector, detect_every=opts.detect_every)

    recognizer(opts.threads[0]).close()  # a bad model, ensemble or detector fails here, before any timing
    opener().close()  # and a bad source too
    startup = (measure_startup(opts.camera, opts.source, [str(m) for m in opts.models], opts.threads[0],
                               opts.min_confidence, opts.startup_runs, opts.size, opts.detector,
                               tta=opts.tta)
               if opts.startup_runs else None)

    runs = []
    first = opener()
    live = first.live
    first.close()
    default_mode = live  # as `fer-edge run`: a capture thread for live sources only
    modes = [opts.capture_thread] if opts.capture_thread is not None else [default_mode, not default_mode]
    for threads in opts.threads:
        with recognizer(threads) as measured:
            classifier = measured.classifier
            measured_every = measured.detect_every
            for threaded in modes:
                looped = LoopedSource(opener, opts.size)
                source = _wrap(looped, threaded)
                try:
                    label = f"threads {threads}, capture thread {'on' if threaded else 'off'}"
                    result = measure(source, looped, measured, opts.frames, opts.warmup, opts.draw, threaded, label)
                finally:
                    source.close()
                runs.append({"threads": threads, "capture_thread": threaded, "loops": looped.loops, **result})
                decoded, sizes_vary = looped.decoded_size, looped.sizes_vary

    head = runs[0]
    out = dict(head)
    out.update({
        "startup_s": startup["s"] if startup else None,
        "peak_rss_mb": peak_rss_mb(),
        "startup": startup,
        "source": {"name": opts.source if opts.source is not None else f"camera {opts.camera}", "live": live,
                   "decoded_size": list(decoded) if decoded else None, "sizes_vary": sizes_vary,
                   "size": list(opts.size) if opts.size else (list(decoded) if decoded else None)},
        "model": model_entry(classifier, opts.choice),
        "warmup": opts.warmup, "draw": opts.draw, "min_confidence": opts.min_confidence, "detector": opts.detector,
        "detect_every": measured_every,
        "machine": started_on, "load_average_end": load_average(),
        "runs": runs,
    })
    return out
