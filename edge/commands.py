"""`fer-edge run` and `fer-edge bench` (click definitions; the work happens in the modules they
import when they run, none of which imports TensorFlow)."""

from __future__ import annotations

import click

from fer_edge.edge.events.options import event_options
from fer_edge.edge.native_log import native_output_summarised
from fer_edge.errors import FerEdgeError
from fer_edge.options import given_on_command_line

LIVE_VIDEO_FPS = 30.0  # output-video frame rate when a live source reports none
TTA_CHOICES = ("none", "flip")  # edge.flip.TTA_CHOICES, kept here so --help loads no numpy
SERVE_DEFAULT = "127.0.0.1:8080"  # `--serve` alone (edge/serve.py's DEFAULT_HOST and DEFAULT_PORT)
DETECTORS = ("blazeface", "mediapipe")  # edge.detector.DETECTORS, kept here so --help loads no model code
DETECTOR_HELP = ("Face detector: BlazeFace short-range on LiteRT, or the same model through MediaPipe's own runtime "
                 "(installed separately: pip install --no-deps mediapipe absl-py certifi), for comparison.")
# bench options that only the pipeline measurement uses (--classify-only refuses them)
PIPELINE_ONLY = ("size", "capture_thread", "draw", "min_confidence", "startup_runs", "detector_kind")


@click.command()
@click.option("--camera", metavar="picam|N",
              help="Live camera: `picam` for the Raspberry Pi camera (picamera2), or an OpenCV webcam number.")
@click.option("--source", metavar="PATH|URL",
              help="A video file, an image, a folder of images, or an RTSP/HTTP stream.")
@click.option("--model", "models", multiple=True, metavar="NAME|FILE",
              help="A model choice, fast (the default), accurate or best (`fer-edge models` lists them with their "
                   "accuracy and speed), or an expression model file (.tflite with its .meta.json); repeat to "
                   "average several models (an ensemble).")
@click.option("--tta", type=click.Choice(TTA_CHOICES), default=None,
              help="Test-time augmentation: flip averages each face with its mirror image (twice the model's "
                   "time per face).  [default: the choice's own (best: flip); none for model files]")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64),
              help="CPU threads for the face detector and the expression model.")
@click.option("--min-confidence", default=0.5, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Least face detector confidence.")
@click.option("--smooth", default=0.6, show_default=True, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="Per-frame weight of a face's past scores (EMA over its track); 0 = no smoothing.")
@click.option("--display/--headless", default=None,
              help="Show a window (Tk) with boxes, labels and FPS.  [default: --display when a window can be shown: "
                   "DISPLAY names a reachable X server (XWayland on a Wayland desktop) and Tk is installed]")
@click.option("--output-video", metavar="FILE",
              help="Write the annotated video (.mp4, .mkv, .mov, .avi); for a single image, a picture (.jpg, .png).")
@click.option("--jsonl", metavar="FILE|-", help="Write one JSON object per face per frame (- = stdout).")
@click.option("--csv", "csv_path", metavar="FILE", help="Write one CSV row per face per frame.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option("--resolution", metavar="WxH", help="Camera resolution to ask for (picam default 640x480).")
@click.option("--capture-thread/--no-capture-thread", default=None,
              help="Read frames on their own thread: from a camera or stream always the newest frame (the "
                   "rest are dropped); from files, decoded ahead, every frame kept.  [default: on for "
                   "cameras and streams, off for files]")
@click.option("--detector", "detector_kind", type=click.Choice(DETECTORS), default=DETECTORS[0], show_default=True,
              help=DETECTOR_HELP)
@click.option("--serve", metavar="[HOST:]PORT", is_flag=False, flag_value=SERVE_DEFAULT,
              help=f"Serve a live view to a browser: the annotated video, each face's scores and timeline, FPS and "
                   f"latency (`--serve` alone: {SERVE_DEFAULT}). An address other than loopback needs an access "
                   f"token, printed at start.")
@click.option("--serve-token", metavar="TOKEN", envvar="FER_EDGE_SERVE_TOKEN", show_envvar=True,
              help="The live view's access token (8+ of A-Z a-z 0-9 . _ ~ -); required from viewers when given.  "
                   "[default: none on loopback, else generated]")
@click.option("--serve-fps", default=10, show_default=True, type=click.IntRange(1, 30),
              help="Most video frames a second sent to viewers (JPEG encoding costs CPU only while someone watches).")
@click.option("--serve-viewers", default=4, show_default=True, type=click.IntRange(1, 32),
              help="Most browsers watching at once; more are refused (503).")
@click.option("--realtime", is_flag=True,
              help="Play a video file at its own frame rate, as a camera would deliver it (to watch it with --serve "
                   "or in the window), not as fast as the pipeline runs.")
@click.option("--fps-in-video", is_flag=True,
              help="Draw the frame rate on --output-video too (the window always shows it; in a file it would cover "
                   "the label of a face in the top-left corner).")
@event_options  # --mqtt, --webhook and theirs (edge/events/options.py)
@native_output_summarised()  # FFmpeg's, OpenCV's and LiteRT's own lines: one warning at most
def run(camera, source, models, tta, threads, min_confidence, smooth, display, output_video, jsonl, csv_path,
        max_frames, resolution, capture_thread, detector_kind, serve, serve_token, serve_fps, serve_viewers,
        realtime, fps_in_video, **events) -> None:
    """Detect faces and classify their expressions from a camera, a video, a stream or images.

    \b
    fer-edge run --camera picam                    (window on the Pi's desktop)
    fer-edge run --camera 0 --headless --jsonl -   (JSON lines on stdout)
    fer-edge run --source clip.mp4 --headless --output-video out.mp4 --jsonl out.jsonl
    fer-edge run --source photos/ --headless --csv faces.csv
    fer-edge run --camera picam --serve            (watch at http://127.0.0.1:8080/)
    fer-edge run --camera picam --headless --mqtt mqtt://hub.local/fer-edge   (events: docs/events.md)

    In the window, q or Esc quits; Ctrl+C stops any run, and files written so far are kept.
    """
    from pathlib import Path

    from fer_edge.edge.display import Window, display_problem
    from fer_edge.edge.outputs import Outputs
    from fer_edge.edge.recognizer import Recognizer
    from fer_edge.edge.runner import run as run_loop
    from fer_edge.edge.sources import ImageSource, open_source, parse_resolution, with_capture_thread

    if (camera is None) == (source is None):
        raise FerEdgeError("give exactly one of --camera (picam or a number) and --source (file, folder or URL)")
    problem = display_problem()
    if display is None:
        display = problem is None
    elif display and problem:
        raise FerEdgeError(f"cannot show a window: {problem}; use --headless")
    if not display and not (output_video or jsonl or csv_path or serve or events["mqtt"] or events["webhook"]):
        raise FerEdgeError("nothing to show or write: without a display, give --output-video, --jsonl, --csv, "
                           "--serve, --mqtt or --webhook")
    serve_only = [option for name, option in given_on_command_line().items()
                  if name in ("serve_token", "serve_fps", "serve_viewers")]
    if serve_only and not serve:
        raise FerEdgeError(f"{', '.join(serve_only)}: only used with --serve")
    from fer_edge.edge.events import options as event_opts

    event_opts.check(events, given_on_command_line())
    if serve:
        from fer_edge.edge.serve import check_token, parse_address

        serve_address = parse_address(serve)
        if serve_token is not None:
            check_token(serve_token)
    if source is not None and Path(source).exists():
        src = Path(source).resolve()
        for target in (output_video, jsonl, csv_path):
            if target and target != "-" and Path(target).resolve() == src:
                raise FerEdgeError(f"{target}: an output would overwrite the input")
    size = parse_resolution(resolution)

    # The API's Recognizer is the run's frame -> faces path: models, detector, crops, tracker.
    recognizer = Recognizer(models, threads=threads, min_confidence=min_confidence, smooth=smooth, tta=tta,
                            detector=detector_kind)
    frames = outputs = window = view = sink = None
    ended = "end of run"
    try:
        frames = open_source(camera, source, size)
        single_image = isinstance(frames, ImageSource) and frames.frame_count == 1  # before any reader wraps it
        frames = with_capture_thread(frames, capture_thread)
        if realtime and not frames.live:
            from fer_edge.edge.realtime import RealtimeSource

            frames = RealtimeSource(frames)
        if serve:  # before the outputs: a port in use leaves no temp files
            from fer_edge.edge.console import info
            from fer_edge.edge.serve import LiveView

            hint = ("the file is read as fast as the pipeline runs: add --realtime to watch it at its own speed"
                    if not frames.live and frames.sequence and not realtime else None)
            view = LiveView(*serve_address, recognizer.labels, frames.name, token=serve_token, fps=serve_fps,
                            max_viewers=serve_viewers, hint=hint).start()
            info(view.start_message())
        sink = event_opts.make_sink(events, recognizer.labels, frames.name)  # before the outputs, as the view
        window = Window() if display else None  # before the outputs: a GUI toolkit that aborts leaves no temp files
        outputs = Outputs(recognizer.labels, jsonl=jsonl, csv_path=csv_path, video=output_video,
                          video_fps=frames.fps or LIVE_VIDEO_FPS, video_realtime=frames.live,
                          single_image=single_image)
        observers = [o.publish if o is view else o.observe for o in (view, sink) if o is not None]
        run_loop(frames, recognizer, outputs, window, max_frames, observers=observers, fps_in_video=fps_in_video)
    except BaseException as exc:
        ended = event_opts.ended_reason(exc)
        if outputs is not None:
            outputs.close(commit=False)  # no-op once the loop has closed them; else nothing is kept
        raise
    finally:
        if view is not None:
            view.close()  # the page says the run ended; the outputs are closed already
        if sink is not None:  # the last events, sent within a bounded time; sent and dropped counts
            from fer_edge.edge.console import info as say

            for line in sink.close(ended):
                say(line)
        if window is not None:
            window.close()
        recognizer.close()
        if frames is not None:
            frames.close()


def _parse_threads(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(not 1 <= v <= 64 for v in values):
        raise FerEdgeError(f"--threads takes a comma-separated list of 1..64, e.g. 1,2,4, got {text!r}")
    return values


@click.command()
@click.option("--camera", metavar="picam|N", help="Live camera: `picam` or an OpenCV webcam number.")
@click.option("--source", metavar="PATH|URL",
              help="A video (looped when shorter than the run), an image, a folder of images, or a stream.")
@click.option("--model", "models", multiple=True, metavar="NAME|FILE",
              help="A model choice (fast, accurate, best) or an expression model file (.tflite with its "
                   ".meta.json); repeat to average several models (an ensemble). With --classify-only, also a "
                   "folder of them; each model or choice is then timed alone.  [default: fast; with "
                   "--classify-only, every model in models/ and every choice]")
@click.option("--tta", type=click.Choice(TTA_CHOICES), default=None,
              help="Test-time augmentation, as `fer-edge run --tta`: flip costs a second pass per face.  "
                   "[default: the choice's own; none for model files]")
@click.option("--frames", default=300, show_default=True, type=click.IntRange(min=1),
              help="Frames to measure per configuration (with --classify-only: calls per model and batch size).")
@click.option("--warmup", default=10, show_default=True, type=click.IntRange(min=0),
              help="Frames run before measuring, not counted (with --classify-only: calls per model and batch size).")
@click.option("--threads", "threads_text", default="2", show_default=True, metavar="N[,N...]",
              help="CPU threads for the face detector and the expression model; a list measures each, e.g. 1,2,4.")
@click.option("--size", metavar="WxH",
              help="Letterbox every frame to this size (e.g. 640x480), as a camera of that size would deliver "
                   "it; for a camera, also the resolution asked for.  [default: frames as decoded]")
@click.option("--capture-thread/--no-capture-thread", default=None,
              help="Measure only with or only without a capture thread.  [default: both]")
@click.option("--draw/--no-draw", default=True, show_default=True, help="Include drawing the overlay.")
@click.option("--min-confidence", default=0.5, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Least face detector confidence.")
@click.option("--startup-runs", default=3, show_default=True, type=click.IntRange(min=0),
              help="Fresh `fer-edge run --max-frames 1` processes timed from start to first result (the "
                   "median is reported); 0 skips it.")
@click.option("--classify-only", is_flag=True,
              help="Time the expression model(s) alone: ms per face at batch 1 and batch 8.")
@click.option("--detector", "detector_kind", type=click.Choice(DETECTORS), default=DETECTORS[0], show_default=True,
              help=DETECTOR_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def bench(camera, source, models, tta, frames, warmup, threads_text, size, capture_thread, draw, min_confidence,
          startup_runs, classify_only, detector_kind, as_json) -> None:
    """Per-stage latency (median, p95, p99), FPS, faces/s, CPU use, peak memory and start-up time of
    the real pipeline on this device.

    \b
    fer-edge bench --source clip.mp4 --frames 300 --size 640x480 --json
    fer-edge bench --camera picam --threads 1,2,4
    fer-edge bench --classify-only                 (every model in models/ and every choice)
    fer-edge bench --classify-only --model best --threads 1,2

    The figures depend on what else the machine is doing: the report gives the load average.
    """
    import json

    threads = _parse_threads(threads_text)
    if classify_only:
        from fer_edge.edge.bench_classify import run_classify_bench
        from fer_edge.edge.bench_report import classify_text

        if camera is not None or source is not None:
            raise FerEdgeError("--classify-only times the model alone: it takes no --camera or --source")
        pipeline_only = [option for name, option in given_on_command_line().items() if name in PIPELINE_ONLY]
        if pipeline_only:
            raise FerEdgeError(f"{', '.join(pipeline_only)}: not used by --classify-only, which times the model alone")
        report = run_classify_bench(models, threads, frames, warmup, tta)
        click.echo(json.dumps(report) if as_json else classify_text(report))
        return


    from fer_edge.edge.bench import BenchOptions, run_bench
    from fer_edge.edge.bench_report import pipeline_text
    from fer_edge.edge.bench_source import parse_size
    from fer_edge.model_choices import resolve_models

    if (camera is None) == (source is None):
        raise FerEdgeError("give exactly one of --camera (picam or a number) and --source (file, folder or URL)")
    size_wh = parse_size(size)
    choice = resolve_models(models, tta)
    opts = BenchOptions(camera=camera, source=source, models=choice.paths, tta=choice.tta, choice=choice.name,
                        frames=frames, threads=threads, capture_thread=capture_thread, size=size_wh, warmup=warmup,
                        draw=draw, min_confidence=min_confidence, startup_runs=startup_runs, detector=detector_kind)
    report = run_bench(opts)
    click.echo(json.dumps(report) if as_json else pipeline_text(report))
