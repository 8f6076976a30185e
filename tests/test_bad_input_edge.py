"""Device-side inputs and outputs a hostile or careless user may give `run`, `evaluate` and `bench`
(issue 22): damaged models and metadata, frames no encoder takes, full disks, silent streams and
pipes, a killed run's leftovers, folders of videos. Each failure is one `error:` line, a non-zero
exit, no traceback and no file under a final name; native libraries' own lines become at most
one warning."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import threading
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REAL_VIDEO_CAPTURE, edge_model, edge_models, media, run_python  # noqa: F401

from cli_checks import assert_one_error, final_names, run_cli
from fer_edge.cli import cli

NO_DISPLAY = {"DISPLAY": None, "WAYLAND_DISPLAY": None}
NO_DISPLAY_ENV = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}  # the same for a child process


def invoke(*args):
    r = CliRunner(env=NO_DISPLAY).invoke(cli, list(map(str, args)))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def one_error(*args) -> str:
    r = invoke(*args)
    return assert_one_error(r.exit_code, r.stderr, r.stdout)


def model_copy(edge_model, folder, meta_changes=None, data: bytes | None = None):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "m.tflite"
    path.write_bytes(edge_model.read_bytes() if data is None else data)
    meta = json.loads(edge_model.with_name(edge_model.stem + ".meta.json").read_text())
    meta.update(meta_changes or {})
    (folder / "m.meta.json").write_text(json.dumps(meta))
    return path


# A search, in a child process (a damaged flatbuffer may crash whoever reads it), for byte changes
# that LiteRT's format check accepts and that then fail when the interpreter allocates its tensors.
FIND_DAMAGE = """
import random, sys
from ai_edge_litert.interpreter import Interpreter
data = open(sys.argv[1], "rb").read()
for seed in range(3000):
    rng = random.Random(seed)
    b = bytearray(data)
    for _ in range(16):
        b[rng.randrange(len(b))] = rng.randrange(256)
    try:
        interp = Interpreter(model_content=bytes(b))
    except (ValueError, RuntimeError):
        continue
    try:
        interp.allocate_tensors()
    except (ValueError, RuntimeError):
        open(sys.argv[2], "wb").write(b)
        break
"""


@pytest.fixture(scope="module")
def damaged_model(edge_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    out = folder / "damage.bin"
    proc = run_python(FIND_DAMAGE.replace("sys.argv[1]", repr(str(edge_model))).replace("sys.argv[2]", repr(str(out))))
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    return model_copy(edge_model, folder, data=out.read_bytes())


def test_a_tflite_with_flipped_bytes_that_passes_the_format_check_is_one_error_everywhere(damaged_model, tmp_path):
    photo = media("face01_single_frontal_smile.jpg")
    faces = tmp_path / "faces.npz"
    meta = json.dumps({"format": 1, "source": "t", "splits": ["Training"]}).encode()
    np.savez(faces, meta=np.frombuffer(meta, np.uint8), images_0=np.zeros((7, 48, 48), np.uint8),
             labels_0=np.arange(7, dtype=np.int8))
    for args in (["run", "--source", photo, "--headless", "--jsonl", tmp_path / "o.jsonl", "--model", damaged_model],
                 ["evaluate", damaged_model, "--data", faces, "--split", "Training"],
                 ["bench", "--classify-only", "--model", damaged_model, "--frames", 2, "--warmup", 0]):
        assert "not a usable TFLite model" in one_error(*args)
    assert final_names(tmp_path) == ["faces.npz"]


BAD_META = {
    "crop margin 5": ({"crop_margin": 5}, "crop_margin 5 is not a number in 0.0..1.0"),
    "crop margin as text": ({"crop_margin": "0.1"}, "crop_margin '0.1'"),
    "crop shift nan": ({"crop_shift": float("nan")}, "crop_shift nan"),
    "input size 0": ({"input_size": 0}, "input_size 0"),
    "input size 100000": ({"input_size": 100000}, "input_size 100000"),
    "input size as text": ({"input_size": "48"}, "input_size '48'"),
    "channels 2": ({"channels": 2}, "channels 2 is not 1 or 3"),
    "labels as a dict": ({"labels": {"angry": 0, "happy": 1}}, "is not a list of names"),
    "labels as numbers": ({"labels": [0, 1, 2, 3, 4, 5, 6]}, "is not a list of names"),
    "labels empty names": ({"labels": ["", "a", "b", "c", "d", "e", "f"]}, "is not a list of names"),
    "quantization a list": ({"quantization": [1, 2]}, "quantization [1, 2] is not an object"),
    "a list, not an object": (None, "must be a JSON object"),
}


@pytest.mark.parametrize("case", BAD_META)
def test_out_of_range_or_wrongly_typed_metadata_is_one_error(edge_model, tmp_path, case):
    changes, says = BAD_META[case]
    path = model_copy(edge_model, tmp_path / "m", changes)
    if changes is None:
        (tmp_path / "m" / "m.meta.json").write_text("[1, 2, 3]")
    photo = media("face01_single_frontal_smile.jpg")
    line = one_error("run", "--source", photo, "--headless", "--jsonl", "-", "--model", path)
    assert says in line
    assert says in one_error("bench", "--classify-only", "--model", path, "--frames", 2, "--warmup", 0)


def test_numeric_labels_are_never_printed_as_the_label(edge_model, tmp_path):
    path = model_copy(edge_model, tmp_path / "m", {"labels": list(range(7))})
    r = invoke("run", "--source", media("face01_single_frontal_smile.jpg"), "--headless", "--jsonl", "-",
               "--model", path)
    assert r.exit_code == 1 and '"label": ' not in r.stdout


@pytest.mark.parametrize("size, name, says", [
    ((9000, 12), "o.mp4", "9000x12 frames (it takes up to 8192 pixels a side; .avi"),  # H.264's largest level
    ((6, 200), "o.avi", "narrower than 8 pixels (6x200)"),  # OpenCV's MJPEG writer corrupted the heap
])
def test_a_frame_size_the_encoder_cannot_take_is_named_as_such(edge_model, tmp_path, size, name, says):
    """Not "cannot write video here": the folder is fine, the frame size is not."""
    picture = tmp_path / "in" / "x.png"
    picture.parent.mkdir()
    cv2.imwrite(str(picture), np.full((size[1], size[0], 3), 90, np.uint8))
    out = tmp_path / "out"
    out.mkdir()
    for source in (picture, picture.parent):  # one picture, and a folder (a video of pictures)
        line = one_error("run", "--source", source, "--headless", "--output-video", out / name, "--model", edge_model)
        assert says in line and "here" not in line
    assert os.listdir(out) == []


def test_a_12000x9000_photo_to_mp4_is_one_error_naming_its_size(edge_model, tmp_path):
    """The photo itself is within the 134-megapixel budget and runs; H.264 cannot encode its frame."""
    from test_bad_input_data import png_bytes

    photo = tmp_path / "big.png"
    photo.write_bytes(png_bytes(12000, 9000))
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli(["run", "--source", photo, "--headless", "--output-video", out / "o.mp4", "--model", edge_model],
                   env=NO_DISPLAY_ENV, measure=True)
    line = assert_one_error(done.code, done.stderr, done.stdout)
    assert "12000x9000 frames" in line and ".avi" in line and "here" not in line
    assert os.listdir(out) == [] and done.peak_mb < 1500


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_jsonl_to_a_full_device_is_one_error_line(edge_model):
    line = one_error("run", "--source", media("face01_single_frontal_smile.jpg"), "--headless", "--jsonl", "/dev/full",
                     "--model", edge_model)
    assert "No space left on device" in line


def _file_size_limit(nbytes):
    def limit():  # the child sees a full disk: writes past nbytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def native_lines(stderr: str) -> list[str]:
    """Lines that native libraries printed themselves (FFmpeg's `[mp4 @ 0x...]`, OpenCV's `[ WARN:...`)."""
    return [line for line in stderr.splitlines() if line.startswith(("[", "INFO:", "WARNING: Logging"))]


def test_a_disk_filling_up_under_the_video_is_one_warning_and_one_error(edge_model, tmp_path):
    """OpenCV's FFmpeg printed "Failed to write frame" once per frame (183 lines) and one warning summed
    them up; PyAV's muxer (H.264) raises at the first failed write: one error line, no native lines."""
    out = tmp_path / "o.mp4"
    done = run_cli(["run", "--source", media("video03_emotions_woman.mp4"), "--headless", "--output-video", out,
                    "--model", edge_model, "--max-frames", 150], preexec_fn=_file_size_limit(200_000), env=NO_DISPLAY_ENV)
    line = assert_one_error(done.code, done.stderr, done.stdout)
    assert "o.mp4: File too large" in line
    assert native_lines(done.stderr) == [], done.stderr
    assert final_names(tmp_path) == []



def test_a_truncated_video_keeps_ffmpegs_lines_off_the_terminal(edge_model, tmp_path):
    src = tmp_path / "cut.mp4"
    src.write_bytes(media("video03_emotions_woman.mp4").read_bytes()[:400_000])
    done = run_cli(["run", "--source", src, "--headless", "--jsonl", tmp_path / "o.jsonl", "--model", edge_model],
                   env=NO_DISPLAY_ENV)
    assert done.code == 0, done.stderr
    assert native_lines(done.stderr) == [], done.stderr
    summaries = [x for x in done.stderr.splitlines() if "FER_EDGE_NATIVE_LOGS" in x]
    assert len(summaries) == 1 and "partial file" in summaries[0]
    shown = run_cli(["run", "--source", src, "--headless", "--jsonl", tmp_path / "p.jsonl", "--model", edge_model],
                    env={**NO_DISPLAY_ENV, "FER_EDGE_NATIVE_LOGS": "1"})
    assert any("partial file" in x for x in native_lines(shown.stderr))  # asked for: shown as they come


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/stream.mjpg"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stream_that_never_answers_yields_to_a_signal_at_once(edge_model, tmp_path, silent_server, sig):
    done = run_cli(["run", "--source", silent_server, "--headless", "--jsonl", tmp_path / "o.jsonl",
                    "--model", edge_model], signal_after=(2.0, sig), timeout=10, env=NO_DISPLAY_ENV)
    assert done.code == 128 + sig and done.seconds < 1.0, (done.code, done.seconds, done.stderr)
    assert "Traceback" not in done.stderr and final_names(tmp_path) == []


def test_a_fifo_nobody_writes_to_yields_to_a_signal(edge_model, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = run_cli(["run", "--source", fifo, "--headless", "--jsonl", tmp_path / "o.jsonl", "--model", edge_model],
                   signal_after=(2.0, signal.SIGTERM), timeout=10, env=NO_DISPLAY_ENV)
    assert done.code == 143 and done.seconds < 1.0, (done.code, done.seconds, done.stderr)
    assert final_names(tmp_path) == ["pipe"]


def test_opening_a_silent_stream_or_an_unwritten_fifo_times_out(silent_server, tmp_path):
    """The opener gives up by itself (10 s for `run`; 1 s here) and leaves no thread behind."""
    from fer_edge.edge.sources.capture_open import OpenTimeout, open_capture

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    before = {t.ident for t in threading.enumerate()}
    for target in (silent_server, str(fifo)):
        started = time.monotonic()
        with pytest.raises(OpenTimeout):
            open_capture(target, timeout_s=1.0)
        assert time.monotonic() - started < 2.5
    deadline = time.monotonic() + 3
    while {t.ident for t in threading.enumerate()} - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not {t.ident for t in threading.enumerate()} - before


def test_a_fifo_with_a_writer_is_read_as_a_stream(edge_model, tmp_path):
    clip = tmp_path / "clip.avi"
    cap = REAL_VIDEO_CAPTURE(str(media("video01_single_face_neutral_to_smile.mp4")))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 360))
    for _ in range(20):
        writer.write(cap.read()[1])
    writer.release()
    cap.release()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_bytes(clip.read_bytes()), daemon=True)
    feeder.start()
    r = invoke("run", "--source", fifo, "--headless", "--jsonl", "-", "--model", edge_model, "--no-capture-thread")
    feeder.join(5)
    assert r.exit_code in (0, 3), r.stderr  # the writer's end closing is the stream's end
    assert len([x for x in r.stdout.splitlines() if x.strip()]) >= 15


def test_a_killed_runs_hidden_part_files_are_removed_by_the_next_run(edge_model, tmp_path):
    """SIGKILL leaves the temporary files, named after their process; the next command writing into
    that folder removes those whose process is gone, and no other."""
    out = tmp_path / "out"
    out.mkdir()
    from fer_edge.atomic import temp_prefix

    live = out / (temp_prefix("other.jsonl") + "abcdefgh.part.jsonl")  # this (running) process's
    live.write_text("")
    # --realtime: the 20 s clip at its own pace, so the kill lands mid-run however fast this machine is
    proc = run_cli(["run", "--source", media("video03_emotions_woman.mp4"), "--headless", "--jsonl", out / "a.jsonl",
                    "--output-video", out / "a.mp4", "--model", edge_model, "--realtime"],
                   signal_after=(3.0, signal.SIGKILL), timeout=30, env=NO_DISPLAY_ENV)
    assert proc.code == -signal.SIGKILL
    left = sorted(p.name for p in out.iterdir() if p != live)
    assert len(left) == 2 and all(".part." in name for name in left) and final_names(out) == []
    r = invoke("run", "--source", media("face01_single_frontal_smile.jpg"), "--headless", "--jsonl", out / "b.jsonl",
               "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([live.name, "b.jsonl"])


def test_a_folder_source_names_the_videos_it_skips(edge_model, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(media("face01_single_frontal_smile.jpg"), folder)
    shutil.copy(media("video01_single_face_neutral_to_smile.mp4"), folder)
    r = invoke("run", "--source", folder, "--headless", "--jsonl", "-", "--model", edge_model)
    assert r.exit_code == 0
    warnings = [x for x in r.stderr.splitlines() if x.startswith("warning:")]
    assert len(warnings) == 1 and "1 video skipped (video01_single_face_neutral_to_smile.mp4)" in warnings[0]
    (folder / "face01_single_frontal_smile.jpg").unlink()
    assert "its 1 video must be given one at a time" in one_error("run", "--source", folder, "--headless", "--jsonl", "-",
                                                                  "--model", edge_model)


def _corner(path):
    cap = REAL_VIDEO_CAPTURE(str(path))
    frames = [cap.read()[1] for _ in range(5)]
    cap.release()
    return np.stack([f[:24, :100].astype(np.int16) for f in frames])


def test_the_fps_figure_stays_out_of_saved_videos_unless_asked_for(edge_model, tmp_path):
    src = media("video01_single_face_neutral_to_smile.mp4")
    for name, extra in (("plain.avi", []), ("fps.avi", ["--fps-in-video"])):
        r = invoke("run", "--source", src, "--headless", "--output-video", tmp_path / name, "--model", edge_model,
                   "--max-frames", 5, *extra)
        assert r.exit_code == 0, r.stderr
    source = _corner(src)
    # Motion JPEG is lossy: the plain corner matches the input within coding noise; the figure's
    # black band with white digits (from the second frame, once a rate is known) does not.
    assert np.abs(_corner(tmp_path / "plain.avi") - source).mean() < 6
    assert np.abs(_corner(tmp_path / "fps.avi")[1:] - source[1:]).mean() > 20
