"""Cost per frame and size of each way `run --output-video` can write a video (issue 34), on the
frames of a real clip: OpenCV's mp4v and MJPG, libx264 at three presets, libvpx-vp9 realtime.

    .venv/bin/python benchmarks/video_encode.py [../shared/media/video03_emotions_woman.mp4] [--frames 240]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from fractions import Fraction
from itertools import islice

import av
import cv2

from fer_edge.edge.sources import open_source


def with_pyav(frames, codec: str, fmt: str, options: dict) -> tuple[float, int]:
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    container = av.open(buf, "w", format=fmt)
    stream = container.add_stream(codec, rate=Fraction(24000, 1001))
    stream.width, stream.height, stream.pix_fmt, stream.options = w, h, "yuv420p", options
    start = time.perf_counter()
    for frame in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="bgr24")))
    container.mux(stream.encode(None))
    container.close()
    return time.perf_counter() - start, len(buf.getvalue())


def with_opencv(frames, fourcc: str, suffix: str) -> tuple[float, int]:
    h, w = frames[0].shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v" + suffix)
        start = time.perf_counter()
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 23.976, (w, h))
        for frame in frames:
            writer.write(frame)
        writer.release()
        return time.perf_counter() - start, os.path.getsize(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("video", nargs="?", default="../shared/media/video03_emotions_woman.mp4")
    parser.add_argument("--frames", type=int, default=240)
    args = parser.parse_args()
    with open_source(source=args.video) as source:
        frames = [f.image for f in islice(source, args.frames)]
    h, w = frames[0].shape[:2]
    print(f"{len(frames)} frames of {w}x{h} from {args.video}; {os.cpu_count()} CPUs")
    rows = [("opencv mp4v (.mp4 before)", lambda: with_opencv(frames, "mp4v", ".mp4")),
            ("opencv MJPG (.avi)", lambda: with_opencv(frames, "MJPG", ".avi"))]
    for preset in ("ultrafast", "superfast", "veryfast"):
        rows.append((f"libx264 {preset}, 1 thread", lambda p=preset: with_pyav(
            frames, "libx264", "mp4", {"preset": p, "threads": "1"})))
    rows.append(("libvpx-vp9 realtime, 1 thread", lambda: with_pyav(
        frames, "libvpx-vp9", "webm", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "threads": "1"})))
    for name, fn in rows:
        seconds, size = fn()
        print(f"{name:32s} {1000 * seconds / len(frames):6.2f} ms/frame {size / 1e6:6.2f} MB")


if __name__ == "__main__":
    main()
