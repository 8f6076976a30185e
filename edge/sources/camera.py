"""Live and file capture: cv2.VideoCapture (webcam, video file, RTSP/HTTP stream, FIFO) and the
Raspberry Pi camera through picamera2.

Opening a source that cannot deliver raises FerEdgeError before anything is written; a live
source that stops mid-run raises SourceLost, after which the runner still closes its outputs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np

from fer_edge.edge.sources.capture_open import OPEN_TIMEOUT_S, OpenTimeout, needs_timed_open, open_capture
from fer_edge.console import warn
from fer_edge.errors import FerEdgeError
from fer_edge.edge.sources.frame import DEFAULT_PICAM_RESOLUTION, PICAM_HINT, Frame, Source, SourceLost, as_bgr, quiet_opencv


class CaptureSource(Source):
    """cv2.VideoCapture: a webcam (by number or device path), a video file, or an RTSP/HTTP stream."""

    def __init__(self, target: int | str, name: str, live: bool | None, resolution: tuple[int, int] | None = None,
                 max_failures: int = 3):
        """live=None: decide after opening (a URL with a known frame count is a file, not a stream)."""
        self.name, self.max_failures = name, max_failures
        if isinstance(target, str) and needs_timed_open(target):
            try:
                self.cap = open_capture(target, quiet=quiet_opencv)
            except OpenTimeout:
                raise FerEdgeError(f"{name}: no video arrived within {OPEN_TIMEOUT_S:.0f} s of opening "
                                   "(a stream that does not answer, or a pipe nothing writes to)") from None
        else:
            with quiet_opencv():
                self.cap = cv2.VideoCapture(target)
        if not self.cap.isOpened():
            self.cap.release()
            if isinstance(target, int):
                raise FerEdgeError(f"cannot open {name} (no such camera, or another program is using it)")
            kind = "video" if live is False else "stream"
            raise FerEdgeError(f"{name}: cannot open as a {kind} (unreachable, or a format this OpenCV cannot decode)")
        if resolution:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.5 < fps < 1000 else None
        count = int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.live = live if live is not None else count <= 0
        self.frame_count = count if count > 0 and not self.live else None

    def _read(self) -> np.ndarray | None:
        try:
            ok, image = self.cap.read()
        except cv2.error:
            return None
        return image if ok and image is not None and image.size else None

    def frames(self) -> Iterator[Frame]:
        index, failures, start = 0, 0, time.monotonic()
        while True:
            image = self._read()
            if image is None:
                if not self.live:  # end of file
                    break
                failures += 1  # a camera may miss one read; several in a row mean it is gone
                if failures < self.max_failures:
                    continue
                if index == 0:
                    raise FerEdgeError(f"{self.name} opened but delivered no frame")
                raise SourceLost(f"{self.name} stopped delivering frames after {index} frames")
            failures = 0
            if self.live:
                ts = time.monotonic() - start
            else:
                ts = index / self.fps if self.fps else self.cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            yield Frame(as_bgr(image), index, ts)
            index += 1
        if index == 0:
            raise FerEdgeError(f"{self.name}: no frame could be decoded")
        if self.frame_count and index < 0.9 * self.frame_count:
            warn(f"{self.name}: ended after {index} of {self.frame_count} frames (damaged or truncated file?)")

    def close(self) -> None:
        self.cap.release()


class PicamSource(Source):
    """The Raspberry Pi camera through picamera2 (imported only here, only when asked for)."""

    live = True

    def __init__(self, resolution: tuple[int, int] | None = None):
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise FerEdgeError(PICAM_HINT) from None
        except ValueError as exc:  # the OS's picamera2 (simplejpeg) built against another numpy than this venv's
            if "numpy" not in str(exc):
                raise
            raise FerEdgeError(f"picamera2 cannot load with this venv's numpy {np.__version__} ({exc}): it is built "
                               "against the OS's numpy; on Raspberry Pi OS Bookworm make the venv again and install "
                               '`pip install fer-edge "numpy<2"`, which keeps the OS\'s numpy 1.24') from None
        self.name = "the Raspberry Pi camera"
        self.cam = None
        size = tuple(resolution or DEFAULT_PICAM_RESOLUTION)
        try:
            self.cam = Picamera2()
            # RGB888 is picamera2's name for 8-bit B,G,R byte order: OpenCV's BGR, no conversion.
            self.cam.configure(self.cam.create_video_configuration(main={"size": size, "format": "RGB888"}))
            self.cam.start()
        except Exception as exc:  # picamera2/libcamera raise assorted types (IndexError when none is attached)
            self.close()
            raise FerEdgeError(f"cannot open {self.name} ({type(exc).__name__}: {exc}); "
                               "check the cable and `rpicam-hello --list-cameras`") from None

    def frames(self) -> Iterator[Frame]:
        index, start = 0, time.monotonic()
        while True:
            try:
                image = self.cam.capture_array("main")
            except Exception as exc:  # libcamera timeouts and disconnects surface as various types
                if index == 0:
                    raise FerEdgeError(f"{self.name} delivered no frame ({exc})") from None
                raise SourceLost(f"{self.name} stopped delivering frames after {index} frames ({exc})") from None
            yield Frame(as_bgr(np.ascontiguousarray(image)), index, time.monotonic() - start)
            index += 1

    def close(self) -> None:
        if self.cam is not None:
            for step in (self.cam.stop, self.cam.close):
                try:
                    step()
                except Exception:  # already stopped or never started: nothing left to release
                    pass
            self.cam = None
