"""`fer-edge train` and `fer-edge evaluate` (click definitions only; work is imported when run)."""

import click

from fer_edge.errors import NotImplementedYet


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def train() -> None:
    """Train a Keras model on FER2013 (not implemented yet)."""
    raise NotImplementedYet("`fer-edge train` is not implemented yet")


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
def evaluate() -> None:
    """Accuracy, macro-F1 and confusion matrix of a model on a split (not implemented yet)."""
    raise NotImplementedYet("`fer-edge evaluate` is not implemented yet")
