"""Result files: JSON lines, CSV and the annotated video (or picture, for a single image).

Each file is written under a temporary name beside its target and renamed into place when the
run ends (normally, on Ctrl+C, or when a camera drops out), so a target path never holds a
half-written file; a run that fails for another reason leaves no output at all. `--jsonl -`
streams to stdout instead, and a named pipe or device is written in place; both are flushed after
every frame.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from fer_edge.analysis import PLACE_COLUMNS, VERDICT_COLUMNS
from fer_edge.edge.pipeline import FrameResult, face_records
from fer_edge.edge.sources import IMAGE_SUFFIXES, Frame, quiet_opencv
from fer_edge.atomic import AtomicTarget, require_output_folder
from fer_edge.errors import FerEdgeError

STDOUT = "-"
DIGITS = 4  # decimals of scores and times in JSONL and CSV
# Container -> codec that OpenCV's bundled FFmpeg can write everywhere (its H.264 needs a device
# or a licensed encoder that pip wheels lack).
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}


class _TextOutput:
    """A text file or stdout, written under a temporary name until close(commit=True)."""

    def __init__(self, target: str, option: str):
        self.stdout = target == STDOUT
        if self.stdout:
            self.target, self.fh = None, sys.stdout
        else:
            self.target = AtomicTarget(require_output_folder(target, option))
            self.fh = open(self.target.tmp, "w", newline="", encoding="utf-8")
        # stdout, a named pipe or a device: a reader at the other end sees each frame as it happens
        self.live = self.stdout or self.target.in_place
        self.name = "stdout" if self.stdout else str(target)

    def end_frame(self) -> None:
        if self.live:
            self.fh.flush()

    def close(self, commit: bool) -> None:
        if self.stdout:
            try:
                self.fh.flush()
            except (BrokenPipeError, ValueError):  # the reader went away (`| head`); nothing to save
                pass
            return
        try:
            self.fh.close()  # the last buffered lines go out here: a full disk fails here
        except BrokenPipeError:  # a named pipe's reader went away
            pass
        except OSError:
            self.target.discard()
            raise
        if commit:
            self.target.commit()
        else:
            self.target.discard()


class JsonlOutput(_TextOutput):
    """One JSON object per face per frame."""

    def __init__(self, target: str):
        super().__init__(target, "--jsonl")

    def write(self, frame: Frame, result: FrameResult) -> None:
        for rec in face_records(result.faces, frame.index, frame.timestamp, frame.name, DIGITS):
            self.fh.write(json.dumps(rec) + "\n")
        self.end_frame()


class CsvOutput(_TextOutput):
    """One row per face per frame; one column per label's score."""

    def __init__(self, target: str, labels: list[str]):
        super().__init__(target, "--csv")
        self.labels = labels
        self.writer = csv.writer(self.fh)
        self.writer.writerow([*PLACE_COLUMNS, *VERDICT_COLUMNS, *labels])  # the columns fer_edge.read_results reads

    def write(self, frame: Frame, result: FrameResult) -> None:
        for face in result.faces:
            t = "" if frame.timestamp is None else f"{frame.timestamp:.{DIGITS}f}"
            self.writer.writerow([frame.index, t, frame.name or "", face.track_id, *face.box, face.label,
                                  f"{face.score:.{DIGITS}f}", f"{face.detection:.{DIGITS}f}",
                                  *(f"{p:.{DIGITS}f}" for p in face.probs)])
        self.end_frame()


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled to fit (width, height), centred on black."""
    w, h = size
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, int(round(iw * s))), max(1, int(round(ih * s)))
    out = np.zeros((h, w, 3), np.uint8)
    x0, y0 = (w - nw) // 2, (h - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


class VideoOutput:
    """The annotated frames as a video.

    Files: one output frame per input frame at the input's frame rate, so both have the same
    length. Live sources: frames are repeated to follow their timestamps, so the video plays in
    real time even when the pipeline is slower than the camera. Frames whose size differs from the
    first one (a folder of images) are letterboxed to it.
    """

    def __init__(self, target: str, fps: float, realtime: bool):
        path = require_output_folder(target, "--output-video")
        self.fourcc = VIDEO_CODECS.get(path.suffix.lower())
        if self.fourcc is None:
            raise FerEdgeError(f"--output-video {target}: use one of {', '.join(VIDEO_CODECS)} "
                               "(or a picture name, .jpg or .png, for a single image)")
        self.name, self.fps, self.realtime = str(target), float(fps), realtime
        self.target = AtomicTarget(path)
        self.writer: cv2.VideoWriter | None = None
        self.size: tuple[int, int] | None = None
        self.written = 0
        self._t0: float | None = None
        self._last: np.ndarray | None = None

    def _open(self, size: tuple[int, int]) -> None:
        self.size = size
        if self.fourcc == "MJPG" and size[0] < 8:  # its 8-pixel blocks: narrower frames corrupt the heap
            raise FerEdgeError(f"--output-video {self.name}: OpenCV's MJPG encoder cannot write frames narrower "
                               f"than 8 pixels ({size[0]}x{size[1]}); use .mp4")
        self.writer = self._writer(size)
        if not self.writer.isOpened():
            self.writer.release()
            self.writer = None
            # The place may be fine and the frame size not (mp4v takes sides of 2 to 8191 pixels):
            # a small frame that opens says which.
            probe = self._writer((64, 64))
            size_is_why = probe.isOpened()
            probe.release()
            if size_is_why:
                hint = ""
                if self.fourcc == "mp4v":  # FFmpeg's MPEG-4 part 2 encoder
                    hint = " (it takes 2 to 8191 pixels a side" + ("; .avi, Motion JPEG, takes larger)" if max(size) > 8191 else ")")
                raise FerEdgeError(f"--output-video {self.name}: OpenCV's {self.fourcc} encoder cannot write "
                                   f"{size[0]}x{size[1]} frames{hint}")
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
            self.writer.release()
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


class Outputs:
    """All the result files of a run: written together, closed together."""

    def __init__(self, labels: list[str], jsonl: str | None = None, csv_path: str | None = None,
                 video: str | None = None, video_fps: float = 30.0, video_realtime: bool = False,
                 single_image: bool = False):
        targets = [t for t in (jsonl, csv_path, video) if t and t != STDOUT]
        if len({str(Path(t).resolve()) for t in targets}) != len(targets):
            raise FerEdgeError("--jsonl, --csv and --output-video must name different files")
        if jsonl == STDOUT and csv_path == STDOUT:
            raise FerEdgeError("only one of --jsonl and --csv can write to stdout (-)")
        self.files: list = []
        self.failed: list[str] = []  # outputs that could not be finished at close (not kept)
        self._write_failed: set[str] = set()  # already reported by the error that ended the run
        try:
            if jsonl:
                self.files.append(JsonlOutput(jsonl))
            if csv_path:
                self.files.append(CsvOutput(csv_path, labels))
            self.video = open_video_output(video, video_fps, video_realtime, single_image) if video else None
        except BaseException:
            self.close(commit=False)
            raise

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.files] + ([self.video.name] if self.video else [])

    def write(self, frame: Frame, result: FrameResult, annotated: np.ndarray | None) -> None:
        for f in self.files:
            try:
                f.write(frame, result)
            except BrokenPipeError:
                raise  # the reader of stdout left: the runner ends the run quietly
            except OSError as exc:  # e.g. the disk is full
                self._write_failed.add(f.name)
                raise FerEdgeError(f"cannot write {f.name}: {exc.strerror or exc}") from None
        if self.video is not None and annotated is not None:
            self.video.write(annotated, frame.timestamp)

    def close(self, commit: bool) -> None:
        """Close every file (all of them, even when one fails); commit renames them into place.
        A file that cannot be finished is not kept (its name goes to `failed`), the others are."""
        errors = []
        for f in [*self.files, *([self.video] if getattr(self, "video", None) else [])]:
            try:
                f.close(commit)
            except OSError as exc:
                self.failed.append(f.name)
                if f.name not in self._write_failed:  # a write already said so: one error line, not two
                    errors.append(f"{f.name}: {exc.strerror or exc}")
            except FerEdgeError as exc:
                self.failed.append(f.name)
                errors.append(str(exc))
        self.files, self.video = [], None
        if errors:
            raise FerEdgeError("could not finish writing " + "; ".join(errors))
