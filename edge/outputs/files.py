"""Outputs: every result file of a run, written together and closed together; a run that fails
for a reason other than Ctrl+C, a signal or a dropped camera leaves no output at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_edge.edge.results import FrameResult
from fer_edge.edge.sources import Frame
from fer_edge.errors import FerEdgeError
from fer_edge.interrupts import interrupts_deferred
from fer_edge.edge.outputs.text import STDOUT, CsvOutput, JsonlOutput
from fer_edge.edge.outputs.video import open_video_output


class Outputs:
    """All the outputs of a run: the result files, written together and closed together, and live
    outputs (the browser view) told of every frame on the frame loop's thread, where they only
    hand over references (`publish(frame, annotated, result, fps)`)."""

    def __init__(self, labels: list[str], jsonl: str | None = None, csv_path: str | None = None,
                 video: str | None = None, video_fps: float = 30.0, video_realtime: bool = False,
                 single_image: bool = False):
        targets = [t for t in (jsonl, csv_path, video) if t and t != STDOUT]
        if len({str(Path(t).resolve()) for t in targets}) != len(targets):
            raise FerEdgeError("--jsonl, --csv and --output-video must name different files")
        if jsonl == STDOUT and csv_path == STDOUT:
            raise FerEdgeError("only one of --jsonl and --csv can write to stdout (-)")
        self.files: list = []
        self.live: list = []
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

    def add_live(self, output) -> None:
        """A live output: its `publish` sees every frame after the files have it; the caller closes it."""
        self.live.append(output)

    def write(self, frame: Frame, result: FrameResult, annotated: np.ndarray | None, fps: float | None = None) -> None:
        # A frame goes into every file or into none: Ctrl-C or SIGTERM between (or inside) two
        # files' writes would leave the JSONL a row ahead of the CSV; here it waits for the frame.
        with interrupts_deferred():
            for f in self.files:
                try:
                    f.write(frame, result)
                except BrokenPipeError:
                    raise  # the reader of stdout left: the runner ends the run quietly
                except OSError as exc:  # e.g. the disk is full
                    self._write_failed.add(f.name)
                    raise FerEdgeError(f"cannot write {f.name}: {exc.strerror or exc}") from None
        if self.video is not None and annotated is not None:
            try:
                self.video.write(annotated, frame.time)
            except OSError as exc:  # PyAV's muxer: the disk is full or the file too large
                self._write_failed.add(self.video.name)
                raise FerEdgeError(f"cannot write {self.video.name}: {exc.strerror or exc}") from None
        for live in self.live:
            live.publish(frame, annotated, result, fps)

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
