"""`fer-edge bench`: the real pipeline on real video, the report's fields and structure (never its
speed: speed targets live in benchmarks/), --classify-only, the frame helpers, bad input."""

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REPO, edge_model, edge_models, fake_webcam, media  # noqa: F401 (fixtures)

from fer_edge.cli import cli
from fer_edge.edge.bench.looped import LoopedSource, parse_size
from fer_edge.edge.sources import letterbox
from fer_edge.edge.bench.stats import latency_ms
from fer_edge.edge.results import STAGES
from fer_edge.edge.sources import PrefetchReader, open_source
from fer_edge.errors import FerEdgeError

VIDEO = "video01_single_face_neutral_to_smile.mp4"  # 640x360, 72 frames, one face in each
STAT_KEYS = {"median_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms"}


def invoke(*args):
    result = CliRunner(env={"DISPLAY": None, "WAYLAND_DISPLAY": None, "COLUMNS": "80"}).invoke(
        cli, ["bench", *map(str, args)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def check_stats(stats):
    assert set(stats) == STAT_KEYS
    assert 0 <= stats["median_ms"] <= stats["p95_ms"] <= stats["p99_ms"] <= stats["max_ms"]


# ----------------------------------------------------------------------------- the pipeline bench
@pytest.fixture(scope="module")
def video_report(edge_model):
    """One real bench, shared by the checks below: 100 frames of a 72-frame video (so it loops),
    letterboxed to 640x480, with start-up timed once, capture thread off and on."""
    r = invoke("--source", media(VIDEO), "--model", edge_model, "--frames", 100, "--warmup", 3, "--threads", 1,
               "--size", "640x480", "--startup-runs", 1, "--json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)  # stdout holds the JSON object alone


def test_json_has_the_issue_fields(video_report):
    rep = video_report
    assert isinstance(rep["fps"], float) and rep["fps"] > 0
    assert isinstance(rep["startup_s"], float) and rep["startup_s"] > 0
    assert isinstance(rep["peak_rss_mb"], float) and rep["peak_rss_mb"] > 0
    assert set(rep["stages"]) == set(STAGES) == {"capture", "detect", "preprocess", "classify", "draw"}
    for stage in STAGES:
        check_stats(rep["stages"][stage])
    check_stats(rep["frame_ms"])
    check_stats(rep["classify_per_face_ms"])
    assert rep["stages"]["detect"]["median_ms"] > 0 and rep["stages"]["draw"]["median_ms"] > 0
    assert rep["faces_per_s"] > 0 and rep["cpu_percent"] > 0
    assert rep["detector"] == "yunet" and rep["detect_every"] == 4  # the default detector and its frame loop


def test_counts_frames_and_faces_of_a_looped_letterboxed_video(video_report):
    rep = video_report
    assert rep["frames"] == 100 and rep["faces"] == 100  # one face in every frame
    assert rep["source"]["decoded_size"] == [640, 360] and rep["source"]["size"] == [640, 480]
    assert rep["source"]["live"] is False
    assert rep["faces_per_s"] == pytest.approx(rep["fps"], rel=0.01)
    assert rep["model"]["precision"] == "int8" and rep["model"]["input"] == [48, 48, 1]
    assert rep["warmup"] == 3 and rep["draw"] is True
    assert rep["machine"]["cores"] >= 1 and len(rep["machine"]["load_average"]) == 3


def test_capture_thread_measured_on_and_off(video_report):
    runs = video_report["runs"]
    assert [(r["threads"], r["capture_thread"]) for r in runs] == [(1, False), (1, True)]  # a file: off first
    for run in runs:
        assert run["frames"] == 100 and run["faces"] == 100 and run["dropped"] == 0  # prefetch keeps every frame
        assert run["loops"] >= 1  # 3 + 100 frames from a 72-frame video
    head = {k: v for k, v in runs[0].items() if k not in ("loops",)}
    assert all(video_report[k] == v for k, v in head.items() if k != "peak_rss_mb")


def test_startup_is_a_fresh_run_process(video_report):
    st = video_report["startup"]
    assert st["first_result"] == "face line"  # the video's first frame has a face
    assert st["s"] == video_report["startup_s"] and st["runs_s"] == [st["s"]]
    assert st["exit_s"] >= st["s"] and 0 < st["peak_rss_mb"] < 1000
    assert st["command"][1] == "-c" and st["command"][3] == "run" and "--max-frames" in st["command"]


def test_startup_runs_the_installed_fer_edge_even_beside_a_folder_named_fer_edge(tmp_path, monkeypatch, edge_model):
    """From a source checkout (or any folder holding a fer_edge/), `python -m fer_edge` would import
    that folder instead of the installed package; the start-up run must not."""
    from fer_edge.edge.bench.startup import measure_startup

    (tmp_path / "fer_edge").mkdir()
    (tmp_path / "fer_edge" / "__init__.py").write_text("raise ImportError('the decoy package was imported')\n")
    monkeypatch.chdir(tmp_path)
    st = measure_startup(None, str(media(VIDEO)), [str(edge_model)], 1, 0.5, runs=1)
    assert st["first_result"] == "face line"


def test_table_lists_every_stage_and_configuration(edge_model):
    r = invoke("--source", media(VIDEO), "--model", edge_model, "--frames", 8, "--warmup", 1, "--threads", "1,2",
               "--no-capture-thread", "--startup-runs", 0)
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    for stage in (*STAGES, "frame (all stages)", "classify per face"):
        assert stage in out
    assert "threads 1, capture thread off: 8 frames, 8 faces" in out
    assert "threads 2, capture thread off: 8 frames, 8 faces" in out
    assert "load average" in " ".join(out.split()) and "not measured (--startup-runs 0)" in out
    assert "detector yunet, on every 4 frames (boxes held between)" in " ".join(out.split())
    assert max(map(len, out.splitlines())) <= 80  # its title and machine lines were up to 134


def test_single_image_repeated_without_draw(edge_model):
    r = invoke("--source", media("face05_angry.jpg"), "--model", edge_model, "--frames", 5, "--warmup", 1,
               "--no-draw", "--capture-thread", "--startup-runs", 0, "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["frames"] == 5 and rep["faces"] == 5 and rep["draw"] is False
    assert rep["stages"]["draw"]["max_ms"] == 0 and rep["startup_s"] is None
    assert [run["capture_thread"] for run in rep["runs"]] == [True]


def test_webcam_with_and_without_the_capture_thread(monkeypatch, edge_model):
    """A live source: run's newest-frame reader is the default (first) configuration."""
    monkeypatch.setattr(cv2, "VideoCapture", fake_webcam(media(VIDEO)))
    r = invoke("--camera", 0, "--model", edge_model, "--frames", 10, "--warmup", 1, "--startup-runs", 0, "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["source"]["live"] is True and rep["capture_thread"] is True
    assert [run["capture_thread"] for run in rep["runs"]] == [True, False]
    assert all(run["frames"] == 10 and run["loops"] == 0 for run in rep["runs"])


BENCH_IN_SUBPROCESS = """
import json, sys
sys.modules["tensorflow"] = None  # any `import tensorflow` now raises
sys.modules["keras"] = None
from fer_edge.cli import main
sys.argv = ["fer-edge", "bench", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    assert not exc.code, exc.code
"""


def test_bench_never_imports_tensorflow(edge_model):
    args = ["--source", str(media(VIDEO)), "--frames", "5", "--warmup", "1", "--no-capture-thread",
            "--startup-runs", "0", "--json", "--model", str(edge_model)]
    proc = subprocess.run([sys.executable, "-c", BENCH_IN_SUBPROCESS, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["frames"] == 5


# ----------------------------------------------------------------------------- --classify-only
def test_classify_only_times_batch_1_and_8(edge_model):
    r = invoke("--classify-only", "--model", edge_model, "--frames", 5, "--warmup", 2, "--threads", "1,2", "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert [m["threads"] for m in rep["models"]] == [1, 2] and rep["batches"] == [1, 8] and rep["warmup"] == 2
    for m in rep["models"]:
        assert m["precision"] == "int8" and m["input"] == [48, 48, 1] and m["size_kb"] > 0
        for batch in ("batch1", "batch8"):
            assert set(m[batch]) == {"median_ms_per_face", "p95_ms_per_face", "p99_ms_per_face"}
            assert 0 < m[batch]["median_ms_per_face"] <= m[batch]["p95_ms_per_face"]


def test_classify_only_finds_every_model_in_a_folder_but_the_detector(tmp_path, edge_models):
    from fer_edge.paths import face_detector_model

    for path in edge_models.values():
        shutil.copy(path, tmp_path / path.name)
        shutil.copy(path.with_name(path.stem + ".meta.json"), tmp_path / (path.stem + ".meta.json"))
    shutil.copy(face_detector_model(), tmp_path)
    shutil.copy(edge_models["grey"], tmp_path / "no_sidecar.tflite")  # no .meta.json: not an expression model
    r = invoke("--classify-only", "--model", tmp_path, "--frames", 3, "--threads", 1)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("edge_test_grey_int8" in ln and "48x48x1" in ln for ln in lines)
    assert any("edge_test_rgb_int8" in ln and "64x64x3" in ln for ln in lines)
    assert "face_detection" not in r.stdout and "no_sidecar" not in r.stdout
    rule = next(i for i, ln in enumerate(lines) if ln.startswith("----"))
    top = max(i for i in range(rule) if not lines[i].strip()) + 1
    header_words = " ".join(lines[top:rule]).split()  # the header, wrapped over several lines
    assert header_words.count("batch") == 2 and header_words.count("ms/face") == 2 and "(.tflite)" in header_words
    assert max(map(len, lines)) <= 80  # an 80-column terminal: the table was 90 wide


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, message", [
    (["--source", "{tmp}/missing.mp4"], "no such file or folder"),
    ([], "exactly one of --camera"),
    (["--source", "{video}", "--camera", "0"], "exactly one of --camera"),
    (["--source", "{video}", "--threads", "0,a"], "--threads takes a comma-separated list"),
    (["--source", "{video}", "--threads", "1,99"], "--threads takes a comma-separated list"),
    (["--source", "{video}", "--size", "640"], "--size takes WIDTHxHEIGHT"),
    (["--source", "{video}", "--size", "4x4"], "--size must lie between"),
    (["--source", "{video}", "--model", "{tmp}/none.tflite"], "no such model file"),
    (["--source", "{tmp}/notavideo.mp4"], "cannot open as a video"),
    (["--classify-only", "--model", "{tmp}"], "no expression model"),
    (["--classify-only", "--source", "{video}"], "takes no --camera or --source"),
    (["--classify-only", "--size", "1x1", "--no-draw", "--startup-runs", "0"],
     "--size, --no-draw, --startup-runs: not used by --classify-only"),
    (["--camera", "7"], "cannot open camera 7"),
])
def test_bad_input_gives_one_error_line(tmp_path, monkeypatch, edge_model, args, message):
    if "--camera" in args:  # a camera that is not there
        monkeypatch.setattr(cv2, "VideoCapture", fake_webcam(media(VIDEO), opens=False))
    (tmp_path / "notavideo.mp4").write_text("not a video")
    fill = {"tmp": tmp_path, "video": media(VIDEO)}
    args = [a.format(**fill) for a in args]
    if "--model" not in args:
        args += ["--model", str(edge_model)]
    quick = [] if "--classify-only" in args else ["--startup-runs", 0]  # a pipeline option --classify-only refuses
    r = invoke(*args, *quick, "--frames", 2)
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert r.stdout == ""


# ----------------------------------------------------------------------------- helpers
def test_latency_percentiles():
    stats = latency_ms([i / 1000.0 for i in range(1, 101)])  # 1..100 ms
    assert stats["median_ms"] == pytest.approx(50.5) and stats["p95_ms"] == pytest.approx(95.05)
    assert stats["p99_ms"] == pytest.approx(99.01) and stats["max_ms"] == 100 and stats["mean_ms"] == 50.5
    assert latency_ms([])["median_ms"] == 0.0


def test_letterbox_keeps_the_picture_and_pads_black():
    image = np.full((360, 640, 3), 200, np.uint8)
    out = letterbox(image, (640, 480))
    assert out.shape == (480, 640, 3)
    assert (out[:60] == 0).all() and (out[420:] == 0).all() and (out[60:420] == 200).all()  # not rescaled
    small = letterbox(np.full((100, 400, 3), 9, np.uint8), (200, 200))  # shrunk to 200x50, centred
    assert small.shape == (200, 200, 3) and (small[75:125] == 9).all() and (small[:75] == 0).all()
    assert letterbox(image, (640, 360)) is image
    assert parse_size("640x480") == (640, 480) and parse_size(None) is None
    with pytest.raises(FerEdgeError):
        parse_size("640 by 480")


def test_looped_source_reopens_a_video_and_prefetch_keeps_order():
    path = str(media(VIDEO))
    looped = LoopedSource(lambda: open_source(source=path), (320, 240))
    reader = PrefetchReader(looped)
    frames = []
    for frame in reader:
        frames.append(frame)
        if len(frames) == 150:
            break
    reader.close()
    assert [f.index for f in frames] == list(range(150))
    assert all(f.image.shape == (240, 320, 3) for f in frames)
    assert looped.loops == 2 and looped.excluded_s > 0 and looped.decoded_size == (640, 360)
    assert np.array_equal(frames[0].image, frames[72].image)  # the same first frame after reopening


def test_prefetch_reader_hands_source_errors_to_the_consumer():
    from fer_edge.edge.sources import Frame, Source

    class Failing(Source):
        def frames(self):
            yield Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0)
            raise FerEdgeError("camera gone")

    reader = PrefetchReader(Failing())
    it = iter(reader)
    assert next(it).index == 0
    with pytest.raises(FerEdgeError, match="camera gone"):
        next(it)
    reader.close()


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="Linux only")
def test_machine_names_the_cpu():
    from fer_edge.machine import machine

    m = machine()
    assert m["cpu"] and m["cores"] >= 1


# ----------------------------------------------------------------------------- benchmarks/compare_fer.py
COMPARE = REPO / "benchmarks" / "compare_fer.py"


def test_compare_script_fer_edge_side_on_decoded_frames(tmp_path, edge_model):
    """The fer-edge worker of the comparison, on real frames written the way the script writes them."""
    sys.path.insert(0, str(COMPARE.parent))
    try:
        import compare_fer
    finally:
        sys.path.remove(str(COMPARE.parent))
    frames, decoded, k = compare_fer.decode(str(media(VIDEO)), 6, (640, 480))
    assert frames.shape == (6, 480, 640, 3) and decoded == (640, 360) and k == 6
    np.save(tmp_path / "frames.npy", frames)
    ballast = np.ones(700 * 2**20, np.uint8)  # the parent's size must not count as the worker's peak
    raw = compare_fer.run_worker([sys.executable, str(COMPARE.parent / "fer_edge_worker.py"),
                                  str(tmp_path / "frames.npy"), "8", "2", str(edge_model), "1"])
    assert len(raw["latency_s"]) == 8 and raw["faces"] == [1] * 8  # cycles the 6 frames
    assert raw["startup_s"] > 0 and 700 > raw["peak_rss_mb"] > raw["frames_mb"] > 0
    del ballast
    s = compare_fer.summarise(raw)
    assert s["frames_one_face"] == 8 and s["fps"] > 0 and s["median_ms"] <= s["p99_ms"]


def test_compare_script_without_fer_says_how_to_install_it(edge_model):
    proc = subprocess.run([sys.executable, str(COMPARE), str(media(VIDEO)), "--model", str(edge_model),
                           "--peer-python", "/nonexistent/bin/python"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: fer's virtualenv Python /nonexistent/bin/python not found")
    assert "pip install fer==25.10.3" in proc.stderr


@pytest.mark.skipif(not os.environ.get("FER_PEER_PYTHON"), reason="set FER_PEER_PYTHON to fer's virtualenv Python")
def test_compare_script_runs_both_sides(tmp_path, edge_model):
    out = tmp_path / "compare.json"
    proc = subprocess.run([sys.executable, str(COMPARE), str(media(VIDEO)), "--frames", "5", "--warmup", "2",
                           "--model", str(edge_model), "--json", str(out)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio: fer-edge" in proc.stdout and "machine:" in proc.stdout
    speed = json.loads(out.read_text())["speed"]
    assert speed["fer-edge"]["frames"] == speed["fer"]["frames"] == 5


def test_startup_run_asks_a_camera_for_the_bench_size():
    from fer_edge.edge.bench.startup import startup_command

    cmd = startup_command("0", None, [], 2, 0.5, (640, 480))
    assert cmd[cmd.index("--camera") + 1] == "0" and cmd[cmd.index("--resolution") + 1] == "640x480"
    assert "--resolution" not in startup_command(None, "clip.mp4", [], 2, 0.5, (640, 480))  # a file is letterboxed


def test_a_looped_folder_names_an_unreadable_image_once_and_notes_its_sizes_vary(tmp_path, capsys):
    shutil.copy(media("face05_angry.jpg"), tmp_path / "a.jpg")
    (tmp_path / "b.jpg").write_text("not an image")
    shutil.copy(media("face04_surprised.jpg"), tmp_path / "c.jpg")  # another size
    looped = LoopedSource(lambda: open_source(source=str(tmp_path)))
    frames = []
    for frame in looped:
        frames.append(frame)
        if len(frames) == 8:  # four passes over the folder
            break
    looped.close()
    assert looped.loops == 3 and looped.sizes_vary  # the report says so rather than the first size alone
    assert capsys.readouterr().err.count("not a readable image, skipped") == 1


def test_compare_script_turns_a_bad_or_hung_worker_into_one_error(tmp_path):
    sys.path.insert(0, str(COMPARE.parent))
    try:
        import compare_fer
    finally:
        sys.path.remove(str(COMPARE.parent))
    talker = tmp_path / "talker.py"
    talker.write_text("print('not json')\n")
    with pytest.raises(FerEdgeError, match="talker.py printed no JSON result: 'not json'"):
        compare_fer.run_worker([sys.executable, str(talker)])
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text("import time\ntime.sleep(60)\n")
    with pytest.raises(FerEdgeError, match="sleeper.py did not finish within 1 s"):
        compare_fer.run_worker([sys.executable, str(sleeper)], timeout=1)
    with pytest.raises(FerEdgeError, match="cannot run it"):
        compare_fer.run_worker([str(talker), "x"])  # not executable
