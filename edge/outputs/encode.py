"""H.264 (MP4, MOV, Matroska) and VP9 (WebM) through PyAV's FFmpeg: video a browser, a phone or
any player plays. OpenCV's pip wheels carry no H.264 encoder; their `mp4v` (MPEG-4 Part 2) was
refused by Chromium and came out 2.6x the size of the H.264 clip it was made from (issue 34).

Cost per 640x360 frame, `python benchmarks/video_encode.py` on the 2-core x86_64 build host, two runs
(the machine is shared): OpenCV's mp4v 1.9-2.1 ms; libx264 ultrafast 2.5-3.2 ms at 1.9 MB per 240
frames, superfast 3.6-5.3 ms at 0.84 MB, veryfast 6.5-8.0 ms at 0.47 MB; libvpx-vp9 realtime 7.1 ms
at 0.70 MB. `superfast` on one thread: about the size of the source clip for 2-3 ms more than mp4v,
and no encoder threads competing with the model's.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from fer_edge.errors import FerEdgeError

# suffix -> (FFmpeg muxer, encoder, its options)
H264 = ("libx264", {"preset": "superfast", "threads": "1"})
VP9 = ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "threads": "1"})
ENCODED = {".mp4": ("mp4", *H264), ".m4v": ("mp4", *H264), ".mov": ("mov", *H264),
           ".mkv": ("matroska", *H264), ".webm": ("webm", *VP9)}
# H.264's largest level (6.2) stops at 8192x4320; larger frames go to Motion JPEG (.avi).
MAX_SIDE = {"libx264": 8192, "libvpx-vp9": 16384}


def encoder_for(suffix: str, target: str) -> None:
    """An error line now, before the run, when PyAV or the encoder the name asks for is missing."""
    _fmt, codec, _opts = ENCODED[suffix]
    try:
        import av
    except ImportError:
        raise FerEdgeError(f"--output-video {target}: writing {suffix} needs PyAV (`pip install av`); "
                           ".avi (Motion JPEG, OpenCV) works without it") from None
    if codec not in av.codecs_available:
        raise FerEdgeError(f"--output-video {target}: this PyAV ({av.__version__}) has no {codec} encoder; "
                           "install PyAV's own wheel (`pip install --force-reinstall av`) or use .avi")


class AvWriter:
    """cv2.VideoWriter's interface (write a BGR frame, release) over a PyAV container: yuv420p,
    the index (moov) at the front of an MP4 so a browser plays it while it downloads."""

    def __init__(self, path: Path, suffix: str, fps: float, size: tuple[int, int], streaming: bool):
        import av

        fmt, codec, opts = ENCODED[suffix]
        width, height = size
        if max(size) > MAX_SIDE[codec]:
            raise FerEdgeError(f"{codec} encoder cannot write {width}x{height} frames (it takes up to {MAX_SIDE[codec]} "
                               "pixels a side; .avi, Motion JPEG, takes larger)")
        # yuv420p halves colour in both directions: odd sides get one black row or column.
        self.padded = (width + width % 2, height + height % 2)
        options = {}
        if fmt in ("mp4", "mov"):
            # a pipe cannot be rewound to put the index first: fragments carry it instead
            options["movflags"] = "+frag_keyframe+empty_moov" if streaming else "+faststart"
        self.container = av.open(str(path), "w", format=fmt, options=options)
        # 29.97 is 30000/1001: the denominator a camera or a file's rate really has
        self.stream = self.container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        self.stream.width, self.stream.height = self.padded
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = dict(opts)
        self.pts = 0

    def isOpened(self) -> bool:
        return True

    def write(self, image: np.ndarray) -> None:
        import av

        h, w = image.shape[:2]
        if (w, h) != self.padded:
            image = cv2.copyMakeBorder(image, 0, self.padded[1] - h, 0, self.padded[0] - w, cv2.BORDER_CONSTANT)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        frame.pts = self.pts
        self.pts += 1
        self.container.mux(self.stream.encode(frame))

    def release(self) -> None:
        if self.container is None:
            return
        try:
            self.container.mux(self.stream.encode(None))  # the frames the encoder still holds
        finally:
            container, self.container = self.container, None
            container.close()


def count_frames(path: Path) -> int:
    """Video frames in a finished file, from its packets (no decoding); 0 when it does not open."""
    import av

    try:
        with av.open(str(path)) as container:
            return sum(1 for p in container.demux(video=0) if p.size)
    except (av.FFmpegError, OSError):
        return 0
