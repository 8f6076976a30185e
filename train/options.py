"""`fer-edge train`'s options, apart from the command (no Keras, no numpy): the command applies them,
and `--resume` checks a saved run's config against the same ranges and choices."""

from __future__ import annotations

import click

MODEL_NAMES = ("baseline", "ferlite", "ferfast", "fervgg", "resnet50")  # train.models.MODELS' keys

TRAIN_OPTIONS = [
    click.option("--model", "model_name", required=True, type=click.Choice(MODEL_NAMES), help="Which model to build."),
    click.option("--data", required=True, type=click.Path(), help="fer2013.csv, fer2013.tar.gz, an image folder or a prepared .npz."),
    click.option("--epochs", default=60, show_default=True, type=click.IntRange(min=1)),
    click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1)),
    click.option("--out", default=None, type=click.Path(), help="Run directory [default: runs/<model>]."),
    click.option("--resume", is_flag=True, help="Continue the interrupted run in --out."),
    click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2 ** 32 - 1)),  # numpy's seed range
    click.option("--augment/--no-augment", default=True, show_default=True, help="Mirror, crop, shift, rotate, brightness/contrast."),
    click.option("--aug-strength", default=1.0, show_default=True, type=click.FloatRange(0.05, 3.0),
                  help="Scale every augmentation range (rotation, shift, zoom, brightness, contrast)."),
    click.option("--lr", "learning_rate", default=1e-3, show_default=True, type=float, help="Peak learning rate (cosine schedule with warm-up)."),
    click.option("--class-weight", default="sqrt", show_default=True, type=click.Choice(["sqrt", "balanced", "none"]),
                  help="Loss weight per class against FER2013's imbalance."),
    click.option("--label-smoothing", default=0.1, show_default=True, type=click.FloatRange(0, 0.5)),
    click.option("--patience", default=15, show_default=True, type=click.IntRange(min=1), help="Early stopping: epochs without a better PublicTest accuracy."),
    click.option("--weights", default=None, help="resnet50 only: 'vggface:FILE' (rcmalli no-top ResNet50 .h5, sha256-checked) or 'none'."),
    click.option("--width", default=None, type=click.IntRange(min=8), help="ferlite: base channel width [32]; ferfast: channels of its two 6x6 convolutions [128]; fervgg: first stage's channels [48]."),
    click.option("--teacher", multiple=True, type=click.Path(),
                  help="Distil from this .keras teacher's probabilities; repeat it to distil from the mean of several (an ensemble)."),
    click.option("--online-teacher", is_flag=True,
                  help="Teachers see each augmented batch with the student (slower, consistent targets) instead of precomputed clean faces."),
    click.option("--teacher-data", default=None, type=click.Path(),
                  help="Precompute the teachers' targets on this data's faces instead of --data's: the same faces in the same order, "
                       "e.g. the clean ones a field-views file was made from, so the student learns to read a degraded face as "
                       "the teachers read it clean."),
    click.option("--alpha", default=0.5, show_default=True, type=click.FloatRange(0, 1), help="Weight of the teacher term."),
    click.option("--temperature", default=4.0, show_default=True, type=click.FloatRange(min=1)),
    click.option("--mixup", default=0.0, show_default=True, type=click.FloatRange(0, 10),
                  help="Mixup: blend each face and its targets with another's, weight ~ Beta(a, a); 0 is off, 0.2-0.4 is usual."),
    click.option("--init", default=None, type=click.Path(), help="Start from this .keras model's weights (fine-tuning, e.g. with --no-augment and a lower --lr)."),
    click.option("--freeze-from", default=None, metavar="LAYER",
                  help="With --init: train only the layers before LAYER (e.g. ferfast's conv4_conv); it and every layer "
                       "after it keep --init's weights and BatchNorm statistics."),
    click.option("--reparam", is_flag=True,
                  help="ferfast: train with RepVGG branches (3x3 + 1x1 + identity), folded into the plain model at the end."),
    click.option("--distribute", is_flag=True, help="Data-parallel over all local devices (tf.distribute or keras.distribution)."),
    click.option("--limit", default=None, type=click.IntRange(min=1), help="Use only the first N rows of each split (quick checks)."),
    click.option("--quiet", is_flag=True, help="No progress bars."),
]


def with_train_options(command):
    """The decorator stack of `fer-edge train`, in the order --help lists them."""
    for option in reversed(TRAIN_OPTIONS):
        command = option(command)
    return command


def train_params() -> dict[str, click.Parameter]:
    """Option name (TrainConfig's field name) -> its click parameter, for range and choice checks."""
    params = {p.name: p for p in with_train_options(click.command()(lambda **kw: None)).params}
    params["model"] = params.pop("model_name")
    return params
