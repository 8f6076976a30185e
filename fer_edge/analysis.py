"""Results as pandas DataFrames: from the API (`analyze`, `to_dataframe`) and from the files
`fer-edge run` writes (`read_results`), one row per face per frame, in the columns of `--csv`.

pandas and matplotlib come with the `analysis` extra (`pip install ".[analysis]"` in a checkout), not with
the device install: about 80 MB and a second or two of import on a Raspberry Pi 4 that the
real-time path does not need. They are imported when a function here is called.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fer_edge.edge.results import PLACE_COLUMNS, VERDICT_COLUMNS, Face, FrameResult, flat_row
from fer_edge.edge.results import columns as result_columns
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS

if TYPE_CHECKING:
    import pandas

def analysis_hint() -> str:
    """What to type for pandas and matplotlib, for how this fer-edge was installed (install_hint)."""
    from fer_edge.install_hint import extra_hint

    return extra_hint("analysis")


def import_pandas():
    try:
        import pandas
    except ImportError:
        raise FerEdgeError(f"this needs pandas: {analysis_hint()}") from None
    return pandas


def _frame_records(items: Iterable) -> tuple[list[dict], list[str]]:
    """Records and the label order from FrameFaces, Faces or record dicts."""
    records, labels = [], None
    for item in items:
        if isinstance(item, FrameResult):
            records.extend(item.to_records())
            faces = item.faces
        elif isinstance(item, Face):
            records.append(item.to_dict())
            faces = [item]
        elif isinstance(item, dict):
            records.append(item)
            faces = []
        else:
            raise ValueError(f"cannot make a row of {type(item).__name__}: give FrameFaces, Face or dict records")
        if labels is None:
            labels = next((list(f.labels) for f in faces if f.labels), None) or (
                list(item["scores"]) if isinstance(item, dict) and item.get("scores") else None)
    return records, labels or list(EMOTIONS)


def frame_dataframe(rows: list[dict], labels: list[str]) -> "pandas.DataFrame":
    """The rows in the CSV's column order; `image` only where some row names one, `time` as floats."""
    pd = import_pandas()
    columns = result_columns(labels)
    df = pd.DataFrame(rows, columns=columns)
    if df["image"].isna().all():
        df = df.drop(columns="image")
    df["time"] = pd.to_numeric(df["time"], errors="coerce")
    for column in ("x", "y", "w", "h", "track"):
        df[column] = df[column].astype("int64")
    if df["frame"].notna().all():
        df["frame"] = df["frame"].astype("int64")
    return df


def to_dataframe(items: Iterable) -> "pandas.DataFrame":
    """One row per face: from `stream()`'s FrameFaces (with frame and time), `recognize()`'s Faces,
    or `--jsonl` records. Columns as `fer-edge run --csv` writes them."""
    records, labels = _frame_records(items)
    return frame_dataframe([flat_row(r, labels) for r in records], labels)


def analyze(video: str | os.PathLike, *, progress: bool | None = None, max_frames: int | None = None,
            **options: Any) -> "pandas.DataFrame":
    """Every face in every frame of a video (or a folder of images): one row per face per frame,
    with frame, time, track, box, label and every label's score. `options` are Recognizer's (model,
    threads, min_confidence, smooth, tta, detector). A progress bar shows on a terminal
    (progress=None), always (True) or never (False)."""
    from tqdm import tqdm

    from fer_edge.edge.stream import open_frames, stream

    import_pandas()  # before the work, not after it
    path = Path(video)
    if not path.exists():
        raise FerEdgeError(f"{video}: no such file or folder")
    with open_frames(path) as probe:  # its length, for the bar (a bad file fails here, before any model loads)
        total = probe.frame_count
    if total is not None and max_frames is not None:
        total = min(total, max_frames)
    rows, labels = [], None
    bar = tqdm(total=total, unit="frame", file=sys.stderr, leave=False, dynamic_ncols=True,
               disable=None if progress is None else not progress)
    try:
        for item in stream(path, max_frames=max_frames, **options):
            for face in item.faces:
                labels = labels or list(face.labels)
            rows.extend(item.to_records())
            bar.update(1)
    finally:
        bar.close()
    labels = labels or list(EMOTIONS)
    return frame_dataframe([flat_row(r, labels) for r in rows], labels)


def _float_or_none(text: str) -> float | None:
    return float(text) if text not in ("", None) else None


UNREADABLE = (FileNotFoundError, IsADirectoryError, UnicodeDecodeError)  # a text file that is not there


def unreadable(path: Path, exc: Exception, kind: str) -> FerEdgeError:
    """The one error line for a results or events file (`kind`) that cannot be read as text (UNREADABLE)."""
    if isinstance(exc, FileNotFoundError):
        return FerEdgeError(f"{path}: no such file")
    if isinstance(exc, IsADirectoryError):
        return FerEdgeError(f"{path}: a folder, not {kind}")
    return FerEdgeError(f"{path}: not a text file")


def read_results(path: str | os.PathLike) -> "pandas.DataFrame":
    """A `fer-edge run --jsonl` or `--csv` file as a DataFrame (the CSV's columns either way)."""
    p = Path(path)
    try:
        with open(p, encoding="utf-8", newline="") as fh:
            head = fh.read(1)
            fh.seek(0)
            if head == "{":
                records = [json.loads(line) for line in fh if line.strip()]
                labels = list(records[0]["scores"]) if records else list(EMOTIONS)
                return frame_dataframe([flat_row(r, labels) for r in records], labels)
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            labels = [f for f in fields if f not in PLACE_COLUMNS and f not in VERDICT_COLUMNS]
            missing = [c for c in (*PLACE_COLUMNS, *VERDICT_COLUMNS) if c not in fields]
            if missing or not labels:
                raise FerEdgeError(f"{p}: not a `fer-edge run --csv` file (no {', '.join(missing) or 'label'} "
                                   "columns)")
            rows = []
            for rec in reader:
                row = {"frame": int(rec["frame"]), "time": _float_or_none(rec["time"]), "image": rec["image"] or None,
                       "track": int(rec["track"]), "label": rec["label"], "score": float(rec["score"]),
                       "detection": float(rec["detection"])}
                row.update({k: int(rec[k]) for k in ("x", "y", "w", "h")})
                row.update({name: float(rec[name]) for name in labels})
                rows.append(row)
            return frame_dataframe(rows, labels)
    except UNREADABLE as exc:
        raise unreadable(p, exc, "a results file") from None
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # json, int()/float(), a missing field
        raise FerEdgeError(f"{p}: not a `fer-edge run --jsonl` or `--csv` file ({type(exc).__name__}: {exc})") from None


def label_columns(df: "pandas.DataFrame") -> list[str]:
    return [c for c in df.columns if c not in PLACE_COLUMNS and c not in VERDICT_COLUMNS]


def timeline_axis(df: "pandas.DataFrame") -> tuple[str, str]:
    """The x axis of a timeline: seconds where the frames have times, else frame numbers."""
    if "time" in df and df["time"].notna().all() and len(df):
        return "time", "seconds"
    return "frame", "frame"


def summary_table(df: "pandas.DataFrame") -> "pandas.DataFrame":
    """Per track: frames, first and last time (or frame), the expression it shows most, and its share
    of the track's frames; the share of frames in each expression."""
    pd = import_pandas()
    axis, _ = timeline_axis(df)
    labels = label_columns(df)
    rows = []
    for track, part in df.groupby("track", sort=True):
        shares = part["label"].value_counts(normalize=True)
        top = shares.idxmax()
        row = {"track": int(track), "frames": len(part), "from": part[axis].min(), "to": part[axis].max(),
               "most": top, "most_share": round(float(shares[top]), 3),
               "mean_score": round(float(part["score"].mean()), 3)}
        row.update({name: round(float(shares.get(name, 0.0)), 3) for name in labels})
        rows.append(row)
    table = pd.DataFrame(rows)
    if axis == "frame" and len(table):
        table[["from", "to"]] = table[["from", "to"]].astype("int64")
    elif len(table):  # seconds, to the hundredth as the timeline shows them
        table[["from", "to"]] = table[["from", "to"]].round(2)
    return table


def is_pictures(df: "pandas.DataFrame") -> bool:
    """Results of photos (each row names its picture): no tracks over time to draw."""
    return "image" in df and df["image"].notna().all() and len(df) > 0


def picture_table(df: "pandas.DataFrame") -> "pandas.DataFrame":
    """Per picture, in the order the run read them: its faces and the label of each, left to right."""
    pd = import_pandas()
    rows = []
    for name, part in df.groupby("image", sort=False):
        part = part.sort_values("x")
        rows.append({"picture": name, "faces": len(part),
                     "labels": ", ".join(f"{label} {score:.2f}" for label, score in zip(part["label"], part["score"]))})
    return pd.DataFrame(rows, columns=["picture", "faces", "labels"])
