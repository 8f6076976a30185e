"""`fer-edge train` and `fer-edge evaluate` (click definitions only; work is imported when run)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from fer_edge.atomic import require_output_folder
from fer_edge.errors import FerEdgeError
from fer_edge.options import given_on_command_line

PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg")
MODEL_NAMES = ("baseline", "ferlite", "ferfast", "fervgg", "resnet50")  # MODELS keys; kept here so --help needs no Keras


@click.command()
@click.option("--model", "model_name", required=True, type=click.Choice(MODEL_NAMES), help="Which model to build.")
@click.option("--data", required=True, type=click.Path(), help="fer2013.csv, fer2013.tar.gz, an image folder or a prepared .npz.")
@click.option("--epochs", default=60, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--out", default=None, type=click.Path(), help="Run directory [default: runs/<model>].")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2 ** 32 - 1))  # numpy's seed range
@click.option("--augment/--no-augment", default=True, show_default=True, help="Mirror, crop, shift, rotate, brightness/contrast.")
@click.option("--aug-strength", default=1.0, show_default=True, type=click.FloatRange(0.05, 3.0),
              help="Scale every augmentation range (rotation, shift, zoom, brightness, contrast).")
@click.option("--lr", "learning_rate", default=1e-3, show_default=True, type=float, help="Peak learning rate (cosine schedule with warm-up).")
@click.option("--class-weight", default="sqrt", show_default=True, type=click.Choice(["sqrt", "balanced", "none"]),
              help="Loss weight per class against FER2013's imbalance.")
@click.option("--label-smoothing", default=0.1, show_default=True, type=click.FloatRange(0, 0.5))
@click.option("--patience", default=15, show_default=True, type=click.IntRange(min=1), help="Early stopping: epochs without a better PublicTest accuracy.")
@click.option("--weights", default=None, help="resnet50 only: 'vggface:FILE' (rcmalli no-top ResNet50 .h5, sha256-checked) or 'none'.")
@click.option("--width", default=None, type=click.IntRange(min=8), help="ferlite: base channel width [32]; ferfast: channels of its two 6x6 convolutions [128]; fervgg: first stage's channels [48].")
@click.option("--teacher", multiple=True, type=click.Path(),
              help="Distil from this .keras teacher's probabilities; repeat it to distil from the mean of several (an ensemble).")
@click.option("--online-teacher", is_flag=True,
              help="Teachers see each augmented batch with the student (slower, consistent targets) instead of precomputed clean faces.")
@click.option("--alpha", default=0.5, show_default=True, type=click.FloatRange(0, 1), help="Weight of the teacher term.")
@click.option("--temperature", default=4.0, show_default=True, type=click.FloatRange(min=1))
@click.option("--mixup", default=0.0, show_default=True, type=click.FloatRange(0, 10),
              help="Mixup: blend each face and its targets with another's, weight ~ Beta(a, a); 0 is off, 0.2-0.4 is usual.")
@click.option("--init", default=None, type=click.Path(), help="Start from this .keras model's weights (fine-tuning, e.g. with --no-augment and a lower --lr).")
@click.option("--reparam", is_flag=True,
              help="ferfast: train with RepVGG branches (3x3 + 1x1 + identity), folded into the plain model at the end.")
@click.option("--distribute", is_flag=True, help="Data-parallel over all local devices (tf.distribute or keras.distribution).")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="Use only the first N rows of each split (quick checks).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train(model_name, data, epochs, batch_size, out, resume, seed, augment, aug_strength, learning_rate, class_weight,
          label_smoothing, patience, weights, width, teacher, online_teacher, alpha, temperature, mixup, init, reparam, distribute, limit, quiet) -> None:
    """Train a model on FER2013's Training split, keeping the best PublicTest epoch.

    Ctrl-C saves a checkpoint; run the same command with --resume to continue.
    """
    from fer_edge.keras_files import import_keras

    try:
        import_keras()
    except ImportError:
        raise FerEdgeError("training needs Keras and TensorFlow: pip install 'fer-edge[train]'") from None
    from fer_edge.train.trainer import TrainConfig, train_model

    cfg = TrainConfig(model=model_name, data=data, out=out or f"runs/{model_name}", epochs=epochs,
                      batch_size=batch_size, learning_rate=learning_rate, label_smoothing=label_smoothing,
                      seed=seed, augment=augment, aug_strength=aug_strength, class_weight=class_weight, patience=patience, weights=weights,
                      distribute=distribute, teacher=list(teacher) or None, online_teacher=online_teacher, alpha=alpha, temperature=temperature, mixup=mixup, limit=limit,
                      width=width, init=init, reparam=reparam)
    try:
        result = train_model(cfg, resume=resume, progress=not quiet, explicit=_given_on_command_line())
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (Terminated)
        from fer_edge.train.rundir import RunDir

        if RunDir(cfg.out).can_resume():
            click.echo(f"\ninterrupted: checkpoint saved in {cfg.out}/checkpoint; continue with --resume", err=True)
        else:
            click.echo(f"\ninterrupted before the first epoch ended: nothing to resume in {cfg.out}", err=True)
        raise SystemExit(getattr(exc, "exit_code", 130))
    click.echo(f"{result['model']}: PublicTest accuracy {result['accuracy']:.4f} (best epoch {result['best_epoch']}"
               f" of {result['epochs_run']}), saved {result['final']}")


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
@click.option("--tta", type=click.Choice(["none", "flip"]), default=None,
              help="Test-time augmentation: average with the mirrored face.  [default: the choice's own (best: "
                   "flip); none for MODEL files]")
@click.option("--plot", type=click.Path(), default=None,
              help="Write the confusion matrix as a picture (.png, .pdf, .svg or .jpg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="LiteRT threads for .tflite models.")
def evaluate(models, named, data, split, tta, plot, as_json, threads) -> None:
    """Accuracy, macro-F1, per-class precision/recall and confusion matrix of MODEL(S) on a split.

    MODEL is a .keras file (needs TensorFlow/Keras) or a .tflite file with its .meta.json
    (LiteRT only). Several MODELs are evaluated as an ensemble: their probabilities are averaged.
    --model NAME (fast, accurate, best) evaluates a shipped choice without typing its files.
    """
    from fer_edge.evaluation import evaluate_models, format_report
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
