"""The frame loop of `fer-edge run`: source -> recognizer -> overlay -> outputs and window, with a
progress bar for files and a summary on stderr at the end, however the run ends."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from dataclasses import dataclass, field

from tqdm import tqdm

from fer_edge.console import info
from fer_edge.edge.outputs.window import Window
from fer_edge.edge.outputs.draw import draw_fps
from fer_edge.edge.outputs.files import Outputs
from fer_edge.edge.results import STAGES, WAIT
from fer_edge.edge.loop import recognized_frames
from fer_edge.edge.recognizer import Recognizer
from fer_edge.edge.sources import SourceLost, Source
from fer_edge import defaults
from fer_edge.defaults import check_one_source
from fer_edge.edge.outputs.window import display_problem
from fer_edge.edge.sources import ImageSource, open_source, parse_wxh, with_capture_thread
from fer_edge.errors import FerEdgeError, Terminated

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
            used = {k: v for k, v in self.stage_ms().items() if v > 0 and k != WAIT}
            line = "per frame: " + ", ".join(f"{k} {v:.1f} ms" for k, v in used.items())
            waited = self.stage_ms().get(WAIT, 0.0)
            if waited > 0:  # --realtime: not work, so not a stage
                line += f"; and {waited:.1f} ms waiting for the video's own frame rate"
            lines.append(line)
        if self.dropped:
            lines.append(f"{self.dropped} camera frames skipped to stay current")
        if self.outputs:
            lines.append("wrote " + ", ".join(self.outputs))
        return "\n".join(lines)


class _Stop(Exception):
    """The user closed the window or pressed q."""


def run(source: Source, recognizer: Recognizer, outputs: Outputs, window: Window | None = None,
        max_frames: int | None = None, fps_in_video: bool = False) -> Summary:
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
    start = time.perf_counter()
    try:
        steps = recognized_frames(source, recognizer, draw=draw, fps_overlay=fps_in_video and source.sequence,
                                  max_frames=max_frames)
        if window is not None and not source.sequence:  # a still stays until a key: say so, once
            info(window.still_hint(total))
        for step in steps:
            outputs.write(step.frame, step.result, step.annotated, step.fps)
            # counted before the window may wait: a picture closed with q was still recognized and written
            summary.frames += 1
            summary.faces += len(step.result.faces)
            for stage, seconds in step.result.timings.items():
                summary.stage_seconds[stage] = summary.stage_seconds.get(stage, 0.0) + seconds
            bar.update(1)
            fps = step.fps if source.sequence else None  # the window's; files only when asked
            if window is not None and not window.show(
                    step.annotated if fps_in_video or fps is None else draw_fps(step.annotated.copy(), fps),
                    still=not source.sequence):
                raise _Stop
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


@dataclass
class RunOptions:
    """`fer-edge run`'s options (edge/commands.py), as the run takes them; the defaults are fer_edge.defaults'."""

    camera: str | None = None
    source: str | None = None
    models: tuple[str, ...] = ()
    tta: str | None = None
    threads: int = defaults.THREADS
    min_confidence: float = defaults.MIN_CONFIDENCE
    smooth: float = defaults.SMOOTH
    display: bool | None = None  # None: a window when one can be shown
    output_video: str | None = None
    jsonl: str | None = None
    csv: str | None = None
    max_frames: int | None = None
    resolution: str | None = None
    capture_thread: bool | None = None
    detector: str = defaults.DETECTOR
    detect_every: int | None = None  # None: the detector choice's own (fer_edge.detector_choices)
    serve: str | None = None
    serve_token: str | None = None
    serve_fps: int = defaults.SERVE_FPS
    serve_viewers: int = defaults.SERVE_VIEWERS
    realtime: bool | None = None  # None: at the file's own rate when a window shows it
    fps_in_video: bool = False
    serve_only_given: list[str] = field(default_factory=list)  # --serve-* options typed without --serve
    events: dict = field(default_factory=lambda: {"mqtt": None, "webhook": None})  # edge/events/options.py's
    given: dict = field(default_factory=dict)  # the options typed on the command line (for events' checks)


def run_with_options(opts: RunOptions) -> Summary:
    """Check the options, open the recognizer, the source, the live view, the window and the files, in
    that order (each of the later ones leaves nothing behind if it cannot start), run, close them all."""
    o = opts
    check_one_source(o.camera, o.source)
    problem = display_problem()
    display = o.display
    if display is None:
        display = problem is None
    elif display and problem:
        raise FerEdgeError(f"cannot show a window: {problem}; use --headless")
    if not display and not (o.output_video or o.jsonl or o.csv or o.serve or o.events["mqtt"] or o.events["webhook"]):
        raise FerEdgeError("nothing to show or write: without a display, give --output-video, --jsonl, --csv, "
                           "--serve, --mqtt or --webhook")
    if o.serve_only_given and not o.serve:
        raise FerEdgeError(f"{', '.join(o.serve_only_given)}: only used with --serve")
    from fer_edge.edge.events import options as event_opts

    event_opts.check(o.events, o.given)
    if o.serve:
        from fer_edge.edge.serve import check_token, parse_address

        serve_address = parse_address(o.serve)
        if o.serve_token is not None:
            check_token(o.serve_token)
    if o.source is not None and Path(o.source).exists():
        src = Path(o.source).resolve()
        for target in (o.output_video, o.jsonl, o.csv):
            if target and target != "-" and Path(target).resolve() == src:
                raise FerEdgeError(f"{target}: an output would overwrite the input")
    size = parse_wxh(o.resolution)

    # The API's Recognizer is the run's frame -> faces path: models, detector, crops, tracker.
    recognizer = Recognizer(o.models, threads=o.threads, min_confidence=o.min_confidence, smooth=o.smooth, tta=o.tta,
                            detector=o.detector, detect_every=o.detect_every)
    frames = outputs = window = view = sink = None
    ended = "end of run"
    try:
        frames = open_source(o.camera, o.source, size)
        single_image = isinstance(frames, ImageSource) and frames.frame_count == 1  # before any reader wraps it
        frames = with_capture_thread(frames, o.capture_thread)
        # A person watching a file in the window sees it at its own speed (a 20 s clip was over in 5 s).
        realtime = o.realtime if o.realtime is not None else display
        if realtime and not frames.live:
            from fer_edge.edge.sources.pacing import PacedSource

            frames = PacedSource(frames)
        if o.serve:  # before the outputs: a port in use leaves no temp files
            from fer_edge.edge.serve import LiveView

            hint = ("the file is read as fast as the pipeline runs: add --realtime to watch it at its own speed"
                    if not frames.live and frames.sequence and not realtime else None)
            view = LiveView(*serve_address, recognizer.labels, frames.name, token=o.serve_token, fps=o.serve_fps,
                            max_viewers=o.serve_viewers, hint=hint).start()
            info(view.start_message())
        sink = event_opts.make_sink(o.events, recognizer.labels, frames.name)  # before the outputs, as the view
        window = Window() if display else None  # before the outputs: a GUI toolkit that aborts leaves no temp files
        outputs = Outputs(recognizer.labels, jsonl=o.jsonl, csv_path=o.csv, video=o.output_video,
                          video_fps=frames.fps or defaults.LIVE_VIDEO_FPS, video_realtime=frames.live,
                          single_image=single_image)
        for live in (view, sink):
            if live is not None:
                outputs.add_live(live)
        return run(frames, recognizer, outputs, window, o.max_frames, fps_in_video=o.fps_in_video)
    except BaseException as exc:
        ended = event_opts.ended_reason(exc)
        if outputs is not None:
            outputs.close(commit=False)  # no-op once the loop has closed them; else nothing is kept
        raise
    finally:
        if view is not None:
            view.close()  # the page says the run ended; the outputs are closed already
        if sink is not None:  # the last events, sent within a bounded time; sent and dropped counts
            for line in sink.close(ended):
                info(line)
        if window is not None:
            window.close()
        recognizer.close()
        if frames is not None:
            frames.close()



