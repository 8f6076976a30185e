"""`fer-edge convert` (click definition only; TensorFlow is imported when it runs)."""

import click

from fer_edge.errors import NotImplementedYet


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def convert() -> None:
    """Convert a .keras model to TFLite (not implemented yet)."""
    raise NotImplementedYet("`fer-edge convert` is not implemented yet")
