"""JSON lines and CSV: one record per face per frame, both from FrameResult.to_records (edge/results.py).

Each file is written under a temporary name beside its target and renamed into place when the
run ends (normally, on Ctrl+C, or when a camera drops out), so a target path never holds a
half-written file. `--jsonl -` streams to stdout instead, and a named pipe or device is written in
place; both are flushed after every frame."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import replace


from fer_edge.edge.results import DIGITS, FrameResult, columns, csv_row
from fer_edge.edge.sources import Frame
from fer_edge.atomic import AtomicTarget, require_output_folder


STDOUT = "-"
def placed(frame: Frame, result: FrameResult) -> FrameResult:
    """The result with the frame's place (index, time, name), whoever made it."""
    if result.index == frame.index and result.time == frame.time and result.name == frame.name:
        return result
    return replace(result, index=frame.index, time=frame.time, name=frame.name)


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
        for rec in placed(frame, result).to_records(DIGITS):
            self.fh.write(json.dumps(rec) + "\n")
        self.end_frame()


class CsvOutput(_TextOutput):
    """One row per face per frame; one column per label's score."""

    def __init__(self, target: str, labels: list[str]):
        super().__init__(target, "--csv")
        self.labels = labels
        self.writer = csv.writer(self.fh)
        self.writer.writerow(columns(labels))  # the columns fer_edge.read_results reads

    def write(self, frame: Frame, result: FrameResult) -> None:
        for rec in placed(frame, result).to_records(DIGITS):
            self.writer.writerow(csv_row(rec, self.labels))
        self.end_frame()
