"""`fer-edge models`: the named model choices that `--model NAME` takes, with their files, accuracy and
speed (click definition; the figures come from models/choices.json, as the choices themselves do)."""

from __future__ import annotations

import click


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def models(as_json: bool) -> None:
    """The model choices for `--model NAME` in run, bench and evaluate: their files, FER2013 PublicTest
    accuracy and ms per face."""
    import json

    from fer_edge.model_choices import describe_choices
    from fer_edge.table import format_table, wrap_text

    described = describe_choices()
    if as_json:
        click.echo(json.dumps(described))
        return
    rows = []
    for c in described["choices"]:
        ms = c.get("ms_per_face", {})
        rows.append([c["name"] + (" (default)" if c["default"] else ""),
                     " + ".join(c["files"]) + ("" if c["installed"] else " (missing)"), c.get("tta") or "none",
                     f"{100 * c['publictest_accuracy']:.2f}%", _ms(ms.get("threads_1")), _ms(ms.get("threads_2")),
                     c.get("pi4_ms_per_face_estimate", "")])
    click.echo(format_table(["choice", "files (models/)", "tta", "PublicTest int8", "ms/face 1 thread",
                             "2 threads", "Pi 4 ms/face (est.)"], rows))
    m = described["measured"]
    notes = [m.get(key) for key in ("accuracy", "latency", "pi4_estimate") if m.get(key)]
    if notes:
        click.echo("\n" + wrap_text("\n".join(notes)))


def _ms(value) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "?"
