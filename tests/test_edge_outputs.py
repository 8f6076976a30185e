"""Result files: content, temp-then-rename, the annotated video's length and timing."""

import csv
import io
import json
import os
import stat
import threading

import cv2
import numpy as np
import pytest

from fer_edge.edge.outputs.files import Outputs
from fer_edge.edge.outputs.video import VideoOutput
from fer_edge.edge.sources import letterbox
from fer_edge.edge.results import Face, FrameResult
from fer_edge.edge.sources import Frame
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS

LABELS = list(EMOTIONS)


def result(n_faces=1):
    probs = np.array([0.1, 0, 0, 0.7, 0.1, 0, 0.1], np.float32)
    return FrameResult([Face(i + 1, (10 * i, 20, 30, 30), "happy", 0.7, probs, 0.9, tuple(LABELS))
                        for i in range(n_faces)])


def frame(i, t=None, name=None, size=(64, 48)):
    return Frame(np.full((size[1], size[0], 3), i * 10 % 256, np.uint8), i, t, name)


def count_frames(path):
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return n, fps


def test_jsonl_and_csv_records(tmp_path):
    out = Outputs(LABELS, jsonl=str(tmp_path / "r.jsonl"), csv_path=str(tmp_path / "r.csv"))
    out.write(frame(0, 0.0), result(2), None)
    out.write(frame(1, 0.0333), result(0), None)
    out.write(frame(2, None, "a.jpg"), result(1), None)
    assert not (tmp_path / "r.jsonl").exists()  # nothing at the target until the run ends
    out.close(commit=True)
    recs = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(recs) == 3
    assert recs[0] == {"frame": 0, "time": 0.0, "track": 1, "box": [0, 20, 30, 30], "label": "happy", "score": 0.7,
                       "scores": dict(zip(LABELS, [0.1, 0.0, 0.0, 0.7, 0.1, 0.0, 0.1])), "detection": 0.9}
    assert recs[2]["image"] == "a.jpg" and recs[2]["time"] is None
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text())))
    assert len(rows) == 3 and rows[1]["track"] == "2" and rows[1]["x"] == "10" and rows[2]["image"] == "a.jpg"
    assert rows[0]["happy"] == "0.7000" and rows[2]["time"] == ""
    assert oct(os.stat(tmp_path / "r.csv").st_mode & 0o777) != "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


@pytest.mark.parametrize("commit", [True, False])
def test_results_into_a_named_pipe_are_written_in_place_frame_by_frame(tmp_path, commit):
    """A pipe (like /dev/null or /dev/stdout) cannot take a rename: it would be replaced by a file.
    Its reader gets each frame's lines as the frame ends, not when the run does."""
    pipe = tmp_path / "results.pipe"
    os.mkfifo(pipe)
    first_line, rest = [], []
    got_first = threading.Event()

    def read():
        with open(pipe) as fh:
            first_line.append(fh.readline())
            got_first.set()
            rest.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()  # opening a pipe for writing waits for its reader
    out = Outputs(LABELS, jsonl=str(pipe))
    out.write(frame(0, 0.0), result(1), None)
    assert got_first.wait(10), "the frame's line did not reach the reader before the run ended"
    out.write(frame(1, 0.0333), result(2), None)
    out.close(commit=commit)
    assert json.loads(first_line[0])["label"] == "happy"
    reader.join(10)
    assert [json.loads(line)["frame"] for line in rest[0].splitlines()] == [1, 1]
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["results.pipe"]


def test_failed_run_leaves_no_output(tmp_path):
    out = Outputs(LABELS, jsonl=str(tmp_path / "r.jsonl"), video=str(tmp_path / "v.mp4"))
    out.write(frame(0, 0.0), result(), np.zeros((48, 64, 3), np.uint8))
    out.close(commit=False)
    assert list(tmp_path.iterdir()) == []


def test_video_has_one_frame_per_input_frame(tmp_path):
    v = VideoOutput(str(tmp_path / "v.mp4"), 29.97, realtime=False)
    for i in range(12):
        v.write(frame(i, i / 29.97).image, i / 29.97)
    v.close(commit=True)
    n, fps = count_frames(tmp_path / "v.mp4")
    assert n == 12 and fps == pytest.approx(29.97, abs=0.01)


def test_live_video_repeats_frames_to_play_in_real_time(tmp_path):
    v = VideoOutput(str(tmp_path / "v.avi"), 10.0, realtime=True)
    for t in (5.0, 5.1, 5.5, 5.6):  # a slow pipeline: 4 frames over 0.6 s of camera time
        v.write(np.zeros((48, 64, 3), np.uint8), t)
    v.close(commit=True)
    assert count_frames(tmp_path / "v.avi")[0] == 7  # 0.6 s at 10 fps, plus the last frame


def test_images_of_other_sizes_are_letterboxed(tmp_path):
    v = VideoOutput(str(tmp_path / "v.mkv"), 1.0, realtime=False)
    v.write(np.zeros((48, 64, 3), np.uint8), None)
    v.write(np.full((100, 50, 3), 255, np.uint8), None)
    v.close(commit=True)
    assert count_frames(tmp_path / "v.mkv")[0] == 2
    boxed = letterbox(np.full((100, 50, 3), 255, np.uint8), (64, 48))
    assert boxed.shape == (48, 64, 3) and boxed[:, 0].max() == 0 and boxed[24, 32].min() == 255


def test_video_whose_frames_were_lost_is_an_error_and_not_kept_while_the_rest_are(tmp_path, monkeypatch):
    """OpenCV's writer (.avi) drops frames without a word when the disk fills; the check on the
    finished file turns that into an error, and the other outputs are still kept."""
    real = cv2.VideoWriter

    class DiskFillsAfter3:
        def __init__(self, *args):
            self.inner, self.calls = real(*args), 0

        def isOpened(self):
            return self.inner.isOpened()

        def write(self, image):
            self.calls += 1
            if self.calls <= 3:
                self.inner.write(image)

        def release(self):
            self.inner.release()

    monkeypatch.setattr(cv2, "VideoWriter", DiskFillsAfter3)
    out = Outputs(LABELS, jsonl=str(tmp_path / "r.jsonl"), video=str(tmp_path / "v.avi"))
    for i in range(6):
        out.write(frame(i, i / 30), result(), np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(FerEdgeError, match=r"^could not finish writing --output-video .*v.avi: 3 of 6 frames"):
        out.close(commit=True)
    assert out.failed == [str(tmp_path / "v.avi")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]  # no video, no temp file; the JSONL kept


def test_a_frame_written_just_before_a_signal_stopped_the_count_does_not_fail_the_video(tmp_path):
    v = VideoOutput(str(tmp_path / "v.mp4"), 30.0, realtime=False)
    for i in range(3):
        v.write(frame(i).image, i / 30)
    v.writer.write(frame(3).image)  # written, not yet counted: Ctrl-C or SIGTERM arrived in between
    v.close(commit=True)
    assert count_frames(tmp_path / "v.mp4")[0] == 4


def test_picture_formats_opencv_cannot_write_in_colour_are_refused_up_front(tmp_path):
    with pytest.raises(FerEdgeError, match=r"cannot write a colour .pgm picture; use .jpg or .png"):
        Outputs(LABELS, video=str(tmp_path / "p.pgm"), single_image=True)
    Outputs(LABELS, video=str(tmp_path / "p.jp2"), single_image=True).close(commit=False)  # JPEG 2000 can
    out = Outputs(LABELS, video=str(tmp_path / "p.png"), single_image=True)
    out.write(frame(0), result(), np.full((48, 64, 3), 9, np.uint8))
    out.close(commit=True)
    assert cv2.imread(str(tmp_path / "p.png")).shape == (48, 64, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(jsonl="{d}/missing/r.jsonl"), "does not exist"),
    (dict(csv_path="{d}"), "is a folder"),
    (dict(video="{d}/v.gif"), "use one of"),
    (dict(jsonl="{d}/same", csv_path="{d}/same"), "different files"),
    (dict(jsonl="-", csv_path="-"), "only one of"),
])
def test_bad_targets_are_refused_before_any_work(tmp_path, kwargs, message):
    with pytest.raises(FerEdgeError, match=message):
        Outputs(LABELS, **{k: v.format(d=tmp_path) for k, v in kwargs.items()})
    assert [p for p in tmp_path.iterdir()] == []
