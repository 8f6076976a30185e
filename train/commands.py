"""`fer-edge train` and `fer-edge evaluate` (click definitions only; work is imported when run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fer_edge.atomic import require_output_folder
from fer_edge.errors import FerEdgeError
from fer_edge.options import given_on_command_line
from fer_edge import defaults
from fer_edge.train.options import MODEL_NAMES, with_train_options  # noqa: F401 (MODEL_NAMES: read by tests and docs)

PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg")


@click.command()
@with_train_options
def train(model_name, data, epochs, batch_size, out, resume, seed, augment, aug_strength, learning_rate, class_weight,
          label_smoothing, patience, weights, width, teacher, online_teacher, teacher_data, alpha, temperature, mixup, init, freeze_from, reparam, distribute, limit, quiet) -> None:
    """Train a model on FER2013's Training split, keeping the best PublicTest epoch.

    Ctrl-C saves a checkpoint; run the same command with --resume to continue.
    """
    from fer_edge.keras_files import import_keras

    try:
        import_keras()
    except ImportError:
        from fer_edge.keras_files import host_extra_hint

        raise FerEdgeError(f"training needs Keras and TensorFlow: {host_extra_hint()}") from None
    from fer_edge.train.trainer import TrainConfig, train_model

    cfg = TrainConfig(model=model_name, data=data, out=out or f"runs/{model_name}", epochs=epochs,
                      batch_size=batch_size, learning_rate=learning_rate, label_smoothing=label_smoothing,
                      seed=seed, augment=augment, aug_strength=aug_strength, class_weight=class_weight, patience=patience, weights=weights,
                      distribute=distribute, teacher=list(teacher) or None, online_teacher=online_teacher, teacher_data=teacher_data, alpha=alpha, temperature=temperature, mixup=mixup, limit=limit,
                      width=width, init=init, freeze_from=freeze_from, reparam=reparam)
    try:
        result = train_model(cfg, resume=resume, progress=not quiet, explicit=_given_on_command_line())
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (Terminated)
        from fer_edge.train.rundir import RunDir

        if RunDir(cfg.out).can_resume():
            click.echo(f"\ninterrupted: checkpoint saved in {cfg.out}/checkpoint; continue with --resume", err=True)
        else:
            click.echo(f"\ninterrupted before the first epoch ended: nothing to resume in {cfg.out}", err=True)
        raise SystemExit(getattr(exc, "exit_code", 130))
    scored = f"{result['n']:,} PublicTest faces"
    if result["n"] < result["split_faces_total"]:
        scored = f"the first {result['n']:,} of the {result['split_faces_total']:,} PublicTest faces"
    click.echo(f"{result['model']}: PublicTest accuracy {result['accuracy']:.4f} on {scored} (best epoch "
               f"{result['best_epoch']} of {result['epochs_run']}), saved {result['final']}")
    if result.get("limit"):
        click.echo(f"a quick try: trained on {result['train_faces']:,} of the {result['train_faces_total']:,} Training "
                   f"faces for {result['epochs_run']} epoch{'s' if result['epochs_run'] != 1 else ''}. It shows that the "
                   "data, training, the run folder and the plots work; its model is no use (chance is 14%, the shipped "
                   "ferfast 68%): train without --limit for one to use.")


def _given_on_command_line() -> dict[str, str]:
    """TrainConfig field -> option as typed, for the options the user gave (not defaults): --resume
    names those it does not apply."""
    return {"model" if name == "model_name" else name: option for name, option in given_on_command_line().items()}


@click.command()
@click.argument("models", nargs=-1, type=click.Path())
@click.option("--model", "named", multiple=True, metavar="NAME|FILE",
              help="A model choice, fast, accurate or best (`fer-edge models`), evaluated as `fer-edge run --model "
                   "NAME` runs it (its files and test-time augmentation); or a model file, as MODEL.")
@click.option("--data", required=True, type=click.Path(), help="fer2013.csv, fer2013.tar.gz, an image folder or a prepared .npz.")
@click.option("--split", default="PublicTest", show_default=True, help="Any split present: Training, PublicTest, PrivateTest, Test.")
@click.option("--tta", type=click.Choice(defaults.TTA_CHOICES), default=None,
              help="Test-time augmentation: average with the mirrored face.  [default: the choice's own (best: "
                   "flip); none for MODEL files]")
@click.option("--plot", type=click.Path(), default=None,
              help="Write the confusion matrix as a picture (.png, .pdf, .svg or .jpg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--threads", default=defaults.THREADS, show_default=True, type=click.IntRange(min=1), help="LiteRT threads for .tflite models.")
def evaluate(models, named, data, split, tta, plot, as_json, threads) -> None:
    """Accuracy, macro-F1, per-class precision/recall and confusion matrix of MODEL(S) on a split.

    MODEL is a .keras file (needs TensorFlow/Keras) or a .tflite file with its .meta.json
    (LiteRT only). Several MODELs are evaluated as an ensemble: their probabilities are averaged.
    --model NAME (fast, accurate, best) evaluates a shipped choice without typing its files.
    """
    from fer_edge.train.evaluation import evaluate_models, format_report
    from fer_edge.model_choices import resolve_models

    if not models and not named:
        raise FerEdgeError("give MODEL files or --model NAME (fast, accurate or best; `fer-edge models` lists them)")
    choice = resolve_models([*models, *named], tta)

    if plot:  # before the evaluation, not after it
        if Path(plot).suffix.lower() not in PLOT_SUFFIXES:  # matplotlib picks the format by it
            raise FerEdgeError(f"--plot {plot}: give a .png, .pdf, .svg or .jpg file name")
        require_output_folder(plot, "--plot")
    report = evaluate_models([str(p) for p in choice.paths], data, split, tta_flip=choice.tta == "flip",
                             threads=threads)
    report["choice"] = choice.name
    if plot:
        from fer_edge.train.plots import plot_confusion

        plot_confusion(report["confusion"], plot, f"{report['model']} on {split}: accuracy {report['accuracy']:.4f}")
    click.echo(json.dumps(report) if as_json else format_report(report))
    if not as_json:
        from fer_edge.quick_try import quick_try_note

        for note in filter(None, map(quick_try_note, choice.paths)):
            click.echo(note)
