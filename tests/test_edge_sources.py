"""Frame sources: files, folders, a webcam (fake cv2.VideoCapture over a real video), picamera2 (a
fake module in sys.modules), and the capture thread."""

import shutil
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from edge_fixtures import fake_picamera2, fake_webcam, media, mjpeg_stream

from fer_edge.edge.sources import (
    CaptureSource,
    ImageSource,
    LatestFrameReader,
    PicamSource,
    Source,
    SourceLost,
    open_source,
    parse_wxh as parse_resolution,
)
from fer_edge.errors import FerEdgeError

@pytest.fixture
def webcam(monkeypatch):
    def install(**kwargs):
        cls = fake_webcam(media("video01_single_face_neutral_to_smile.mp4"), **kwargs)
        monkeypatch.setattr(cv2, "VideoCapture", cls)
        return cls

    return install


def take(source, n):
    out = []
    for frame in source:
        out.append(frame)
        if len(out) == n:
            break
    return out


# ----------------------------------------------------------------------------- files
def test_video_file_gives_every_frame_with_video_time():
    with open_source(source=str(media("video01_single_face_neutral_to_smile.mp4"))) as src:
        assert isinstance(src, CaptureSource) and not src.live and src.sequence
        assert src.frame_count == 72 and src.fps == pytest.approx(30.0)
        frames = list(src)
    assert len(frames) == 72
    assert [f.index for f in frames] == list(range(72))
    assert frames[30].timestamp == pytest.approx(1.0)
    assert frames[0].image.shape == (360, 640, 3) and frames[0].image.dtype == np.uint8


def test_single_image_and_folder(tmp_path):
    one = open_source(source=str(media("face04_surprised.jpg")))
    assert isinstance(one, ImageSource) and not one.sequence
    (frame,) = list(one)
    assert frame.image.shape == (333, 500, 3) and frame.name == "face04_surprised.jpg" and frame.timestamp is None

    shutil.copy(media("face05_angry.jpg"), tmp_path / "b.jpg")
    shutil.copy(media("face09_profile_cameraman_gray.png"), tmp_path / "a.png")  # 1-channel PNG
    (tmp_path / "c.jpg").write_bytes(b"broken")
    (tmp_path / "notes.txt").write_text("not an image")
    folder = open_source(source=str(tmp_path))
    assert folder.frame_count == 3
    frames = list(folder)
    assert [f.name for f in frames] == ["a.png", "b.jpg"]  # sorted; c.jpg skipped with a warning
    assert frames[0].image.shape == (512, 512, 3)
    assert folder.skipped == 1


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.mp4", "no such file or folder"),
    (lambda p: p, "folder holds no images"),
    (lambda p: (p / "x.jpg").write_bytes(b"nope") and p / "x.jpg", "not a readable image"),
    (lambda p: (p / "x.mp4").write_bytes(b"\0" * 4096) and p / "x.mp4", "cannot open as a video"),
])
def test_bad_file_sources_give_clear_errors(tmp_path, make, message):
    with pytest.raises(FerEdgeError, match=message):
        src = open_source(source=str(make(tmp_path)))
        list(src)


def test_folder_of_unreadable_images_is_an_error(tmp_path):
    for name in ("a.jpg", "b.png"):
        (tmp_path / name).write_bytes(b"broken")
    with pytest.raises(FerEdgeError, match="none of its 2 images is readable"):
        list(open_source(source=str(tmp_path)))


def test_http_stream_that_drops_raises_source_lost():
    jpeg = cv2.imencode(".jpg", cv2.imread(str(media("face04_surprised.jpg"))))[1].tobytes()
    with mjpeg_stream(jpeg, frames=12) as url:
        src = open_source(source=url)
        assert src.live and src.frame_count is None
        got = []
        with pytest.raises(SourceLost, match="stopped delivering frames after 12 frames"):
            for frame in src:
                got.append(frame)
        src.close()
    assert len(got) == 12 and got[0].image.shape == (333, 500, 3)


def test_unreachable_stream_is_a_clear_error():
    with pytest.raises(FerEdgeError, match="cannot open as a stream"):
        open_source(source="rtsp://127.0.0.1:9/none")


def test_exactly_one_source_and_valid_camera_names():
    with pytest.raises(FerEdgeError, match="exactly one"):
        open_source()
    with pytest.raises(FerEdgeError, match="exactly one"):
        open_source(camera="0", source="x.mp4")
    with pytest.raises(FerEdgeError, match="picam"):
        open_source(camera="usb")


def test_parse_resolution():
    assert parse_resolution("1280x720") == (1280, 720)
    assert parse_resolution(None) is None
    for bad in ("1280", "axb", "0x10"):
        with pytest.raises(FerEdgeError, match="resolution"):
            parse_resolution(bad)


# ----------------------------------------------------------------------------- webcam
def test_webcam_by_number(webcam):
    cam = webcam()
    with open_source(camera="1", resolution=(640, 360)) as src:
        assert src.live and src.frame_count is None and src.fps == 30.0
        frames = take(src, 100)  # more than the clip: a camera does not end
    assert cam.opened == [1]
    assert len(frames) == 100
    stamps = [f.timestamp for f in frames]
    assert stamps == sorted(stamps)


def test_webcam_that_cannot_open(webcam):
    webcam(opens=False)
    with pytest.raises(FerEdgeError, match="cannot open camera 0"):
        open_source(camera="0")


def test_webcam_failing_mid_run_raises_source_lost(webcam):
    webcam(fail_after=5)
    src = open_source(camera="0")
    got = []
    with pytest.raises(SourceLost, match="camera 0 stopped delivering frames after 5 frames"):
        for frame in src:
            got.append(frame)
    assert len(got) == 5


def test_webcam_that_never_delivers(webcam):
    webcam(fail_after=0)
    with pytest.raises(FerEdgeError, match="delivered no frame") as info:
        list(open_source(camera="0"))
    assert not isinstance(info.value, SourceLost)


def test_real_video_file_opened_as_a_live_capture():
    """The real cv2.VideoCapture, marked live: its end reads as a dropped stream."""
    src = CaptureSource(str(media("video01_single_face_neutral_to_smile.mp4")), "stream", live=True)
    with pytest.raises(SourceLost, match="after 72 frames"):
        list(src)
    src.close()


# ----------------------------------------------------------------------------- picamera2
def test_picam_through_a_fake_picamera2(monkeypatch):
    image = cv2.imread(str(media("face02_astronaut_frontal_smile.png")))
    fake = fake_picamera2([image])
    monkeypatch.setitem(sys.modules, "picamera2", fake)
    src = open_source(camera="picam", resolution=(512, 512))
    assert isinstance(src, PicamSource) and src.live
    frames = take(src, 3)
    src.close()
    assert len(frames) == 3 and np.array_equal(frames[0].image, image)  # RGB888 is BGR: no conversion
    assert ("config", {"size": (512, 512), "format": "RGB888"}) in fake.calls
    assert fake.calls[-2:] == [("stop",), ("close",)]


def test_picam_four_channel_frames_become_bgr(monkeypatch):
    xbgr = np.zeros((48, 64, 4), np.uint8)
    xbgr[..., 2] = 200
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2([xbgr]))
    (frame,) = take(open_source(camera="picam"), 1)
    assert frame.image.shape == (48, 64, 3) and frame.image[0, 0, 2] == 200


def test_picam_failing_mid_run(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", fake_picamera2([np.zeros((48, 64, 3), np.uint8)], fail_after=4))
    src = open_source(camera="picam")
    with pytest.raises(SourceLost, match="Raspberry Pi camera stopped delivering frames after 4 frames"):
        list(src)
    src.close()


def test_picam_without_picamera2_names_the_os_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes `import picamera2` fail
    with pytest.raises(FerEdgeError, match=r"sudo apt install python3-picamera2.*--system-site-packages"):
        open_source(camera="picam")


def test_picam_that_cannot_start(monkeypatch):
    fake = fake_picamera2([])

    def no_camera(self, camera_num=0):
        raise IndexError("list index out of range")

    fake.Picamera2.__init__ = no_camera
    monkeypatch.setitem(sys.modules, "picamera2", fake)
    with pytest.raises(FerEdgeError, match="cannot open the Raspberry Pi camera"):
        open_source(camera="picam")


# ----------------------------------------------------------------------------- capture thread
class Ticker(Source):
    """A live source producing a frame every `period` seconds, failing after `n` frames."""

    live = True

    def __init__(self, n, period, fail=True):
        self.n, self.period, self.fail = n, period, fail
        self.closed = threading.Event()

    def frames(self):
        from fer_edge.edge.sources import Frame

        for i in range(self.n):
            time.sleep(self.period)
            yield Frame(np.full((8, 8, 3), i % 256, np.uint8), i, i * self.period)
        if self.fail:
            raise SourceLost("ticker stopped")

    def close(self):
        self.closed.set()


def test_capture_thread_hands_out_the_newest_frame_and_counts_drops():
    reader = LatestFrameReader(Ticker(40, 0.002))
    got = []
    with pytest.raises(SourceLost, match="ticker stopped"):
        for frame in reader:
            got.append(frame.index)
            time.sleep(0.015)  # a slow pipeline
    reader.close()
    assert got == sorted(got) and got[-1] == 39  # in order, and ends with the last frame
    assert len(got) < 40 and reader.dropped == 40 - len(got)
    assert reader.inner.closed.is_set()


def test_capture_thread_ends_cleanly_with_a_finite_source():
    reader = LatestFrameReader(Ticker(5, 0.001, fail=False))
    got = [f.index for f in reader]
    reader.close()
    assert got[-1] == 4
