"""The annotated video is one a person can use (issue 34): H.264 in MP4 (VP9 in WebM) that ffprobe
names, with its index at the front, and that headless Chromium plays (a <video> whose currentTime
advances). OpenCV's mp4v (MPEG-4 Part 2) failed here: Chromium reported
DEMUXER_ERROR_NO_SUPPORTED_STREAMS."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from fer_edge.edge.outputs.video import VideoOutput
from fer_edge.errors import FerEdgeError
from webdriver import find_browser, headless_chromium

BROWSER = find_browser()
FFPROBE = shutil.which("ffprobe")


def moving_square(i: int, size=(160, 120)) -> np.ndarray:
    image = np.full((size[1], size[0], 3), 40, np.uint8)
    x = (i * 4) % (size[0] - 20)
    image[40:60, x:x + 20] = (0, 200, 255)
    return image


def write_video(path, frames=48, fps=24.0, size=(160, 120)):
    v = VideoOutput(str(path), fps, realtime=False)
    for i in range(frames):
        v.write(moving_square(i, size), i / fps)
    v.close(commit=True)
    return path


def probe(path) -> dict:
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
                          "stream=codec_name,pix_fmt,width,height,nb_read_packets", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["streams"][0]


@pytest.mark.skipif(FFPROBE is None, reason="ffprobe not installed (apt install ffmpeg)")
@pytest.mark.parametrize("name, codec", [("v.mp4", "h264"), ("v.mov", "h264"), ("v.mkv", "h264"),
                                         ("v.webm", "vp9")])
def test_ffprobe_names_a_codec_every_browser_plays(tmp_path, name, codec):
    path = write_video(tmp_path / name, frames=10)
    assert probe(path) == {"codec_name": codec, "pix_fmt": "yuv420p", "width": 160, "height": 120,
                           "nb_read_packets": "10"}
    if name == "v.mp4":  # the index first: a browser starts playing before the whole file arrived
        data = path.read_bytes()
        assert data.index(b"moov") < data.index(b"mdat")


@pytest.mark.skipif(FFPROBE is None, reason="ffprobe not installed (apt install ffmpeg)")
@pytest.mark.parametrize("size", [(1, 1), (33, 21)])
def test_odd_frame_sides_get_one_black_row_or_column(tmp_path, size):
    """yuv420p stores colour for 2x2 pixels: odd sides are padded, not refused."""
    path = write_video(tmp_path / "v.mp4", frames=3, size=size) if size[0] > 20 else None
    if path is None:  # too small for the square: a plain grey frame
        v = VideoOutput(str(tmp_path / "v.mp4"), 10.0, realtime=False)
        v.write(np.full((1, 1, 3), 90, np.uint8), 0.0)
        v.close(commit=True)
        path = tmp_path / "v.mp4"
    got = probe(path)
    assert (got["width"], got["height"]) == (size[0] + size[0] % 2, size[1] + size[1] % 2)


def test_without_pyav_mp4_is_one_error_up_front_and_avi_still_works(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # what `import av` does where PyAV is not installed
    with pytest.raises(FerEdgeError, match=r"v.mp4: writing .mp4 needs PyAV \(`pip install av`\); .avi"):
        VideoOutput(str(tmp_path / "v.mp4"), 24.0, realtime=False)
    write_video(tmp_path / "v.avi", frames=2)
    assert [p.name for p in tmp_path.iterdir()] == ["v.avi"]


def test_a_pyav_without_the_encoder_is_one_error_up_front(tmp_path, monkeypatch):
    import av

    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libvpx-vp9"})  # a build without libvpx
    with pytest.raises(FerEdgeError, match=r"v.webm: this PyAV \(.*\) has no libvpx-vp9 encoder"):
        VideoOutput(str(tmp_path / "v.webm"), 24.0, realtime=False)
    assert list(tmp_path.iterdir()) == []


PLAYBACK = """
const v = document.getElementById('v');
return {time: v.currentTime, error: v.error && v.error.message, width: v.videoWidth};
"""


@pytest.mark.skipif(BROWSER is None, reason="chromium and chromedriver not installed (apt install chromium "
                                             "chromium-driver)")
def test_headless_chromium_plays_the_mp4_and_the_webm(tmp_path):
    """Served over loopback HTTP as a user would open it; 2 s of video each, muted so autoplay is allowed."""
    for name in ("v.mp4", "v.webm"):
        write_video(tmp_path / name, frames=48)
        (tmp_path / f"{name}.html").write_text(f'<video id="v" src="{name}" muted autoplay></video>')
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    states = {}
    try:
        with headless_chromium(*BROWSER) as browser:
            for name in ("v.mp4", "v.webm"):
                browser.get(f"{base}/{name}.html")
                states[name] = browser.wait_for(PLAYBACK.replace("return {", "const s = {") +
                                                "return s.error || s.time > 0.5 ? s : null;", timeout=20)
    finally:
        server.shutdown()
        server.server_close()
    for name, state in states.items():
        assert state["error"] is None and state["time"] > 0.5 and state["width"] == 160, (name, state)
