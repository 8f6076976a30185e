"""Frame sources: the Raspberry Pi camera, an OpenCV webcam, a video file or network stream, one
image, or a folder of images. Each yields Frame(image, index, timestamp) with a BGR uint8 image.

Opening a source that cannot deliver raises FerEdgeError before anything is written; a live
source (camera, stream) that stops mid-run raises SourceLost, after which the runner still
closes its outputs properly.
"""

from __future__ import annotations

import os
import queue
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_edge.edge.capture_open import OPEN_TIMEOUT_S, OpenTimeout, is_fifo, needs_timed_open, open_capture
from fer_edge.edge.console import quiet_native_stderr, warn
from fer_edge.errors import FerEdgeError
from fer_edge.image_header import check_image_budget, image_size

# What one picture may take, checked before it is decoded (a 12000x9000 photo is 108 megapixels).
MAX_IMAGE_BYTES = 256 << 20
MAX_IMAGE_PIXELS = 1 << 27
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm",
                            ".jp2"})
# Names a folder source leaves out with a warning (OpenCV reads more; these are the usual ones).
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".wmv",
                            ".flv", ".3gp", ".mjpeg", ".mjpg", ".h264", ".gif"})
PICAM_NAMES = ("picam", "picamera", "picamera2")
DEFAULT_PICAM_RESOLUTION = (640, 480)
PICAM_HINT = ("--camera picam needs picamera2, which comes from Raspberry Pi OS rather than pip: "
              "`sudo apt install python3-picamera2`, and create the venv with "
              "`python3 -m venv --system-site-packages` so it can see it")


class SourceLost(FerEdgeError):
    """A live source (camera, stream) stopped delivering frames mid-run."""

    exit_code = 3


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8 (H, W, 3)
    index: int  # position in the source (a gap means frames were dropped or skipped)
    timestamp: float | None  # seconds: video time for files, time since start for live sources, None for images
    name: str | None = None  # file name, for image sources


def as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


@contextmanager
def quiet_opencv():
    """Silence OpenCV's multi-line backend warnings, and what FFmpeg prints straight to fd 2
    ("moov atom not found", "[tcp @ ...] Connection refused"), while opening or probing: a failure
    gets our own one-line error."""
    try:  # OpenCV 5 keeps its log level in cv2.utils.logging; OpenCV 4 (which Bookworm's numpy 1.x gets) in cv2
        from cv2.utils import logging as cv_log
    except ImportError:
        cv_log = cv2
    level = cv_log.getLogLevel()
    cv_log.setLogLevel(0)  # LOG_LEVEL_SILENT in both
    try:
        with quiet_native_stderr():
            yield
    finally:
        cv_log.setLogLevel(level)


class Source:
    """Base: attributes every source sets, iteration over frames, close()."""

    name = "source"
    fps: float | None = None  # nominal frame rate, for an output video
    frame_count: int | None = None  # known length (progress bar); None when live or unknown
    live = False  # a camera or stream: a failed read is a drop, not the end
    sequence = True  # consecutive frames show the same scene, so tracking and smoothing apply

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def close(self) -> None:
        pass

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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


def read_image(path: Path) -> np.ndarray | None:
    """BGR uint8 image (EXIF orientation applied), or None when the file is not a readable image.
    A FerEdgeError when its header claims more than MAX_IMAGE_PIXELS (checked before decoding)."""
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise FerEdgeError(f"{path}: {path.stat().st_size / 1e6:.0f} MB, larger than the "
                               f"{MAX_IMAGE_BYTES >> 20} MiB an image may take")
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if image_size(data) is None:  # not a format whose size can be read first, so not decoded
        return None
    check_image_budget(data, str(path), MAX_IMAGE_PIXELS)
    with quiet_opencv():  # libpng's or libjpeg's own complaint about a damaged file: the caller says it
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image


class ImageSource(Source):
    """One image, or the images of a folder (sorted by name). Unrelated stills: no tracking."""

    live = False
    sequence = False
    fps = 1.0  # one second per image in an output video

    def __init__(self, paths: list[Path], name: str):
        self.paths, self.name = paths, name
        self.frame_count = len(paths)
        self.skipped = 0
        self.warn_skipped = True  # off when the same folder is read again (bench loops it)
        if len(paths) == 1 and read_image(paths[0]) is None:
            raise FerEdgeError(f"{paths[0]}: not a readable image")

    def frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            try:
                image = read_image(path)
                problem = "not a readable image"
            except FerEdgeError as exc:  # too large to decode
                if len(self.paths) == 1:
                    raise
                image, problem = None, str(exc).removeprefix(f"{path}: ")
            if image is None:
                if len(self.paths) == 1:
                    raise FerEdgeError(f"{path}: not a readable image")
                if self.warn_skipped:
                    warn(f"{path}: {problem}, skipped")
                self.skipped += 1
                continue
            # A name that is not valid UTF-8 (bytes from another system) is carried with those bytes
            # as \xNN: JSONL and CSV then stay valid UTF-8 text.
            yield Frame(image, i, None, os.fsencode(path.name).decode("utf-8", "backslashreplace"))
        if self.skipped == len(self.paths):
            raise FerEdgeError(f"{self.name}: none of its {len(self.paths)} images is readable")


class ThreadedReader(Source):
    """Base of the readers that pull frames from `inner` on their own thread: they share the
    source's description, the stop flag, the error handed to the consumer, and how they close."""

    def __init__(self, inner: Source, thread_name: str):
        self.inner = inner
        self.name, self.fps, self.live, self.sequence = inner.name, inner.fps, inner.live, inner.sequence
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3.0)
        # Releasing a capture while the thread is still blocked in a read can crash the backend;
        # a thread stuck that long is a dead device, left to die with the (daemon) thread.
        if not self._thread.is_alive():
            self.inner.close()


class LatestFrameReader(ThreadedReader):
    """Reads a live source on its own thread and hands out only the newest frame.

    A camera or stream buffers frames while the pipeline is busy; reading them in order would
    show ever older pictures. Frames that arrive while one is being processed are dropped
    (counted in `dropped`). Errors from the source are raised in the consumer.
    """

    def __init__(self, inner: Source):
        super().__init__(inner, "fer-edge-capture")
        self.frame_count = None
        self.dropped = 0
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._done = False

    def _run(self) -> None:
        try:
            for frame in self.inner:
                with self._cond:
                    if self._frame is not None:
                        self.dropped += 1
                    self._frame = frame
                    self._cond.notify()
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer thread, which raises it
            self._error = exc
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def frames(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            with self._cond:
                while self._frame is None and not self._done:
                    self._cond.wait(0.5)
                frame, self._frame = self._frame, None
                if frame is None:
                    if self._error is not None:
                        raise self._error
                    return
            yield frame


_END = object()


class PrefetchReader(ThreadedReader):
    """Reads a file source on its own thread, a few frames ahead, dropping none.

    Overlaps decoding with inference the way a capture thread overlaps camera I/O, but keeps
    every frame of a file (LatestFrameReader, for live sources, drops the ones it cannot use).
    """

    def __init__(self, inner: Source, depth: int = 2):
        super().__init__(inner, "fer-edge-prefetch")
        self.frame_count = inner.frame_count
        self._queue: queue.Queue = queue.Queue(maxsize=depth)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for frame in self.inner:
                if not self._put(frame):
                    return
        except BaseException as exc:  # raised again in the consumer
            self._error = exc
        self._put(_END)

    def frames(self) -> Iterator[Frame]:
        self._thread.start()
        while True:
            item = self._queue.get()
            if item is _END:
                if self._error is not None:
                    raise self._error
                return
            yield item


def with_capture_thread(source: Source, capture_thread: bool | None = None) -> Source:
    """The source as `run` reads it: on its own thread when asked (`capture_thread`), or by default
    for cameras and streams (live), not for files."""
    threaded = capture_thread if capture_thread is not None else source.live
    return capture_reader(source) if threaded else source


def capture_reader(source: Source) -> ThreadedReader:
    """The source read on its own thread: a camera or stream hands out only its newest frame (a
    busy pipeline must not fall behind real time); a file or folder is decoded ahead, every frame kept."""
    return LatestFrameReader(source) if source.live else PrefetchReader(source)


def _count_videos(names: list[str]) -> str:
    return "1 video" if len(names) == 1 else f"{len(names)} videos"


def parse_wxh(text: str | None, option: str = "--resolution", low: int = 1, high: int = 1 << 16) -> tuple[int, int] | None:
    """WIDTHxHEIGHT (e.g. 640x480) given to `option`; None when not given."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise FerEdgeError(f"{option} takes WIDTHxHEIGHT, e.g. 640x480, got {text!r}") from None
    if not (low <= w <= high and low <= h <= high):
        if low == 1:
            raise FerEdgeError(f"{option} must be positive, got {text!r}")
        raise FerEdgeError(f"{option} must lie between {low}x{low} and {high}x{high}, got {text!r}")
    return w, h


def parse_resolution(text: str | None) -> tuple[int, int] | None:
    return parse_wxh(text, "--resolution")


def open_source(camera: str | None = None, source: str | None = None,
                resolution: tuple[int, int] | None = None) -> Source:
    """The source named by `--camera picam|N` or `--source PATH|URL` (exactly one of them)."""
    if (camera is None) == (source is None):
        raise FerEdgeError("give exactly one of --camera (picam or a number) and --source (file, folder or URL)")
    if camera is not None:
        cam = camera.strip().lower()
        if cam in PICAM_NAMES:
            return PicamSource(resolution)
        if cam.isdigit():
            return CaptureSource(int(cam), f"camera {cam}", live=True, resolution=resolution)
        raise FerEdgeError(f"--camera takes `picam` or a camera number (0, 1, ...), got {camera!r}")
    path = Path(source)
    if "://" in source and not path.exists():  # RTSP/HTTP: a live stream, or a video file on a server
        return CaptureSource(source, source, live=None, resolution=resolution)
    if not path.exists():
        raise FerEdgeError(f"{source}: no such file or folder")
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
        images = sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES)
        videos = sorted(p.name for p in files if p.suffix.lower() in VIDEO_SUFFIXES)
        if not images:
            also = f"; its {_count_videos(videos)} must be given one at a time as --source" if videos else ""
            raise FerEdgeError(f"{source}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}){also}")
        if videos:  # a folder source is a set of stills: say what it leaves out
            warn(f"{source}: {_count_videos(videos)} skipped ({', '.join(videos[:3])}{', ...' if len(videos) > 3 else ''}); "
                 "a folder is read for its images, give a video as --source")
        return ImageSource(images, source)
    if stat.S_ISCHR(path.stat().st_mode):  # /dev/video0: a camera by its device path
        return CaptureSource(source, source, live=True, resolution=resolution)
    if is_fifo(source):  # a named pipe: a video stream written by another program, as long as it runs
        return CaptureSource(source, source, live=True, resolution=resolution)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource([path], source)
    return CaptureSource(source, source, live=False)
