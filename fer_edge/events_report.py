"""`fer-edge report` on recorded events of one or several devices (docs/events.md): a table per
device and, with -o, the share of each expression per device as a picture or a page."""

from __future__ import annotations


import click

from fer_edge.errors import FerEdgeError

DEVICES_INTRO = "Per device: how long it ran, the faces it saw, their expression changes and the share of time in each expression."
TABLE_COLUMNS = ["device", "from", "seconds", "faces", "changes", "mean_faces", "fps", "dropped", "most"]


def shares_figure(table, labels: list[str]):
    from fer_edge.result_plots import import_matplotlib, share_bars

    Figure = import_matplotlib()
    fig = Figure(figsize=(9, 1.2 + 0.5 * len(table)), layout="constrained")
    ax = fig.add_subplot()
    share_bars(ax, list(table["device"]), table, labels, "share of face-frames in each expression")
    ax.legend(ncol=min(7, len(labels)), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False, fontsize=8)
    return fig


def events_report(sources: tuple[str, ...], outputs: tuple[str, ...]) -> None:
    from fer_edge.events_data import SHARE, device_table, read_events
    from fer_edge.result_plots import table_text, write_report

    df = read_events(list(sources))
    if df.empty:
        raise FerEdgeError(f"{', '.join(sources)}: hold no events")
    table = device_table(df)
    labels = [c[len(SHARE):] for c in df.columns if c.startswith(SHARE)]
    if outputs:
        name = sources[0] if len(sources) == 1 else f"{len(sources)} event files"
        write_report(shares_figure(table, labels), outputs, name, table, DEVICES_INTRO)
    columns = TABLE_COLUMNS + labels
    click.echo(table_text(table, columns))
    if outputs:
        click.echo("wrote " + ", ".join(outputs), err=True)
