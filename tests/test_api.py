"""The Python API (fer_edge.Recognizer, stream, analyze, to_dataframe, read_results, plot_timeline),
`fer-edge report`, and the examples/ scripts, on real photos and videos."""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REPO, media, virtual_display  # noqa: F401 (fixture)

import fer_edge
from fer_edge.cli import cli
from fer_edge.errors import FerEdgeError

pd = pytest.importorskip("pandas")
VIDEO = "video01_single_face_neutral_to_smile.mp4"  # 72 frames, one face throughout


@pytest.fixture(scope="module")
def recognizer():
    with fer_edge.Recognizer() as r:
        yield r


def test_public_names_are_exported_and_load_lazily():
    proc = subprocess.run([sys.executable, "-c", "import sys, fer_edge; print('cv2' in sys.modules, "
                           "sorted(set(fer_edge.__all__) - set(dir(fer_edge))))"], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.strip() == "False []", proc.stderr  # nothing heavy on import; every name listed is there
    for name in fer_edge.__all__:
        assert getattr(fer_edge, name) is not None


def test_recognize_a_portrait_prints_one_face_with_its_label():
    """The README's one-liner, as a user runs it."""
    photo = media("face01_single_frontal_smile.jpg")
    proc = subprocess.run([sys.executable, "-c", "import fer_edge, cv2; r = fer_edge.Recognizer(); "
                           f"print(r.recognize(cv2.imread({str(photo)!r})))"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("[Face(track_id=1, box=(") and "label='happy'" in proc.stdout
    assert proc.stdout.count("Face(") == 1
    assert proc.stderr == ""  # LiteRT's start-up lines are held back


def test_faces_carry_box_label_all_scores_track_and_detector_score(recognizer):
    recognizer.reset()
    (face,) = recognizer.recognize(cv2.imread(str(media("face04_surprised.jpg"))))
    assert face.label == "surprise" and face.score == max(face.scores.values())
    assert list(face.scores) == list(fer_edge.EMOTIONS) and abs(sum(face.scores.values()) - 1) < 0.02
    x, y, w, h = face.box
    # the face (forehead to chin) centred near (256, 175): BlazeFace's square box or YuNet's taller one
    assert 230 < x + w / 2 < 290 and 150 < y + h / 2 < 200 and 140 < max(w, h) < 240
    assert 0.5 < face.detection <= 1 and len(face.keypoints) == 5  # YuNet: eyes, nose tip, mouth corners
    d = face.to_dict()
    assert json.loads(json.dumps(d)) == d and set(d) == {"track", "box", "label", "score", "scores", "detection"}


def test_tracks_continue_across_calls_until_reset(recognizer):
    cap = cv2.VideoCapture(str(media(VIDEO)))
    frames = [cap.read()[1] for _ in range(5)]
    recognizer.reset()
    ids = [[f.track_id for f in recognizer.recognize(frame)] for frame in frames]
    assert ids == [[ids[0][0]]] * 5
    recognizer.reset()
    assert recognizer.recognize(frames[0])[0].track_id != ids[0][0]


def test_classify_a_crop_the_caller_already_has(recognizer):
    image = cv2.imread(str(media("face04_surprised.jpg")))
    expression = recognizer.classify(image[80:300, 150:370])
    assert expression.label == "surprise"
    assert set(expression.scores) == set(fer_edge.EMOTIONS) and abs(sum(expression.scores.values()) - 1) < 0.02
    assert recognizer.classify(cv2.cvtColor(image[80:300, 150:370], cv2.COLOR_BGR2GRAY)).label == "surprise"


@pytest.mark.parametrize("frame, message", [
    (None, "numpy array"), ("photo.jpg", "numpy array"), (np.zeros((48, 48, 3), np.float32), "uint8"),
    (np.zeros((2, 48, 48, 3), np.uint8), "shape"), (np.zeros((0, 48), np.uint8), "at least 1x1")])
def test_bad_frames_are_a_value_error_not_a_crash(recognizer, frame, message):
    with pytest.raises(ValueError, match=message):
        recognizer.recognize(frame)
    with pytest.raises(ValueError, match=message):
        recognizer.classify(frame)


def test_bad_models_and_options_are_clear_errors(tmp_path):
    from fer_edge.paths import face_detector_model

    with pytest.raises(FerEdgeError, match="no metadata file"):
        fer_edge.Recognizer(model=face_detector_model())  # a TFLite model, but not an expression classifier
    text = tmp_path / "model.tflite"
    text.write_text("not a model")
    with pytest.raises(FerEdgeError):
        fer_edge.Recognizer(model=text)
    with pytest.raises(FerEdgeError, match="no such model file"):
        fer_edge.Recognizer(model=tmp_path / "missing.tflite")
    with pytest.raises(ValueError, match="threads"):
        fer_edge.Recognizer(threads=0)
    with pytest.raises(ValueError, match="smooth"):
        fer_edge.Recognizer(smooth=1.0)
    with pytest.raises(FerEdgeError, match="min-confidence"):
        fer_edge.Recognizer(min_confidence=2)


def test_a_closed_recognizer_says_so():
    r = fer_edge.Recognizer()
    r.close()
    with pytest.raises(RuntimeError, match="after close"):
        r.recognize(np.zeros((64, 64, 3), np.uint8))


def test_stream_of_a_video_gives_every_frame_with_its_time_and_faces():
    items = list(fer_edge.stream(media(VIDEO)))
    assert [i.index for i in items] == list(range(72))
    assert items[30].time == pytest.approx(1.0, abs=0.01)
    image, faces = items[0]  # unpacks as (image, faces)
    assert image.shape == (360, 640, 3) and len(faces) == 1
    assert len({f.track_id for i in items for f in i.faces}) == 1


def test_stream_of_a_folder_treats_pictures_as_unrelated(tmp_path, recognizer):
    for name in ("face01_single_frontal_smile.jpg", "face04_surprised.jpg", "face05_angry.jpg"):
        (tmp_path / name).write_bytes(media(name).read_bytes())
    items = list(fer_edge.stream(tmp_path, recognizer, max_frames=2))
    assert [i.name for i in items] == ["face01_single_frontal_smile.jpg", "face04_surprised.jpg"]
    assert [i.time for i in items] == [None, None]
    assert [i.faces[0].label for i in items] == ["happy", "surprise"]  # not smoothed into each other


def test_stream_refuses_bad_sources_and_mixed_arguments(recognizer, tmp_path):
    with pytest.raises(FerEdgeError, match="no such file"):
        next(fer_edge.stream(tmp_path / "none.mp4", recognizer))
    with pytest.raises(ValueError, match="source must be"):
        next(fer_edge.stream(3.5, recognizer))
    with pytest.raises(ValueError, match="not both"):
        next(fer_edge.stream(media(VIDEO), recognizer, threads=1))
    with pytest.raises(ValueError, match="max_frames"):
        next(fer_edge.stream(media(VIDEO), recognizer, max_frames=0))


def test_analyze_matches_what_fer_edge_run_writes(tmp_path):
    """The API and the CLI are one path: the same rows, whether from analyze() or run --csv/--jsonl."""
    video = media(VIDEO)
    df = fer_edge.analyze(video, progress=False)
    assert len(df) == 72 and list(df["frame"]) == list(range(72))
    assert list(df.columns) == ["frame", "time", "track", "x", "y", "w", "h", "label", "score", "detection",
                                *fer_edge.EMOTIONS]
    r = CliRunner().invoke(cli, ["run", "--source", str(video), "--headless", "--csv", str(tmp_path / "o.csv"),
                                 "--jsonl", str(tmp_path / "o.jsonl")])
    assert r.exit_code == 0, r.output
    from_csv = fer_edge.read_results(tmp_path / "o.csv")
    from_jsonl = fer_edge.read_results(tmp_path / "o.jsonl")
    pd.testing.assert_frame_equal(from_csv, from_jsonl, check_exact=False, atol=1e-4)
    pd.testing.assert_frame_equal(df, from_csv, check_exact=False, atol=1e-4)
    assert df.loc[df["time"] > 1.2, "label"].mode()[0] == "happy"  # the smile in the middle of the clip


def test_to_dataframe_of_stream_items_and_of_faces(recognizer):
    items = list(fer_edge.stream(media(VIDEO), recognizer, max_frames=3))
    df = fer_edge.to_dataframe(items)
    assert list(df["frame"]) == [0, 1, 2] and df["time"].notna().all()
    faces_only = fer_edge.to_dataframe([f for i in items for f in i.faces])
    assert len(faces_only) == 3 and faces_only["frame"].isna().all()
    with pytest.raises(ValueError, match="cannot make a row"):
        fer_edge.to_dataframe([42])


def test_plot_timeline_writes_a_picture(tmp_path):
    df = fer_edge.analyze(media(VIDEO), progress=False, max_frames=20)
    fig = fer_edge.plot_timeline(df, tmp_path / "t.png")
    assert cv2.imread(str(tmp_path / "t.png")).shape[1] > 800
    assert len(fig.axes) == 1  # one panel per track
    with pytest.raises(FerEdgeError, match="name a"):
        fer_edge.plot_timeline(df, tmp_path / "t.txt")


def _run_csv(tmp_path, source, *extra) -> Path:
    out = tmp_path / "faces.csv"
    r = CliRunner().invoke(cli, ["run", "--source", str(source), "--headless", "--csv", str(out), *extra])
    assert r.exit_code == 0, r.output
    return out


def test_report_writes_a_picture_and_a_self_contained_page(tmp_path):
    csv_path = _run_csv(tmp_path, media("video02_hamilton_multi_face.mp4"), "--max-frames", "120")
    r = CliRunner().invoke(cli, ["report", str(csv_path), "-o", str(tmp_path / "r.png"), "-o",
                                 str(tmp_path / "r.html"), "--min-frames", "5"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].split()[:4] == ["track", "frames", "from", "to"]
    picture = cv2.imread(str(tmp_path / "r.png"))
    assert picture is not None and picture.shape[0] > 400
    page = (tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "<table" in page and "http" not in page.split("<body>")[1]


def test_report_on_video_says_which_tracks_it_left_out_and_how_to_show_them(tmp_path):
    """video02 has more tracks than the report draws (the 6 longest): it said nothing of the rest."""
    csv_path = _run_csv(tmp_path, media("video02_hamilton_multi_face.mp4"))
    tracks = len({line.split(",")[3] for line in csv_path.read_text().splitlines()[1:]})
    assert tracks > 6
    r = CliRunner().invoke(cli, ["report", str(csv_path), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 0, r.output
    note = next(line for line in r.stderr.splitlines() if "left out" in line)
    assert note.startswith(f"timelines of the 6 longest of {tracks} tracked faces; left out: #")
    more = re.search(r" and (\d+) more;", note)
    assert note.count(" frame") + (int(more.group(1)) if more else 0) == tracks - 6
    assert note.endswith(f"--tracks {tracks} shows them all")
    assert "left out: #" in (tmp_path / "r.html").read_text()
    r = CliRunner().invoke(cli, ["report", str(csv_path), "-o", str(tmp_path / "all.png"), "--tracks", str(tracks)])
    assert r.exit_code == 0 and "left out" not in r.stderr


def test_report_on_photos_is_a_view_per_picture(tmp_path):
    """Photo results drew six empty timelines (each face is one frame of its own picture)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("face01_single_frontal_smile.jpg", "group3_grimace_glasses_flash.jpg", "face04_surprised.jpg"):
        shutil.copy(media(name), photos / name)
    csv_path = _run_csv(tmp_path, photos)
    r = CliRunner().invoke(cli, ["report", str(csv_path), "-o", str(tmp_path / "r.png"), "-o",
                                 str(tmp_path / "r.html"), "--min-frames", "3"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["picture", "faces", "labels"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert sorted(rows) == sorted(p.name for p in photos.iterdir())
    assert rows["group3_grimace_glasses_flash.jpg"][0] == "3" and rows["face01_single_frontal_smile.jpg"][1] == "happy"
    assert "Per picture" in (tmp_path / "r.html").read_text()
    picture = cv2.imread(str(tmp_path / "r.png"))
    assert picture is not None and picture.shape[0] > 300


@pytest.mark.parametrize("content, args, message", [
    ("", [], "holds no face"),
    ("a,b\n1,2\n", [], "not a `fer-edge run --csv` file"),
    ("{not json\n", [], "not a `fer-edge run --jsonl` or `--csv` file"),
    (None, [], "no such file"),
    ("", ["-o", "{tmp}/r.gif"], "name a picture"),
])
def test_report_bad_input_is_one_error_line(tmp_path, content, args, message):
    results = tmp_path / "results.csv"
    if content is not None:
        results.write_text(content if content else "frame,time,image,track,x,y,w,h,label,score,detection,happy\n")
    outs = [a.format(tmp=tmp_path) for a in args] or ["-o", str(tmp_path / "r.png")]
    r = CliRunner().invoke(cli, ["report", str(results), *outs])
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert not (tmp_path / "r.png").exists()


def test_the_api_never_imports_tensorflow():
    code = ("import sys\nsys.modules['tensorflow'] = None\nsys.modules['keras'] = None\n"
            "import cv2, fer_edge\n"
            "with fer_edge.Recognizer() as r:\n    print(len(r.recognize(cv2.imread('samples/astronaut.jpg'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"


# ----------------------------------------------------------------------------- examples/
EXAMPLE_WITH_FAKES = """
import runpy, sys
sys.path.insert(0, {tests!r})
import cv2
from edge_fixtures import fake_picamera2, fake_webcam
video = {video!r}
if sys.argv[1] == "webcam":
    cv2.VideoCapture = fake_webcam(video)  # camera 0 plays the shared video, as a webcam would
else:
    cap = cv2.VideoCapture(video)
    sys.modules["picamera2"] = fake_picamera2([cap.read()[1] for _ in range(10)])
script, sys.argv = sys.argv[2], [sys.argv[2], *sys.argv[3:]]
runpy.run_path(script, run_name="__main__")
"""


def _example(kind: str, script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = EXAMPLE_WITH_FAKES.format(tests=str(REPO / "tests"), video=str(media(VIDEO)))
    return subprocess.run([sys.executable, "-c", code, kind, str(REPO / "examples" / script), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=180, env=env)


def test_webcam_example_draws_its_own_boxes_in_a_window(virtual_display):  # noqa: F811
    env = {**os.environ, "DISPLAY": virtual_display}
    proc = _example("webcam", "webcam_loop.py", "--max-frames", "15", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_picamera2_example_prints_each_face():
    proc = _example("picam", "picamera2_loop.py", "--max-frames", "10")
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 10 and lines[0].startswith("frame 0: face #1 ") and "at (" in lines[0]


def test_video_to_csv_example_writes_the_csv_and_the_plot(tmp_path):
    video = media(VIDEO)
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "video_to_csv.py"), str(video), "--out",
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    df = pd.read_csv(tmp_path / f"{video.stem}.faces.csv")
    assert len(df) == 72 and "happy" in df.columns
    assert cv2.imread(str(tmp_path / f"{video.stem}.timeline.png")) is not None
