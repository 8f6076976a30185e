"""`fer-edge run` and `fer-edge bench` (click definitions only; never imports TensorFlow)."""

import click

from fer_edge.errors import NotImplementedYet


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def run() -> None:
    """Detect faces and classify their expressions live (not implemented yet)."""
    raise NotImplementedYet("`fer-edge run` is not implemented yet")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def bench() -> None:
    """FPS and per-stage latency on this device (not implemented yet)."""
    raise NotImplementedYet("`fer-edge bench` is not implemented yet")
