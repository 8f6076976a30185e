"""`fer-edge run` end to end: real photos and videos through the real detector and a real int8
model; cameras through fakes; bad input; and the edge path with TensorFlow blocked."""

import csv
import json
import re
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import (  # noqa: F401 (fixtures)
    REAL_VIDEO_CAPTURE,
    REPO,
    edge_model,
    edge_models,
    fake_picamera2,
    fake_webcam,
    media,
    mjpeg_stream,
    virtual_display,
)

from fer_edge.cli import cli

NO_DISPLAY = {"DISPLAY": None, "WAYLAND_DISPLAY": None}


def invoke(*args, env=None):
    result = CliRunner(env={**NO_DISPLAY, **(env or {})}).invoke(cli, ["run", *map(str, args)])
    # Every way out is a clean exit: success, or an `error:` line from FerEdgeError.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def video_info(path):
    cap = REAL_VIDEO_CAPTURE(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    size = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    info = (n, cap.get(cv2.CAP_PROP_FPS), *size)
    cap.release()
    return info


# ----------------------------------------------------------------------------- real media
def test_single_face_photo_gives_one_face_on_the_face(edge_model):
    r = invoke("--source", media("face01_single_frontal_smile.jpg"), "--headless", "--jsonl", "-",
               "--model", edge_model, "--threads", 1)
    assert r.exit_code == 0, r.stderr
    (rec,) = records(r.stdout)  # stdout holds nothing but JSON lines
    x, y, w, h = rec["box"]
    assert 240 < x + w / 2 < 330 and 240 < y + h / 2 < 340 and 140 < w < 260  # the face: x 190..380, y 150..400
    assert rec["frame"] == 0 and rec["image"] == "face01_single_frontal_smile.jpg"
    assert rec["label"] in rec["scores"] and rec["score"] == max(rec["scores"].values())
    assert sum(rec["scores"].values()) == pytest.approx(1.0, abs=0.01)
    assert "1 frame, 1 face " in r.stderr


def test_photo_without_a_person_gives_no_face(edge_model):
    r = invoke("--source", media("noface03_cat_face.png"), "--headless", "--jsonl", "-", "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""
    assert "1 frame, 0 faces" in r.stderr


@pytest.mark.parametrize("reader", ["--no-capture-thread", "--capture-thread"])  # a file's thread drops nothing
def test_video_gives_annotated_video_of_same_length_and_jsonl(tmp_path, edge_model, reader):
    src = media("video01_single_face_neutral_to_smile.mp4")
    out_video, out_jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    r = invoke("--source", src, "--headless", "--output-video", out_video, "--jsonl", out_jsonl,
               "--model", edge_model, "--threads", 1, reader)
    assert r.exit_code == 0, r.stderr
    n, fps, w, h = video_info(out_video)
    assert (n, w, h) == (72, 640, 360) and fps == pytest.approx(video_info(src)[1])
    recs = records(out_jsonl.read_text())
    assert len(recs) >= 68  # the face is in every frame; the detector may miss one now and then
    assert [r["frame"] for r in recs] == sorted({r["frame"] for r in recs})  # one face per frame
    assert recs[-1]["time"] == pytest.approx(recs[-1]["frame"] / 30.0, abs=1e-3)
    assert {r["track"] for r in recs} == {1}  # tracked as one face throughout
    assert "72 frames" in r.stderr and "wrote" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.mp4"]


def test_dark_video_reports_no_phantom_faces_and_photos_keep_their_weak_ones(tmp_path, edge_model):
    """video04 at the default --min-confidence had one-frame tracks at detector scores of 0.50-0.52:
    a face that appears mid-stream is now reported once confirmed. Pictures are not held back: the
    dark bar photo's faces at 0.50-0.51 stay."""
    out = tmp_path / "dark.jsonl"
    r = invoke("--source", media("video04_lowlight_night_smile.mp4"), "--headless", "--jsonl", out,
               "--model", edge_model, "--threads", 1, "--detector", "blazeface")  # the detector of those scores
    assert r.exit_code == 0, r.stderr
    frames_per_track = {}
    for rec in records(out.read_text()):
        frames_per_track[rec["track"]] = frames_per_track.get(rec["track"], 0) + 1
    assert frames_per_track and min(frames_per_track.values()) > 1, frames_per_track
    assert sorted(frames_per_track) == list(range(1, len(frames_per_track) + 1))  # no id skipped
    photo = tmp_path / "bar.jsonl"
    r = invoke("--source", media("group7_bar_lowlight.jpg"), "--headless", "--jsonl", photo, "--model", edge_model,
               "--detector", "blazeface")
    faces = records(photo.read_text())
    assert r.exit_code == 0 and len(faces) == 2 and min(f["detection"] for f in faces) < 0.6


@pytest.mark.parametrize("reader", ["--no-capture-thread", "--capture-thread"])
def test_single_image_to_an_annotated_picture(tmp_path, edge_model, reader):
    out = tmp_path / "annotated.jpg"
    r = invoke("--source", media("face04_surprised.jpg"), "--headless", "--output-video", out, "--model", edge_model,
               reader)
    assert r.exit_code == 0, r.stderr
    picture = cv2.imread(str(out))
    assert picture.shape == (333, 500, 3)
    assert not np.array_equal(picture, cv2.imread(str(media("face04_surprised.jpg"))))  # the overlay is drawn
    r = invoke("--source", media("video01_single_face_neutral_to_smile.mp4"), "--headless", "--output-video",
               tmp_path / "x.png", "--model", edge_model)
    assert r.exit_code == 1 and "a picture holds one frame" in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotated.jpg"]


def test_smoothing_steadies_the_scores_of_a_tracked_face(tmp_path, edge_model):
    src = media("video01_single_face_neutral_to_smile.mp4")

    def jitter(smooth):
        out = tmp_path / f"s{smooth}.jsonl"
        assert invoke("--source", src, "--headless", "--jsonl", out, "--smooth", smooth, "--model", edge_model,
                      "--max-frames", 40).exit_code == 0
        scores = np.array([list(r["scores"].values()) for r in records(out.read_text())])
        return np.abs(np.diff(scores, axis=0)).sum(axis=1).mean()

    assert jitter(0.8) < 0.6 * jitter(0.0)


def test_folder_of_images_to_csv(tmp_path, edge_model):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("face04_surprised.jpg", "group3_grimace_glasses_flash.jpg", "noface01_coffee.png"):
        shutil.copy(media(name), photos / name)
    shutil.copy(media("face05_angry.jpg"), photos / os.fsdecode(b"caf\xe9.jpg"))  # a Latin-1 name, not UTF-8
    out, out_jsonl = tmp_path / "faces.csv", tmp_path / "faces.jsonl"
    r = invoke("--source", photos, "--headless", "--csv", out, "--jsonl", out_jsonl, "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["image"] for row in rows].count("group3_grimace_glasses_flash.jpg") == 3
    assert [row["image"] for row in rows].count("face04_surprised.jpg") == 1
    assert [row["image"] for row in rows].count("caf\\xe9.jpg") == 1  # its byte spelled out, valid UTF-8
    assert [rec["image"] for rec in records(out_jsonl.read_text(encoding="utf-8"))].count("caf\\xe9.jpg") == 1
    assert all(row["time"] == "" for row in rows)
    # Stills are unrelated: every image starts its own tracks.
    assert len({row["track"] for row in rows}) == 5


def test_three_channel_model_runs_from_its_metadata(tmp_path, edge_models):
    """A ResNet50-style model (N x N x 3 input) needs nothing but its metadata."""
    r = invoke("--source", media("face02_astronaut_frontal_smile.png"), "--headless", "--jsonl", "-",
               "--model", edge_models["rgb"])
    assert r.exit_code == 0, r.stderr
    assert len(records(r.stdout)) == 1


def test_shipped_model_when_present():
    from fer_edge.errors import FerEdgeError
    from fer_edge.paths import default_model

    try:
        default_model()
    except FerEdgeError:
        pytest.skip("no expression model shipped in models/ yet")
    r = invoke("--source", media("face01_single_frontal_smile.jpg"), "--headless", "--jsonl", "-")
    assert r.exit_code == 0, r.stderr
    assert len(records(r.stdout)) == 1


# ----------------------------------------------------------------------------- cameras
def webcam_video():
    return media("video01_single_face_neutral_to_smile.mp4")


def test_webcam_dropping_mid_run_keeps_outputs_and_fails(tmp_path, monkeypatch, edge_model):
    monkeypatch.setattr(cv2, "VideoCapture", fake_webcam(webcam_video(), fail_after=20))
    out_jsonl, out_video = tmp_path / "cam.jsonl", tmp_path / "cam.avi"
    r = invoke("--camera", 0, "--headless", "--jsonl", out_jsonl, "--output-video", out_video,
               "--no-capture-thread", "--model", edge_model)
    assert r.exit_code == 3
    assert r.stderr.strip().splitlines()[-1] == "error: camera 0 stopped delivering frames after 20 frames"
    assert "20 frames" in r.stderr and "source lost" in r.stderr
    recs = records(out_jsonl.read_text())  # flushed, closed, complete lines
    assert {rec["frame"] for rec in recs} <= set(range(20)) and len(recs) >= 18
    assert video_info(out_video)[0] >= 20  # closed properly: it plays


def test_webcam_with_capture_thread_and_frame_limit(monkeypatch, edge_model):
    monkeypatch.setattr(cv2, "VideoCapture", fake_webcam(webcam_video()))
    r = invoke("--camera", 0, "--headless", "--jsonl", "-", "--max-frames", 10, "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    recs = records(r.stdout)
    assert 8 <= len(recs) <= 10
    assert [rec["frame"] for rec in recs] == sorted(rec["frame"] for rec in recs)
    assert "10 frames" in r.stderr


def test_picam_through_fake_picamera2(monkeypatch, edge_model):
    image = cv2.imread(str(media("face02_astronaut_frontal_smile.png")))
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2([image]))
    r = invoke("--camera", "picam", "--headless", "--jsonl", "-", "--max-frames", 3, "--no-capture-thread",
               "--model", edge_model)
    assert r.exit_code == 0, r.stderr
    recs = records(r.stdout)
    assert [rec["frame"] for rec in recs] == [0, 1, 2] and {rec["track"] for rec in recs} == {1}


def test_picam_failing_mid_run(tmp_path, monkeypatch, edge_model):
    image = cv2.imread(str(media("face02_astronaut_frontal_smile.png")))
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2([image], fail_after=5))
    out = tmp_path / "pi.jsonl"
    r = invoke("--camera", "picam", "--headless", "--jsonl", out, "--no-capture-thread", "--model", edge_model)
    assert r.exit_code == 3
    assert "error: the Raspberry Pi camera stopped delivering frames after 5 frames" in r.stderr
    assert len(records(out.read_text())) == 5


def test_stream_dropping_mid_run(tmp_path, edge_model):
    jpeg = cv2.imencode(".jpg", cv2.imread(str(media("face04_surprised.jpg"))))[1].tobytes()
    out = tmp_path / "stream.jsonl"
    with mjpeg_stream(jpeg, frames=15) as url:
        r = invoke("--source", url, "--headless", "--jsonl", out, "--model", edge_model)  # capture thread on
    assert r.exit_code == 3
    assert r.stderr.strip().splitlines()[-1] == f"error: {url} stopped delivering frames after 15 frames"
    recs = records(out.read_text())
    assert 1 <= len(recs) <= 15 and recs[-1]["frame"] == 14  # the newest frame is never dropped


def test_ctrl_c_keeps_what_was_written(tmp_path, monkeypatch, edge_model):
    image = cv2.imread(str(media("face02_astronaut_frontal_smile.png")))
    fake = fake_picamera2([image])
    capture = fake.Picamera2.capture_array

    def interrupted_after_4(self, name="main"):
        if self.n == 4:
            raise KeyboardInterrupt
        return capture(self, name)

    fake.Picamera2.capture_array = interrupted_after_4
    monkeypatch.setitem(sys.modules, "picamera2", fake)
    out = tmp_path / "pi.csv"
    r = invoke("--camera", "picam", "--headless", "--csv", out, "--no-capture-thread", "--model", edge_model)
    assert r.exit_code == 130 and "interrupted" in r.stderr
    assert len(list(csv.DictReader(out.open()))) == 4


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, message", [
    (["--source", "{tmp}/missing.mp4", "--headless", "--jsonl", "-"], "no such file or folder"),
    (["--headless", "--jsonl", "-"], "exactly one of --camera"),
    (["--source", "{face}", "--camera", "0", "--headless", "--jsonl", "-"], "exactly one of --camera"),
    (["--source", "{face}"], "nothing to show or write"),
    (["--source", "{face}", "--display"], "cannot show a window"),
    (["--source", "{face}", "--headless", "--jsonl", "{tmp}/no/dir/x.jsonl"], "does not exist"),
    (["--source", "{face}", "--headless", "--jsonl", "{face}"], "would overwrite the input"),
    (["--source", "{face}", "--headless", "--jsonl", "-", "--model", "{tmp}/none.tflite"], "no such model file"),
    (["--source", "{face}", "--headless", "--jsonl", "-", "--model", "{nometa}"], "no metadata file"),
    (["--camera", "7", "--headless", "--jsonl", "-"], "cannot open camera 7"),
    (["--camera", "picam", "--headless", "--jsonl", "-"], "sudo apt install python3-picamera2"),
])
def test_bad_input_gives_one_error_line(tmp_path, monkeypatch, edge_model, args, message):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # as on any machine but a Pi
    monkeypatch.setattr(cv2, "VideoCapture", fake_webcam(webcam_video(), opens=False))
    nometa = tmp_path / "model.tflite"
    shutil.copy(edge_model, nometa)
    fill = {"tmp": tmp_path, "face": media("face05_angry.jpg"), "nometa": nometa}
    if "--model" not in args:
        args = [*args, "--model", str(edge_model)]
    r = invoke(*[a.format(**fill) for a in args])
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert r.stdout == ""
    assert not (tmp_path / "no").exists()


def test_missing_default_model_says_to_pass_one():
    from fer_edge.errors import FerEdgeError
    from fer_edge.paths import default_model

    try:
        default_model()
        pytest.skip("a model is shipped")
    except FerEdgeError:
        pass
    r = invoke("--source", media("face05_angry.jpg"), "--headless", "--jsonl", "-")
    assert r.exit_code == 1 and "pass --model" in r.stderr


# ----------------------------------------------------------------------------- no TensorFlow
RUN_IN_SUBPROCESS = """
import json, sys
if sys.argv[1] == "block":
    sys.modules["tensorflow"] = None  # any `import tensorflow` now raises
    sys.modules["keras"] = None
from fer_edge.cli import main
sys.argv = ["fer-edge", "run", *sys.argv[2:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
loaded = sorted(m for m, mod in sys.modules.items() if m.split(".")[0] in ("tensorflow", "keras") and mod is not None)
print(json.dumps({"code": code, "loaded": loaded}))
"""


@pytest.mark.parametrize("mode", ["block", "watch"])
def test_edge_path_never_imports_tensorflow(tmp_path, edge_model, mode):
    """The whole run (detector, classifier, tracker, outputs) with TensorFlow blocked, and unblocked
    on this host where TensorFlow is installed: it must work, and must not load it."""
    args = ["--source", str(media("video01_single_face_neutral_to_smile.mp4")), "--headless", "--max-frames", "10",
            "--jsonl", str(tmp_path / "o.jsonl"), "--output-video", str(tmp_path / "o.mp4"), "--model", str(edge_model)]
    env = {k: v for k, v in os.environ.items() if k not in NO_DISPLAY}
    proc = subprocess.run([sys.executable, "-c", RUN_IN_SUBPROCESS, mode, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}, proc.stderr[-3000:]
    assert len(records((tmp_path / "o.jsonl").read_text())) >= 9


# ----------------------------------------------------------------------------- window
def test_window_on_a_virtual_display(tmp_path, edge_model, virtual_display):
    """The default when a display exists: a Tk window (headless OpenCV has none of its own)."""
    env = {**os.environ, "DISPLAY": virtual_display}
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "run", "--source",
                           str(media("video01_single_face_neutral_to_smile.mp4")), "--max-frames", "5",
                           "--model", str(edge_model)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "5 frames, 5 faces" in proc.stderr and "draw" in proc.stderr


@pytest.mark.parametrize("flag", [None, "--fast"])
def test_a_window_plays_a_file_at_its_own_rate_unless_asked_to_go_fast(tmp_path, edge_model, virtual_display, flag):
    """video01 is 30 frames a second: 30 frames shown in the window cannot take less than 29/30 s
    (a 20 s clip used to be over in 5 s); --fast runs them as fast as the pipeline goes."""
    env = {**os.environ, "DISPLAY": virtual_display}
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "run", "--source",
                           str(media("video01_single_face_neutral_to_smile.mp4")), "--max-frames", "30",
                           "--model", str(edge_model), *([flag] if flag else [])], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fps = float(re.search(r"mean ([\d.]+) FPS", proc.stderr).group(1))
    if flag is None:
        assert fps <= 31.5, proc.stderr
    else:
        assert "wait" not in proc.stderr, proc.stderr  # nothing held back


def test_window_shows_frames_fits_big_ones_on_screen_and_quits_on_q(monkeypatch, virtual_display):
    from fer_edge.edge.outputs.window import Window

    monkeypatch.setenv("DISPLAY", virtual_display)
    window = Window()
    try:
        assert window.show(np.zeros((1200, 1600, 3), np.uint8))  # the Xvfb screen is 800x600
        assert window._shown == (720, 540)  # 90% of the screen, aspect kept
        window._root.event_generate("<KeyPress>", keysym="x", when="tail")
        assert window.show(np.zeros((1200, 1600, 3), np.uint8), still=True)  # any other key moves on
        window._root.event_generate("<KeyPress>", keysym="q", when="tail")
        assert not window.show(np.zeros((1200, 1600, 3), np.uint8), still=True)
        assert not window.show(np.zeros((120, 160, 3), np.uint8))  # stays closed
    finally:
        window.close()


@pytest.mark.parametrize("pictures, keys, says", [
    (1, ["q"], "the picture stays until a key is pressed"),
    (2, ["x", "q"], "each picture stays until a key is pressed (q or Esc: stop"),
])
def test_pictures_in_the_window_are_counted_and_the_wait_for_a_key_is_said(
        tmp_path, edge_model, virtual_display, monkeypatch, capsys, pictures, keys, says):
    """After a photo closed with q the summary said "0 frames, 0 faces (closed by the user)" while the
    JSONL held its face; a folder waited for a key on each picture without a word."""
    from fer_edge.edge.outputs.files import Outputs
    from fer_edge.edge.outputs.window import Window
    from fer_edge.edge.recognizer import Recognizer
    from fer_edge.edge.runner import run
    from fer_edge.edge.sources import ImageSource

    monkeypatch.setenv("DISPLAY", virtual_display)
    paths = [media("face01_single_frontal_smile.jpg"), media("face04_surprised.jpg")][:pictures]
    recognizer = Recognizer(str(edge_model), threads=1)
    outputs = Outputs(recognizer.labels, jsonl=str(tmp_path / "o.jsonl"))
    window = Window()
    try:
        pending = list(keys)

        def press():  # the next key once a picture waits for one (Tk runs this inside the wait)
            if window.waiting and pending:
                window._root.event_generate("<KeyPress>", keysym=pending.pop(0))
            window._root.after(50, press)

        window._root.after(50, press)
        summary = run(ImageSource(paths, "photos"), recognizer, outputs, window)
    finally:
        window.close()
        recognizer.close()
    written = records((tmp_path / "o.jsonl").read_text())
    assert summary.frames == pictures and summary.faces == len(written) >= pictures
    assert summary.ended == "closed by the user"
    err = capsys.readouterr().err
    assert f"{pictures} frame" in err and says in err


# ----------------------------------------------------------------------------- signals
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_run_like_ctrl_c_with_outputs_kept(tmp_path, edge_model, sig):
    """systemd stops a service with SIGTERM, a closed SSH session sends SIGHUP: the results so far are kept."""
    import signal
    import time

    out = tmp_path / "o.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in NO_DISPLAY}
    # Under `nohup` (a test run started so) SIGHUP is ignored, and `run` rightly keeps it ignored: the
    # child gets the default disposition, as from a terminal.
    proc = subprocess.Popen([sys.executable, "-m", "fer_edge", "run", "--source", str(media("video03_emotions_woman.mp4")),
                             "--headless", "--jsonl", str(out), "--model", str(edge_model), "--threads", "1"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(getattr(signal, sig), signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size for p in tmp_path.glob(".o.jsonl*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the first results are on disk, under the temporary name
    proc.send_signal(getattr(signal, sig))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, sig), stderr[-2000:]
    assert f"terminated ({sig})" in stderr and "Traceback" not in stderr
    recs = records(out.read_text())
    assert recs and recs[-1]["frame"] < 471  # whole lines of the frames done before the signal, not the whole clip
    assert [p.name for p in tmp_path.iterdir()] == ["o.jsonl"]  # renamed into place, no temp file left


def test_terminated_survives_pickling_with_its_exit_status():
    import pickle

    from fer_edge.errors import Terminated

    again = pickle.loads(pickle.dumps(Terminated(15)))
    assert isinstance(again, KeyboardInterrupt) and again.exit_code == 143 and str(again) == "SIGTERM"


def test_a_signal_inside_a_deferred_block_acts_when_the_block_ends():
    """A SIGTERM that lands while MediaPipe builds an Image would leave it half-built (its __del__
    then prints a traceback): inside interrupts_deferred() it is held until the block ends."""
    import signal

    from fer_edge.errors import Terminated
    from fer_edge.interrupts import interrupts_deferred

    def handler(signum, _frame):
        raise Terminated(signum)

    before = signal.signal(signal.SIGTERM, handler)
    try:
        reached = []
        with pytest.raises(Terminated) as stopped:
            with interrupts_deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                reached.append("after the signal")  # the block runs on to its end
        assert reached == ["after the signal"] and stopped.value.exit_code == 143
        assert signal.getsignal(signal.SIGTERM) is handler  # restored
        with interrupts_deferred():  # no signal: nothing raised
            pass
    finally:
        signal.signal(signal.SIGTERM, before)


def test_an_undecodable_video_is_one_line_on_the_real_stderr(tmp_path, edge_model):
    """FFmpeg writes its own complaint ("moov atom not found") straight to fd 2, past Python: only a
    separate process shows whether the user sees just our line."""
    fake = tmp_path / "text.mp4"
    fake.write_text("not a video")
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "run", "--source", str(fake), "--headless", "--jsonl",
                           str(tmp_path / "o.jsonl"), "--model", str(edge_model)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [f"error: {fake}: cannot open as a video (unreachable, or a format "
                                                "this OpenCV cannot decode)"]


def test_a_wayland_session_without_x11_is_no_display_for_tk_windows(monkeypatch):
    from fer_edge.edge.outputs import window as display

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert "Wayland session without X11" in display.display_problem()


def test_no_tk_is_no_display_and_names_the_apt_package(monkeypatch):
    from fer_edge.edge.outputs import window as display

    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(display, "_x_server_reachable", lambda name: True)
    monkeypatch.setitem(sys.modules, "tkinter", None)  # as on a Python without python3-tk
    assert "sudo apt install python3-tk" in display.display_problem()


@pytest.mark.parametrize("args, message", [
    (["--foo"], "error: No such option '--foo'"),
    (["--source", "x", "--threads", "0"], "error: Invalid value for '--threads': 0 is not in the range 1<=x<=64."),
])
def test_click_usage_errors_are_one_line_too(args, message):
    r = invoke(*args)
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith(message) and line.endswith(" run --help)"), line  # the program's name as invoked


def test_the_wait_for_a_realtime_files_frame_rate_is_shown_apart_from_capture(edge_model):
    """With --realtime the wait for the next frame was reported as "capture 38 ms" (summary, live view)."""
    from fer_edge.edge.loop import recognized_frames
    from fer_edge.edge.recognizer import Recognizer
    from fer_edge.edge.runner import Summary
    from fer_edge.edge.sources import Frame, Source
    from fer_edge.edge.sources.pacing import PacedSource

    class ThreeFrames(Source):  # a file whose frames are 0.3 s apart, read at once
        fps, frame_count = 1 / 0.3, 3

        def frames(self):
            image = cv2.imread(str(media("face01_single_frontal_smile.jpg")))
            for i in range(3):
                yield Frame(image, i, 0.3 * i)

    with Recognizer(str(edge_model), threads=1) as recognizer:
        steps = list(recognized_frames(PacedSource(ThreeFrames()), recognizer))
    waits = [s.result.timings["wait"] for s in steps]
    assert waits[0] < 0.05 and min(waits[1:]) >= 0.15  # held back until each frame's time
    assert all(s.result.timings["capture"] < w for s, w in zip(steps[1:], waits[1:]))
    assert all(s.seconds < 0.3 for s in steps)  # a frame's work, not its wait
    summary = Summary(frames=3, faces=3, elapsed=0.6, stage_seconds={"capture": 0.003, "detect": 0.03, "wait": 0.45})
    assert summary.text().splitlines()[1] == ("per frame: capture 1.0 ms, detect 10.0 ms; and 150.0 ms waiting for "
                                              "the video's own frame rate")
