"""The annotated video (or a picture, for a single image), written under a temporary name until the run ends."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_edge.edge.outputs.encode import ENCODED, AvWriter, count_frames, encoder_for
from fer_edge.edge.sources import IMAGE_SUFFIXES, letterbox, quiet_opencv
from fer_edge.atomic import AtomicTarget, require_output_folder
from fer_edge.errors import FerEdgeError


# Container -> codec: H.264 (VP9 for WebM) through PyAV (encode.py); Motion JPEG through OpenCV for
# .avi, the one that needs no PyAV and takes frames of any size.
VIDEO_CODECS = {**{suffix: spec[1] for suffix, spec in ENCODED.items()}, ".avi": "MJPG"}


class VideoOutput:
    """The annotated frames as a video.

    Files: one output frame per input frame at the input's frame rate, so both have the same
    length. Live sources: frames are repeated to follow their timestamps, so the video plays in
    real time even when the pipeline is slower than the camera. Frames whose size differs from the
    first one (a folder of images) are letterboxed to it.
    """

    def __init__(self, target: str, fps: float, realtime: bool):
        path = require_output_folder(target, "--output-video")
        self.suffix = path.suffix.lower()
        self.fourcc = VIDEO_CODECS.get(self.suffix)
        if self.fourcc is None:
            raise FerEdgeError(f"--output-video {target}: use one of {', '.join(VIDEO_CODECS)} "
                               "(or a picture name, .jpg or .png, for a single image)")
        if self.suffix in ENCODED:
            encoder_for(self.suffix, target)
        self.name, self.fps, self.realtime = str(target), float(fps), realtime
        self.target = AtomicTarget(path)
        self.writer: cv2.VideoWriter | AvWriter | None = None
        self.size: tuple[int, int] | None = None
        self.written = 0
        self._t0: float | None = None
        self._last: np.ndarray | None = None

    def _open(self, size: tuple[int, int]) -> None:
        self.size = size
        if self.suffix in ENCODED:
            try:
                self.writer = AvWriter(self.target.tmp, self.suffix, self.fps, size, self.target.in_place)
            except FerEdgeError as exc:
                raise FerEdgeError(f"--output-video {self.name}: {exc}") from None
            return
        if self.fourcc == "MJPG" and size[0] < 8:  # its 8-pixel blocks: narrower frames corrupt the heap
            raise FerEdgeError(f"--output-video {self.name}: OpenCV's MJPG encoder cannot write frames narrower "
                               f"than 8 pixels ({size[0]}x{size[1]}); use .mp4")
        self.writer = self._writer(size)
        if not self.writer.isOpened():
            self.writer.release()
            self.writer = None
            # The place may be fine and the frame size not: a small frame that opens says which.
            probe = self._writer((64, 64))
            size_is_why = probe.isOpened()
            probe.release()
            if size_is_why:
                raise FerEdgeError(f"--output-video {self.name}: OpenCV's {self.fourcc} encoder cannot write "
                                   f"{size[0]}x{size[1]} frames")
            raise FerEdgeError(f"--output-video {self.name}: OpenCV cannot write {self.fourcc} video here")

    def _writer(self, size: tuple[int, int]) -> cv2.VideoWriter:
        with quiet_opencv():  # FFmpeg's own lines about a refused size: the error says it
            return cv2.VideoWriter(str(self.target.tmp), cv2.VideoWriter_fourcc(*self.fourcc), self.fps, size)

    def write(self, image: np.ndarray, timestamp: float | None) -> None:
        if self.writer is None:
            self._open((image.shape[1], image.shape[0]))
        if (image.shape[1], image.shape[0]) != self.size:
            image = letterbox(image, self.size)
        if self.realtime and timestamp is not None:
            if self._t0 is None:
                self._t0 = timestamp
            due = int(round((timestamp - self._t0) * self.fps))  # frames that should precede this one
            while self._last is not None and self.written < due:
                self.writer.write(self._last)  # hold the previous picture until this one arrived
                self.written += 1
        self.writer.write(image)
        self.written += 1
        self._last = image

    def close(self, commit: bool) -> None:
        if self.writer is not None:
            try:
                self.writer.release()
            except BaseException:
                self.target.discard()
                raise
        if not (commit and self.written):
            self.target.discard()
            return
        try:
            self._check_playable()
        except BaseException:
            self.target.discard()
            raise
        self.target.commit()

    def _check_playable(self) -> None:
        """OpenCV's writer reports no failed write (a full disk leaves a file without its index and
        only a warning): the finished file must open and hold every frame written."""
        if self.target.in_place:
            return  # a pipe or device cannot be read back
        if self.suffix in ENCODED:
            frames = count_frames(self.target.tmp)
        else:
            with quiet_opencv():  # FFmpeg's own complaint ("moov atom not found"): the error says it
                cap = cv2.VideoCapture(str(self.target.tmp), cv2.CAP_FFMPEG)
                frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
                cap.release()
        # Fewer is the failure; one more is a frame written just before a signal stopped the count.
        if frames < self.written:
            raise FerEdgeError(f"--output-video {self.name}: {frames} of {self.written} frames were written "
                               "(disk full?); no video kept")


class PictureOutput:
    """The annotated frame of a single-image source, as a picture in the format its name says."""

    def __init__(self, target: str):
        path = require_output_folder(target, "--output-video")
        with quiet_opencv():  # its own [ERROR] lines: our one line says it
            try:  # OpenCV refuses some formats for a colour picture (.pgm, .pbm): say so before the run
                encodable = cv2.imencode(path.suffix, np.zeros((64, 64, 3), np.uint8))[0]  # .jp2 needs >= ~32 px
            except cv2.error:
                encodable = False
        if not encodable:
            raise FerEdgeError(f"--output-video {target}: OpenCV cannot write a colour {path.suffix} picture; "
                               "use .jpg or .png")
        self.target = AtomicTarget(path)
        self.name = str(target)
        self.image: np.ndarray | None = None

    def write(self, image: np.ndarray, timestamp: float | None) -> None:
        if self.image is not None:
            raise FerEdgeError(f"--output-video {self.name}: a picture holds one frame; name a video (.mp4)")
        self.image = image

    def close(self, commit: bool) -> None:
        if not (commit and self.image is not None):
            self.target.discard()
            return
        try:
            ok, data = cv2.imencode(self.target.path.suffix, self.image)
            if not ok:
                raise FerEdgeError(f"--output-video {self.name}: OpenCV could not encode the picture")
            self.target.tmp.write_bytes(data.tobytes())
        except BaseException:
            self.target.discard()
            raise
        self.target.commit()


def open_video_output(target: str, fps: float, realtime: bool, single_image: bool):
    """A VideoOutput, or a PictureOutput when a single image goes to an image file name."""
    if Path(target).suffix.lower() in IMAGE_SUFFIXES:
        if not single_image:
            raise FerEdgeError(f"--output-video {target}: a picture holds one frame; use one of "
                               f"{', '.join(VIDEO_CODECS)} for this source")
        return PictureOutput(target)
    return VideoOutput(target, fps, realtime)
