"""`fer-edge run` and `fer-edge bench` (click definitions; the work happens in the modules they
import when they run, none of which imports TensorFlow)."""

from __future__ import annotations

import click

from fer_edge.native_log import native_output_summarised
from fer_edge import defaults
from fer_edge.defaults import DETECTORS, TTA_CHOICES, check_one_source
from fer_edge.detector_choices import help_text  # plain data: --help loads no model code
from fer_edge.edge.events.options import event_options
from fer_edge.errors import FerEdgeError
from fer_edge.options import given_on_command_line

SERVE_DEFAULT = f"{defaults.SERVE_HOST}:{defaults.SERVE_PORT}"  # `--serve` alone
DETECTOR_HELP = help_text()
# bench options that only the pipeline measurement uses (--classify-only refuses them)
PIPELINE_ONLY = ("size", "capture_thread", "draw", "min_confidence", "startup_runs", "detector_kind", "detect_every")
DETECT_EVERY_HELP = ("Run the face detector on every Nth video frame and keep its boxes for the frames between "
                     "(pictures: each one).  [default: the detector's own: yunet 4, the others 1]")


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
@click.option("--threads", default=defaults.THREADS, show_default=True, type=click.IntRange(1, 64),
              help="CPU threads for the face detector and the expression model.")
@click.option("--min-confidence", default=defaults.MIN_CONFIDENCE, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Least face detector confidence.")
@click.option("--smooth", default=defaults.SMOOTH, show_default=True, type=click.FloatRange(0.0, 1.0, max_open=True),
              help="Per-frame weight of a face's past scores (EMA over its track); 0 = no smoothing.")
@click.option("--display/--headless", default=None,
              help="Show a window (Tk) with boxes, labels and FPS.  [default: --display when a window can be shown: "
                   "DISPLAY names a reachable X server (XWayland on a Wayland desktop) and Tk is installed]")
@click.option("--output-video", metavar="FILE",
              help="Write the annotated video: .mp4, .mov, .mkv (H.264, which every browser and phone plays), .webm "
                   "(VP9) or .avi (Motion JPEG); for a single image, a picture (.jpg, .png).")
@click.option("--jsonl", metavar="FILE|-", help="Write one JSON object per face per frame (- = stdout).")
@click.option("--csv", "csv_path", metavar="FILE", help="Write one CSV row per face per frame.")
@click.option("--max-frames", type=click.IntRange(min=1), help="Stop after this many frames.")
@click.option("--resolution", metavar="WxH", help="Camera resolution to ask for (picam default 640x480).")
@click.option("--capture-thread/--no-capture-thread", default=None,
              help="Read frames on their own thread: from a camera or stream always the newest frame (the "
                   "rest are dropped); from files, decoded ahead, every frame kept.  [default: on for "
                   "cameras and streams, off for files]")
@click.option("--detector", "detector_kind", type=click.Choice(DETECTORS), default=defaults.DETECTOR, show_default=True,
              help=DETECTOR_HELP)
@click.option("--detect-every", type=click.IntRange(min=1), metavar="N", help=DETECT_EVERY_HELP)
@click.option("--serve", metavar="[HOST:]PORT", is_flag=False, flag_value=SERVE_DEFAULT,
              help=f"Serve a live view to a browser: the annotated video, each face's scores and timeline, FPS and "
                   f"latency (`--serve` alone: {SERVE_DEFAULT}). An address other than loopback needs an access "
                   f"token, printed at start.")
@click.option("--serve-token", metavar="TOKEN", envvar="FER_EDGE_SERVE_TOKEN", show_envvar=True,
              help="The live view's access token (8+ of A-Z a-z 0-9 . _ ~ -); required from viewers when given.  "
                   "[default: none on loopback, else generated]")
@click.option("--serve-fps", default=defaults.SERVE_FPS, show_default=True, type=click.IntRange(1, 30),
              help="Most video frames a second sent to viewers (JPEG encoding costs CPU only while someone watches).")
@click.option("--serve-viewers", default=defaults.SERVE_VIEWERS, show_default=True, type=click.IntRange(1, 32),
              help="Most browsers watching at once; more are refused (503) unless one has stopped reading.")
@click.option("--realtime/--fast", default=None,
              help="--realtime: play a video file at its own frame rate, as a camera would deliver it (to watch it "
                   "in the window or with --serve); --fast: as fast as the pipeline runs.  [default: --realtime "
                   "when the window shows a video file, else --fast]")
@click.option("--fps-in-video", is_flag=True,
              help="Draw the frame rate on --output-video too (the window always shows it; in a file it would cover "
                   "the label of a face in the top-left corner).")
@event_options  # --mqtt, --webhook and theirs (edge/events/options.py)
@native_output_summarised()  # FFmpeg's, OpenCV's and LiteRT's own lines: one warning at most
def run(camera, source, models, tta, threads, min_confidence, smooth, display, output_video, jsonl, csv_path,
        max_frames, resolution, capture_thread, detector_kind, detect_every, serve, serve_token, serve_fps,
        serve_viewers, realtime, fps_in_video, **events) -> None:
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
    from fer_edge.edge.runner import RunOptions, run_with_options

    run_with_options(RunOptions(
        camera=camera, source=source, models=models, tta=tta, threads=threads, min_confidence=min_confidence,
        smooth=smooth, display=display, output_video=output_video, jsonl=jsonl, csv=csv_path, max_frames=max_frames,
        resolution=resolution, capture_thread=capture_thread, detector=detector_kind, detect_every=detect_every,
        serve=serve,
        serve_token=serve_token, serve_fps=serve_fps, serve_viewers=serve_viewers, realtime=realtime,
        fps_in_video=fps_in_video, serve_only_given=[option for name, option in given_on_command_line().items()
                                                     if name in ("serve_token", "serve_fps", "serve_viewers")],
        events=events, given=given_on_command_line()))


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
@click.option("--frames", default=defaults.BENCH_FRAMES, show_default=True, type=click.IntRange(min=1),
              help="Frames to measure per configuration (with --classify-only: calls per model and batch size).")
@click.option("--warmup", default=defaults.BENCH_WARMUP, show_default=True, type=click.IntRange(min=0),
              help="Frames run before measuring, not counted (with --classify-only: calls per model and batch size).")
@click.option("--threads", "threads_text", default=str(defaults.THREADS), show_default=True, metavar="N[,N...]",
              help="CPU threads for the face detector and the expression model; a list measures each, e.g. 1,2,4.")
@click.option("--size", metavar="WxH",
              help="Letterbox every frame to this size (e.g. 640x480), as a camera of that size would deliver "
                   "it; for a camera, also the resolution asked for.  [default: frames as decoded]")
@click.option("--capture-thread/--no-capture-thread", default=None,
              help="Measure only with or only without a capture thread.  [default: both]")
@click.option("--draw/--no-draw", default=True, show_default=True, help="Include drawing the overlay.")
@click.option("--min-confidence", default=defaults.MIN_CONFIDENCE, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Least face detector confidence.")
@click.option("--startup-runs", default=defaults.BENCH_STARTUP_RUNS, show_default=True, type=click.IntRange(min=0),
              help="Fresh `fer-edge run --max-frames 1` processes timed from start to first result (the "
                   "median is reported); 0 skips it.")
@click.option("--classify-only", is_flag=True,
              help="Time the expression model(s) alone: ms per face at batch 1 and batch 8.")
@click.option("--detector", "detector_kind", type=click.Choice(DETECTORS), default=defaults.DETECTOR, show_default=True,
              help=DETECTOR_HELP)
@click.option("--detect-every", type=click.IntRange(min=1), metavar="N", help=DETECT_EVERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def bench(camera, source, models, tta, frames, warmup, threads_text, size, capture_thread, draw, min_confidence,
          startup_runs, classify_only, detector_kind, detect_every, as_json) -> None:
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
        from fer_edge.edge.bench.classify import run_classify_bench
        from fer_edge.edge.bench.report import classify_text

        if camera is not None or source is not None:
            raise FerEdgeError("--classify-only times the model alone: it takes no --camera or --source")
        pipeline_only = [option for name, option in given_on_command_line().items() if name in PIPELINE_ONLY]
        if pipeline_only:
            raise FerEdgeError(f"{', '.join(pipeline_only)}: not used by --classify-only, which times the model alone")
        report = run_classify_bench(models, threads, frames, warmup, tta)
        click.echo(json.dumps(report) if as_json else classify_text(report))
        return


    from fer_edge.edge.bench.measure import BenchOptions, run_bench
    from fer_edge.edge.bench.report import pipeline_text
    from fer_edge.edge.bench.looped import parse_size
    from fer_edge.model_choices import resolve_models

    check_one_source(camera, source)
    size_wh = parse_size(size)
    choice = resolve_models(models, tta)
    opts = BenchOptions(camera=camera, source=source, models=choice.paths, tta=choice.tta, choice=choice.name,
                        frames=frames, threads=threads, capture_thread=capture_thread, size=size_wh, warmup=warmup,
                        draw=draw, min_confidence=min_confidence, startup_runs=startup_runs, detector=detector_kind,
                        detect_every=detect_every)
    report = run_bench(opts)
    click.echo(json.dumps(report) if as_json else pipeline_text(report))
