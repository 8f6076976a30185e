"""`fer-edge report`: a `fer-edge run` result file (JSONL or CSV) as a picture and/or a web page:
each tracked face's expressions over time, its share of time in each expression, and a summary table.
"""

from __future__ import annotations

from pathlib import Path

import click

from fer_edge.errors import FerEdgeError
from fer_edge.result_plots import FIGURE_SUFFIXES, MAX_TRACKS, PAGE_SUFFIXES

TRACKS_INTRO = ("Per tracked face: expression scores over time and the share of frames with each label "
                "(`most`: the label it shows most, `most_share` of its frames).")
PICTURES_INTRO = ("Per picture: its faces, left to right, with the label of each and its score; below, the share "
                  "of all faces with each label.")


@click.command()
@click.argument("results", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option("-o", "--output", "outputs", multiple=True, metavar="FILE",
              help="Write the report here: a picture (.png, .svg, .pdf) or a self-contained web page (.html); "
                   "repeat for both.")
@click.option("--tracks", default=6, show_default=True, type=click.IntRange(1, MAX_TRACKS),
              help="Plot the longest this many tracked faces.")
@click.option("--min-frames", default=1, show_default=True, type=click.IntRange(min=1),
              help="Leave out faces tracked for fewer frames (passers-by, false detections).")
def report(results, outputs, tracks, min_frames) -> None:
    """Timelines, time per expression and a summary table from `fer-edge run --jsonl/--csv` output;
    for photos, each picture's faces and the share of faces per expression; from recorded events of one or
    several devices (`run --mqtt`, docs/events.md), a table per device.

    \b
    fer-edge run --source clip.mp4 --headless --csv faces.csv
    fer-edge report faces.csv -o report.png -o report.html
    mosquitto_sub -h hub -t 'fer-edge/#' > events.jsonl   (while the devices run)
    fer-edge report events.jsonl other-site.jsonl -o devices.html

    Needs pandas and matplotlib (the analysis extra: pip install ".[analysis]" in a checkout).
    """
    from fer_edge.analysis import is_pictures, picture_table, read_results, summary_table
    from fer_edge.events_report import events_report
    from fer_edge.atomic import require_output_folder
    from fer_edge.result_plots import (import_matplotlib, left_out_note, longest_tracks, pictures_figure,
                                       report_figure, table_text, write_report)

    for out in outputs:
        suffix = Path(out).suffix.lower()
        if suffix not in FIGURE_SUFFIXES + PAGE_SUFFIXES:
            raise FerEdgeError(f"-o {out}: name a picture ({', '.join(FIGURE_SUFFIXES)}) or a page (.html)")
        require_output_folder(out, "-o")
    if len({str(Path(o).resolve()) for o in outputs}) != len(outputs):
        raise FerEdgeError("-o: the same file named twice")
    from fer_edge.events_data import is_events_file

    if all(is_events_file(r) for r in results):
        return events_report(results, outputs)
    if len(results) > 1:
        raise FerEdgeError("give one `fer-edge run` results file (several files are for recorded events)")
    if not outputs:
        raise FerEdgeError("give -o FILE: a picture (.png, .svg, .pdf) or a page (.html)")
    (results,) = results
    import_matplotlib()
    df = read_results(results)
    if df.empty:
        raise FerEdgeError(f"{results}: holds no face to report")
    if not is_pictures(df):  # a photo's faces are one frame each: --min-frames is about video tracks
        df = df[df.groupby("track")["track"].transform("size") >= min_frames]
    if df.empty:
        raise FerEdgeError(f"{results}: no face was tracked for {min_frames} frames or more (--min-frames)")
    note = None
    if is_pictures(df):  # photos: no time to draw, a view per picture
        table = picture_table(df)
        fig = pictures_figure(df)
        columns, intro = ["picture", "faces", "labels"], PICTURES_INTRO
    else:
        table = summary_table(df)
        track_ids = longest_tracks(df, tracks, 1)
        note = left_out_note(df, track_ids)
        fig = report_figure(df, table, tracks=tracks)
        columns, intro = ["track", "frames", "from", "to", "most", "most_share", "mean_score"], TRACKS_INTRO
    write_report(fig, outputs, results, table, intro, note)
    click.echo(table_text(table, columns))
    if note:
        click.echo(note, err=True)
    click.echo("wrote " + ", ".join(outputs), err=True)
