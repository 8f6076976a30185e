"""The frame loop of `fer-edge run`: source -> recognizer -> overlay -> outputs and window, with a
progress bar for files and a summary on stderr at the end, however the run ends."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from fer_edge.edge.console import info
from fer_edge.edge.display import Window
from fer_edge.edge.draw import annotate, draw_fps
from fer_edge.edge.outputs import Outputs
from fer_edge.edge.pipeline import STAGES, FrameResult
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.sources import Frame, SourceLost, Source
from fer_edge.errors import FerEdgeError, Terminated

# Told of every frame: (frame, annotated image or None when nothing drew one, result, the smoothed
# FPS). Called on the frame loop's thread, so it must only hand over references (edge/serve.py).
Observer = Callable[[Frame, "object | None", FrameResult, "float | None"], None]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class Summary:
    frames: int = 0
    faces: int = 0
    elapsed: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    dropped: int = 0  # frames a capture thread skipped to stay current
    outputs: list[str] = field(default_factory=list)
    ended: str = "end of input"

    @property
    def fps(self) -> float:
        return self.frames / self.elapsed if self.elapsed > 0 else 0.0

    def stage_ms(self) -> dict[str, float]:
        return {k: 1000.0 * v / self.frames for k, v in self.stage_seconds.items()} if self.frames else {}

    def text(self) -> str:
        per_frame = self.faces / self.frames if self.frames else 0.0
        lines = [f"{_count(self.frames, 'frame')}, {_count(self.faces, 'face')} ({per_frame:.2f} per frame) "
                 f"in {self.elapsed:.1f} s: mean {self.fps:.1f} FPS ({self.ended})"]
        if self.frames:
            used = {k: v for k, v in self.stage_ms().items() if v > 0}
            lines.append("per frame: " + ", ".join(f"{k} {v:.1f} ms" for k, v in used.items()))
        if self.dropped:
            lines.append(f"{self.dropped} camera frames skipped to stay current")
        if self.outputs:
            lines.append("wrote " + ", ".join(self.outputs))
        return "\n".join(lines)


class _Stop(Exception):
    """The user closed the window or pressed q."""


def run(source: Source, recognizer: Recognizer, outputs: Outputs, window: Window | None = None,
        max_frames: int | None = None, observers: Sequence[Observer] = (), fps_in_video: bool = False) -> Summary:
    """Process frames until the source ends, max_frames, q/Esc in the window, or Ctrl+C.

    Outputs are committed (renamed into place) when the run ends normally, is interrupted, or
    the live source drops; any other failure discards them. The summary is printed either way.
    """
    summary = Summary()
    draw = window is not None or outputs.video is not None
    total = source.frame_count
    if total is not None and max_frames is not None:
        total = min(total, max_frames)
    # A bar only for inputs of known length, and only on a terminal (disable=None).
    bar = tqdm(total=total, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True,
               disable=None if total else True)
    commit = False
    shown_fps: float | None = None
    start = time.perf_counter()
    try:
        frames = iter(source)
        while max_frames is None or summary.frames < max_frames:
            t0 = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                break
            t1 = time.perf_counter()
            if not source.sequence:
                recognizer.reset()  # unrelated stills: no tracks or smoothing across them
            result = recognizer.process(frame.image)
            result.timings["capture"] = t1 - t0
            annotated = None
            if draw:
                t2 = time.perf_counter()
                fps = shown_fps if source.sequence else None  # the window's; files only when asked
                annotated = annotate(frame.image, result.faces, fps if fps_in_video else None)
                result.timings["draw"] = time.perf_counter() - t2
            outputs.write(frame, result, annotated)
            if window is not None and not window.show(
                    annotated if fps_in_video or fps is None else draw_fps(annotated.copy(), fps), still=not source.sequence):
                raise _Stop
            summary.frames += 1
            summary.faces += len(result.faces)
            for stage, seconds in result.timings.items():
                summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + seconds
            loop = time.perf_counter() - t0
            if loop > 0:  # smoothed for the overlay, so the number is readable
                shown_fps = 1.0 / loop if shown_fps is None else 0.9 * shown_fps + 0.1 / loop
            for observe in observers:
                observe(frame, annotated, result, shown_fps)
            bar.update(1)
        if max_frames is not None and summary.frames >= max_frames:
            summary.ended = f"--max-frames {max_frames}"
        commit = True
    except _Stop:
        summary.ended, commit = "closed by the user", True
    except SourceLost:
        summary.ended, commit = "source lost", True
        raise
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP as Terminated
        summary.ended, commit = (f"terminated ({exc})" if isinstance(exc, Terminated) else "interrupted"), True
        raise
    except BrokenPipeError:  # `--jsonl - | head`: the reader has all it wants
        summary.ended, commit = "output pipe closed", True
        raise
    except BaseException:
        summary.ended = "failed"
        raise
    finally:
        summary.elapsed = time.perf_counter() - start
        bar.close()
        summary.dropped = int(getattr(source, "dropped", 0))
        names = outputs.names
        close_error = None
        try:
            outputs.close(commit)
        except FerEdgeError as exc:  # one output could not be finished; the others are kept
            close_error = exc
        if commit:
            summary.outputs = [n for n in names if n != "stdout" and n not in outputs.failed]
        info(summary.text())
        if close_error is not None:
            if sys.exc_info()[1] is None:
                raise close_error
            info(f"error: {close_error}")  # said, while what ended the run (Ctrl-C, a signal) keeps its exit
    return summary

