"""Pictures of results (`plot_timeline`, `fer-edge report`): each tracked face's expression scores
over time, and the share of time in each expression, in the overlay's colours.

matplotlib's object API without pyplot: no GUI backend is chosen or needed, and a caller's own
pyplot state (a notebook's) is left alone.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from fer_edge import labels
from fer_edge.errors import FerEdgeError

if TYPE_CHECKING:
    import pandas
    from matplotlib.figure import Figure

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
MAX_TRACKS = 50  # `fer-edge report --tracks` at most: 50 panels are already a tall picture


def import_matplotlib():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        from fer_edge.analysis import analysis_hint

        raise FerEdgeError(f"plots need matplotlib: {analysis_hint()}") from None
    return Figure


def label_colour(label: str) -> str:
    """The overlay's colour of a label (fer_edge.labels' BGR), as matplotlib's RGB hex."""
    b, g, r = labels.label_colour(label)
    return "#%02x%02x%02x" % (r, g, b)


def share_bars(ax, names: list[str], table: "pandas.DataFrame", labels: list[str], xlabel: str) -> None:
    """One bar per row of `table` (named `names`), stacked from each label's share column in the
    labels' colours: the tracks of a video report, the devices of an events report."""
    left = [0.0] * len(names)
    for label in labels:
        values = list(table[label])
        ax.barh(names, values, left=left, color=label_colour(label), label=label)
        left = [a + b for a, b in zip(left, values)]
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)


def longest_tracks(df: "pandas.DataFrame", tracks: int, min_frames: int) -> list[int]:
    counts = df.groupby("track").size()
    counts = counts[counts >= min_frames]
    return [int(t) for t in counts.sort_values(ascending=False, kind="stable").index[:tracks]]


def draw_timelines(fig: "Figure", axes, df: "pandas.DataFrame", track_ids: list[int]) -> None:
    from fer_edge.analysis import label_columns, timeline_axis

    axis, unit = timeline_axis(df)
    labels = label_columns(df)
    for ax, track in zip(axes, track_ids):
        part = df[df["track"] == track].sort_values(axis)
        for name in labels:
            ax.plot(part[axis], part[name], color=label_colour(name), label=name, linewidth=1.4)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"face #{track}")
        ax.grid(alpha=0.3)
    if len(track_ids):
        axes[-1].set_xlabel(unit)
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def timeline_figure(df: "pandas.DataFrame", tracks: int = 6, min_frames: int = 1) -> "Figure":
    Figure = import_matplotlib()
    track_ids = longest_tracks(df, tracks, min_frames)
    if not track_ids:
        raise FerEdgeError("no face to plot (no track has enough frames)")
    fig = Figure(figsize=(10, 1.9 * len(track_ids) + 0.6), layout="constrained")
    axes = fig.subplots(len(track_ids), 1, sharex=True, squeeze=False)[:, 0]
    draw_timelines(fig, axes, df, track_ids)
    fig.suptitle("expression scores over time, per tracked face")
    return fig


def report_figure(df: "pandas.DataFrame", table: "pandas.DataFrame", tracks: int = 6,
                  min_frames: int = 1) -> "Figure":
    """Timelines of the longest tracks above, and each track's share of time per expression below."""
    from fer_edge.analysis import label_columns

    Figure = import_matplotlib()
    track_ids = longest_tracks(df, tracks, min_frames)
    if not track_ids:
        raise FerEdgeError("no face to report (no track has enough frames)")
    fig = Figure(figsize=(10, 1.9 * len(track_ids) + 3.2), layout="constrained")
    grid = fig.add_gridspec(len(track_ids) + 1, 1, height_ratios=[1.0] * len(track_ids) + [1.35])
    axes = [fig.add_subplot(grid[0, 0])]
    axes += [fig.add_subplot(grid[i, 0], sharex=axes[0]) for i in range(1, len(track_ids))]
    draw_timelines(fig, axes, df, track_ids)
    shown = table[table["track"].isin(track_ids)]
    share_bars(fig.add_subplot(grid[-1, 0]), [f"#{t}" for t in shown["track"]], shown, label_columns(df),
               "share of the face's frames with each label")
    tracked = df["track"].nunique()
    title = f"{len(df)} face observations, {tracked} tracked face{'s' if tracked != 1 else ''}"
    if tracked > len(track_ids):  # say so on the picture too: which ones, on stderr and the page
        title += (f"; the {len(track_ids)} longest drawn, {tracked - len(track_ids)} shorter left out "
                  f"(--tracks {min(tracked, MAX_TRACKS)} draws {'them all' if tracked <= MAX_TRACKS else 'more'})")
    fig.suptitle(title)
    return fig


def left_out_note(df: "pandas.DataFrame", track_ids: list[int]) -> str | None:
    """Which tracked faces a report left out of its timelines, and how to show them; None when none."""
    counts = df.groupby("track").size().sort_values(ascending=False, kind="stable")
    rest = [(int(t), int(n)) for t, n in counts.items() if int(t) not in track_ids]
    if not rest:
        return None
    listed = ", ".join(f"#{t} ({n} frame{'s' if n != 1 else ''})" for t, n in rest[:8])
    more = f" and {len(rest) - 8} more" if len(rest) > 8 else ""
    how = (f"--tracks {len(counts)} shows them all" if len(counts) <= MAX_TRACKS else
           f"--tracks {MAX_TRACKS} shows the {MAX_TRACKS} longest, --min-frames leaves out the short ones")
    return f"timelines of the {len(track_ids)} longest of {len(counts)} tracked faces; left out: {listed}{more}; {how}"


PICTURES_SHOWN = 30  # pictures drawn one row each; more are summed in the shares only (a figure stays readable)


def pictures_figure(df: "pandas.DataFrame") -> "Figure":
    """Photo results: one row per picture with a block per face in its label's colour (named on it),
    and the share of all faces per expression below."""
    from fer_edge.analysis import label_columns, picture_table

    Figure = import_matplotlib()
    table = picture_table(df)
    shown = table.head(PICTURES_SHOWN)
    fig = Figure(figsize=(10, 0.42 * len(shown) + 3.6), layout="constrained")
    grid = fig.add_gridspec(2, 1, height_ratios=[max(1.0, 0.42 * len(shown)), 2.2])
    faces = fig.add_subplot(grid[0, 0])
    for row, name in enumerate(shown["picture"]):
        part = df[df["image"] == name].sort_values("x")
        for i, (label, score) in enumerate(zip(part["label"], part["score"])):
            faces.barh(row, 1, left=i, color=label_colour(label), edgecolor="white")
            faces.text(i + 0.5, row, f"{label} {score:.2f}", ha="center", va="center", fontsize=7)
    faces.set_yticks(range(len(shown)), [Path(str(n)).name for n in shown["picture"]], fontsize=8)
    faces.invert_yaxis()
    most = max(1, int(shown["faces"].max())) if len(shown) else 1
    faces.set_xlim(0, most)
    faces.set_xticks(range(most + 1))
    faces.set_xlabel("faces in the picture, left to right, with their label and its score")
    title = f"{len(df)} face{'s' if len(df) != 1 else ''} in {len(table)} picture{'s' if len(table) != 1 else ''}"
    if len(table) > len(shown):
        title += f" (the first {len(shown)} drawn; the shares count all)"
    fig.suptitle(title)
    shares = fig.add_subplot(grid[1, 0])
    names = label_columns(df)
    counts = df["label"].value_counts(normalize=True)
    values = [float(counts.get(n, 0.0)) for n in names]
    bars = shares.bar(names, values, color=[label_colour(n) for n in names])
    shares.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=8)
    shares.set_ylim(0, 1.1)
    shares.set_ylabel("share of the faces")
    return fig


def save_figure(fig: "Figure", path: str | os.PathLike) -> Path:
    """Write the figure atomically in the format its name says."""
    from fer_edge.atomic import atomic_output, require_output_folder

    out = require_output_folder(path)
    if out.suffix.lower() not in PLOT_SUFFIXES:
        raise FerEdgeError(f"{path}: name a {', '.join(PLOT_SUFFIXES)} file")
    with atomic_output(out, suffix=out.suffix) as tmp:
        fig.savefig(tmp, dpi=110)
    return out


def plot_timeline(df: "pandas.DataFrame", path: str | os.PathLike | None = None, *, tracks: int = 6,
                  min_frames: int = 1):
    """Each track's expression scores over time, one panel per track (the `tracks` longest with at
    least `min_frames` frames), in the overlay's colours. Saved to `path` (.png, .svg, .pdf) when
    given; returns the matplotlib Figure."""
    fig = timeline_figure(df, tracks=tracks, min_frames=min_frames)
    if path is not None:
        save_figure(fig, path)
    return fig


FIGURE_SUFFIXES = (".png", ".svg", ".pdf")
PAGE_SUFFIXES = (".html", ".htm")


def html_page(source: str, table, png: bytes, intro: str, note: str | None = None) -> str:
    """A self-contained page (no external files or scripts): the figure inlined, then the table."""
    rows = table.to_html(index=False, border=0, classes="summary", float_format=lambda v: f"{v:.3g}")
    title = html.escape(f"fer-edge report: {Path(source).name}")
    image = base64.b64encode(png).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }}
img {{ max-width: 100%; }}
table.summary {{ border-collapse: collapse; font-size: 0.9em; }}
table.summary th, table.summary td {{ padding: 0.25em 0.6em; text-align: right; border-bottom: 1px solid #ddd; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{html.escape(intro)}</p>{f"{chr(10)}<p>{html.escape(note)}</p>" if note else ""}
<img alt="expression report" src="data:image/png;base64,{image}">
<h2>Summary</h2>
{rows}
</body></html>
"""


def write_report(fig: "Figure", outputs, source: str, table, intro: str, note: str | None = None) -> None:
    """The figure to each picture in `outputs`, and to each page with the table under it (atomic)."""
    from fer_edge.atomic import atomic_output

    for out in outputs:
        if Path(out).suffix.lower() in FIGURE_SUFFIXES:
            save_figure(fig, out)
        else:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=110)
            with atomic_output(out, suffix=".html") as tmp:
                tmp.write_text(html_page(source, table, buffer.getvalue(), intro, note), encoding="utf-8")


def table_text(table, columns: list[str]) -> str:
    """The summary table as the terminal shows it: floats (seconds, shares) to two decimals."""
    from fer_edge.table import format_table

    shown = lambda v: f"{v:.2f}" if isinstance(v, float) else v  # noqa: E731
    return format_table(columns, [[shown(v) for v in row] for row in table[columns].values.tolist()])
