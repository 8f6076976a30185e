"""The one frame loop of `fer-edge run`, `fer-edge bench` and `stream()`: the next frame (timed as
`capture`; a paced source's hold-back as `wait`, apart), tracks forgotten between unrelated stills, the recognizer, and the overlay when asked
(timed as `draw`). What each caller does with a frame (write it, show it, measure it, hand it to
the user) happens between two steps of this generator.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from fer_edge.edge.outputs.draw import annotate
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.results import WAIT, FrameResult
from fer_edge.edge.sources import Frame, Source


@dataclass
class Step:
    """One frame through the loop."""

    frame: Frame
    result: FrameResult  # with the frame's image, index, time and name, and every stage's seconds
    annotated: np.ndarray | None  # the overlay on a copy of the frame, when asked for
    seconds: float  # capture + recognize + draw, less what `excluded` left out and any `wait`
    fps: float | None  # smoothed over the whole loop (the caller's work included), for an overlay


def recognized_frames(source: Source, recognizer: Recognizer, *, draw: bool = False,
                      fps_overlay: bool = False, max_frames: int | None = None,
                      excluded: Callable[[], float] | None = None) -> Iterator[Step]:
    """Every frame of `source` through `recognizer`, until the source ends or `max_frames`.

    draw: annotate each frame (boxes, labels); fps_overlay: also draw the smoothed FPS on it.
    excluded: seconds to leave out of the frame's capture time, read before and after each read
    (bench: reopening a looped file is not the pipeline's cost).
    """
    shown_fps: float | None = None
    count = 0
    previous_start: float | None = None
    frames = iter(source)
    while max_frames is None or count < max_frames:
        before = excluded() if excluded else 0.0
        waited_before = getattr(source, "waited_s", None)  # a paced source (--realtime) says how long it held back
        t0 = time.perf_counter()
        if previous_start is not None:  # the whole previous turn, the caller's work included
            turn = t0 - previous_start
            if turn > 0:  # smoothed, so the number is readable
                shown_fps = 1.0 / turn if shown_fps is None else 0.9 * shown_fps + 0.1 / turn
        previous_start = t0
        frame = next(frames, None)
        t1 = time.perf_counter()
        if frame is None:
            return
        skip = (excluded() - before) if excluded else 0.0
        waited = source.waited_s - waited_before if waited_before is not None else 0.0
        if not source.sequence:
            recognizer.reset()  # unrelated stills: no tracks or smoothing across them
        result = recognizer.process(frame.image)
        result.image, result.index, result.time, result.name = frame.image, frame.index, frame.time, frame.name
        result.timings["capture"] = max(0.0, t1 - t0 - skip - waited)
        if waited_before is not None:
            result.timings[WAIT] = waited
        annotated = None
        if draw:
            t2 = time.perf_counter()
            annotated = annotate(frame.image, result.faces, shown_fps if fps_overlay else None)
            result.timings["draw"] = time.perf_counter() - t2
        count += 1
        yield Step(frame, result, annotated, time.perf_counter() - t0 - skip - waited, shown_fps)
