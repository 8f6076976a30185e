"""`fer-edge train`: fit a model on FER2013's Training split, select it on PublicTest.

The run directory holds config.json, history.csv, curves.png, checkpoint/ (the last epoch's full
training state: weights, optimizer, schedule position, early-stopping counters), best.keras (the
best PublicTest epoch so far), and at the end <model>.keras and metrics.json.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import asdict, dataclass

import keras
import numpy as np

from fer_edge.atomic import write_json
from fer_edge.data.cache import load
from fer_edge.console import info, warn
from fer_edge.errors import FerEdgeError
from fer_edge.keras_files import load_keras_file
from fer_edge.labels import NUM_CLASSES
from fer_edge.metrics import classification_report
from fer_edge.train.augment import (augment_seed_states, build_augmenter, compile_augmenter_on_jax,
                                    restore_augment_seed_states)
from fer_edge.train.batches import FerBatches, class_weights, to_model_input
from fer_edge.train.distribute import distribution_scope, end_distribution, sharded_devices
from fer_edge.train.losses import DistillationLoss, LabelAccuracy
from fer_edge.train.models import MODELS
from fer_edge.train.plots import plot_confusion, plot_history
from fer_edge.train.predict import predict_keras
from fer_edge.train.reparam import fuse, init_from_plain, is_branched
from fer_edge.train.resume_checks import check_checkpoint, check_config, check_state, read_json_object
from fer_edge.train.rundir import RunDir, save_keras, teacher_paths
from fer_edge.train.teachers import OnlineTeachers, load_teachers, precomputed_targets

SELECT_SPLIT = "PublicTest"
WIDTH_MODELS = tuple(name for name, (builder, _, _) in MODELS.items()  # builders that take --width
                     if "width" in inspect.signature(builder).parameters)
REPARAM_MODELS = tuple(name for name, (builder, _, _) in MODELS.items()  # builders with a branched training form
                       if "branched" in inspect.signature(builder).parameters)


@dataclass
class TrainConfig:
    model: str
    data: str
    out: str
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    seed: int = 0
    augment: bool = True
    aug_strength: float = 1.0
    class_weight: str = "sqrt"
    patience: int = 15
    weights: str | None = None  # resnet50: "vggface:FILE" or None
    distribute: bool = False
    teacher: list[str] | None = None  # one or more .keras teachers; several are averaged (an ensemble)
    online_teacher: bool = False  # teachers see the student's augmented batch instead of precomputed clean faces
    teacher_data: str | None = None  # precomputed targets from these faces (same order and labels), not --data's
    alpha: float = 0.5
    temperature: float = 4.0
    mixup: float = 0.0  # Beta(mixup, mixup) blending of faces and targets; 0: off
    limit: int | None = None  # use only the first N rows of each split (smoke tests)
    width: int | None = None  # ferlite's base width or ferfast's 6x6 width
    init: str | None = None  # start from this .keras model's weights (fine-tuning)
    freeze_from: str | None = None  # with init: this layer and all after it keep init's weights
    reparam: bool = False  # train with RepVGG branches, folded into the plain model at the end


class EpochBook(keras.callbacks.Callback):
    """After every epoch: history, last checkpoint, best model, curves, early stopping."""

    def __init__(self, run: RunDir, core_name: str, state: dict, patience: int, started: float,
                 val_loss_scale: float = 1.0):
        super().__init__()
        self.run, self.core_name, self.state, self.patience = run, core_name, state, patience
        self.started, self.val_loss_scale = started, val_loss_scale

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if "val_loss" in logs:  # the mean over the PublicTest faces, not over them and their padding
            logs["val_loss"] = float(logs["val_loss"]) * self.val_loss_scale
        hist = self.state["history"]
        lr = self.model.optimizer.learning_rate
        logs["lr"] = float(np.asarray(lr.numpy() if hasattr(lr, "numpy") else lr))
        for k, v in logs.items():
            hist.setdefault(k, []).append(float(v))
        val = float(logs.get("val_accuracy", logs.get("accuracy", 0.0)))
        if val > self.state["best_val_accuracy"]:
            self.state.update(best_val_accuracy=val, best_epoch=epoch + 1, wait=0)
            save_keras(self.model.get_layer(self.core_name), self.run.best)
        else:
            self.state["wait"] += 1
        self.state["epoch"] = epoch + 1
        self.state["augment_seeds"] = augment_seed_states(self.model)
        self.state["wall_s"] = self.state.get("wall_s_before", 0.0) + (time.time() - self.started)
        save_keras(self.model, self.run.last)
        write_json(self.run.state, self.state)
        self.run.write_history_csv(hist)
        plot_history(hist, self.run.curves, f"{self.core_name}: best PublicTest {self.state['best_val_accuracy']:.4f}"
                                             f" @ epoch {self.state['best_epoch']}")
        if self.state["wait"] >= self.patience:
            self.model.stop_training = True


def _teacher_targets(cfg: TrainConfig, x_train, y_train, x_val, y_val, progress: bool):
    """The teachers' precomputed targets for the Training and PublicTest faces: on --data's own
    faces, or on --teacher-data's, the same faces in the same order (checked by label), whose
    Training targets repeat over --data's rows: a file of K views of every face holds Training K
    times over (train/field_views.py --views K), and --limit keeps a prefix."""
    if not cfg.teacher_data:
        return precomputed_targets(cfg.teacher, x_train), precomputed_targets(cfg.teacher, x_val)
    other = load(cfg.teacher_data, progress=progress)
    targets = []
    for name, labels in (("Training", y_train), (SELECT_SPLIT, y_val)):
        split = other.split(name)
        if not len(split.labels) or not np.array_equal(np.resize(split.labels, len(labels)), labels):
            raise FerEdgeError(f"--teacher-data {cfg.teacher_data}: its {name} faces are not --data's "
                               f"({len(split.labels):,} against {len(labels):,}, or their labels differ)")
        faces = split.images[:len(labels)]  # all of them for K views each, a prefix for --limit
        targets.append(np.resize(precomputed_targets(cfg.teacher, faces), (len(labels), NUM_CLASSES)))
    return targets[0], targets[1]


def _subset(split, limit):
    if limit is None:
        return split.images, split.labels
    return split.images[:limit], split.labels[:limit]


def _build_core(cfg: TrainConfig, sample: np.ndarray | None = None) -> keras.Model:
    builder, _, _ = MODELS[cfg.model]
    if cfg.width and cfg.model not in WIDTH_MODELS:
        raise FerEdgeError(f"--width applies to {', '.join(WIDTH_MODELS)} only, not {cfg.model}")
    if cfg.reparam and cfg.model not in REPARAM_MODELS:
        raise FerEdgeError(f"--reparam applies to {', '.join(REPARAM_MODELS)} only, not {cfg.model}")
    if cfg.model == "resnet50":
        weights_file = None
        if cfg.weights and cfg.weights != "none":
            kind, _, path = cfg.weights.partition(":")
            if kind != "vggface" or not path:
                raise FerEdgeError(f"--weights must be 'vggface:FILE' or 'none', got {cfg.weights!r}")
            weights_file = path
        return builder(weights_file=weights_file)
    if cfg.weights and cfg.weights != "none":
        raise FerEdgeError(f"--weights applies to resnet50 only, not {cfg.model}")
    core = _plain_core(cfg, branched=cfg.reparam)
    if cfg.init:
        _init_from(core, cfg.init, cfg, sample)
    if cfg.freeze_from:
        _freeze_from(core, cfg)
    return core


def _freeze_from(core: keras.Model, cfg: TrainConfig) -> None:
    """The named layer and every one after it frozen: a fine-tune of the early, low-level layers
    only (robustness to light, noise and blur), the decision layers left as --init made them. A
    frozen BatchNormalization also runs in inference mode, so its statistics stay too. (train_model
    has refused --freeze-from without --init, or with --reparam, before the data load.)"""
    names = [layer.name for layer in core.layers]
    if cfg.freeze_from not in names:
        raise FerEdgeError(f"--freeze-from: {core.name} has no layer {cfg.freeze_from!r} "
                           f"(its layers: {', '.join(n for n in names if core.get_layer(n).weights)})")
    for layer in core.layers[names.index(cfg.freeze_from):]:
        layer.trainable = False


def _plain_core(cfg: TrainConfig, branched: bool = False) -> keras.Model:
    """A fresh model of the run's builder and width; `branched`: its RepVGG training form."""
    builder, _, _ = MODELS[cfg.model]
    options = {"width": cfg.width} if cfg.width else {}
    if branched:
        options["branched"] = True
    return builder(**options)


def _init_from(core: keras.Model, path: str, cfg: TrainConfig, sample: np.ndarray | None = None) -> None:
    """Start from a trained model's weights. Plain and branched (--reparam) models start each other:
    a plain model starts a branched one with its extra branches off; a branched one is folded first
    (its BN statistics measured on `sample`, Training faces, so that it trains on from where it was)."""
    start = load_keras_file(path, "model to start from")
    if is_branched(start) and not is_branched(core):
        try:
            start = fuse(start, _plain_core(cfg), sample)
        except ValueError:  # another width or model: a layer missing or of another shape
            raise FerEdgeError(f"{path}: its weights do not fit a {core.name} model") from None
    if is_branched(core) and not is_branched(start):
        plain = _plain_core(cfg)
        _check_fits(start, plain, path)
        init_from_plain(core, start)
        return
    _check_fits(start, core, path)
    core.set_weights(start.get_weights())


def _check_fits(start: keras.Model, core: keras.Model, path: str) -> None:
    if [w.shape for w in start.get_weights()] != [w.shape for w in core.get_weights()]:
        raise FerEdgeError(f"{path}: its weights do not fit a {core.name} model")


def _schedule(cfg: TrainConfig, steps_per_epoch: int) -> keras.optimizers.schedules.LearningRateSchedule:
    """Warm-up, then cosine decay to 1% over the run's --epochs (a function of the optimizer's step
    count, so a resumed run picks it up where it was)."""
    total = max(1, cfg.epochs * steps_per_epoch)
    warmup = min(total // 10, 3 * steps_per_epoch)
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else cfg.learning_rate, decay_steps=total - warmup, alpha=0.01,
        warmup_target=cfg.learning_rate if warmup else None, warmup_steps=warmup)


def _compile(wrapper: keras.Model, cfg: TrainConfig, steps_per_epoch: int) -> None:
    optimizer = keras.optimizers.AdamW(learning_rate=_schedule(cfg, steps_per_epoch), weight_decay=cfg.weight_decay)
    if cfg.teacher:
        loss = DistillationLoss(alpha=cfg.alpha, temperature=cfg.temperature, label_smoothing=cfg.label_smoothing)
    else:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
    wrapper.compile(optimizer=optimizer, loss=loss, weighted_metrics=[LabelAccuracy()])  # weighted: sees the padding mask


def _build_wrapper(cfg: TrainConfig, sample: np.ndarray | None = None) -> keras.Model:
    """The training model: augmentation, the deployable model, and with an online teacher the
    teachers' probabilities beside the student's (the loss splits them again). `sample`: Training
    faces as model input, for folding a branched --init."""
    core = _build_core(cfg, sample)
    inputs = keras.Input(core.inputs[0].shape[1:], name="face")
    x = build_augmenter(tuple(core.inputs[0].shape[1:]), cfg.seed, cfg.aug_strength)(inputs) if cfg.augment else inputs
    outputs = core(x)
    if cfg.teacher and cfg.online_teacher:
        teachers = OnlineTeachers(load_teachers(cfg.teacher), name="teachers")(x)
        outputs = keras.layers.Concatenate(name="student_and_teachers")([outputs, teachers])
    return keras.Model(inputs, outputs, name=f"train_{core.name}")


def _resumed_config(cfg: TrainConfig, saved: dict, explicit: dict[str, str] | None) -> TrainConfig:
    """The run's own settings, but the faces from where --data says they are now and --epochs if
    given (a run may grow). Options given now that differ from the run's are named, not applied:
    changing them mid-run would make a different run. `explicit` None (a caller, not the command
    line): `cfg` as it is states the epochs."""
    if cfg.data != saved["data"]:
        info(f"resuming on {cfg.data} (the run started on {saved['data']})")
    own = {**saved, "teacher": teacher_paths(saved.get("teacher")) or None}
    ignored = [option for k, option in sorted((explicit or {}).items())
               if k not in {"data", "epochs", "out"} and k in own and own[k] != getattr(cfg, k)]
    if ignored:
        warn(f"--resume continues with the run's own settings; ignored: {', '.join(ignored)}")
    epochs = cfg.epochs if explicit is None or "epochs" in explicit else saved["epochs"]
    return TrainConfig(**{**own, "data": cfg.data, "epochs": epochs})


def _regrow(wrapper: keras.Model, run: RunDir, cfg: TrainConfig, saved_epochs: int, state: dict,
            steps_per_epoch: int) -> None:
    """A resumed run given other --epochs: the cosine schedule is rebuilt over the new length (the
    restored one would hold the learning rate at its floor past the old end), a grown run's
    early-stopping count starts again, and the run's config records the new length."""
    if cfg.epochs == saved_epochs:
        return
    wrapper.optimizer.learning_rate = _schedule(cfg, steps_per_epoch)
    if cfg.epochs > saved_epochs:
        state["wait"] = 0
    write_json(run.config, asdict(cfg))
    info(f"{run.root}: {saved_epochs} -> {cfg.epochs} epochs; learning-rate schedule rebuilt over {cfg.epochs}"
         + (", early-stopping count restarted" if cfg.epochs > saved_epochs else ""))


def train_model(cfg: TrainConfig, resume: bool = False, progress: bool = True,
                explicit: dict[str, str] | None = None) -> dict:
    """Train per `cfg` into its run folder. `explicit`: TrainConfig field -> option, for those the
    user gave on the command line, so that --resume can name the ones it does not apply."""
    if cfg.model not in MODELS:
        raise FerEdgeError(f"unknown model {cfg.model!r} (choose from {', '.join(MODELS)})")
    if cfg.online_teacher and not cfg.teacher:  # before the data load, which takes a while
        raise FerEdgeError("--online-teacher needs at least one --teacher")
    if cfg.freeze_from and (not cfg.init or cfg.reparam):  # before the data load too
        raise FerEdgeError("--freeze-from needs --init (the weights it keeps) and no --reparam")
    if cfg.teacher_data and (not cfg.teacher or cfg.online_teacher):
        raise FerEdgeError("--teacher-data needs --teacher, and online teachers see the student's own batch")
    run = RunDir(cfg.out)
    if resume:
        if not run.can_resume():
            raise FerEdgeError(f"{run.root}: nothing to resume (no checkpoint/state.json)")
        saved = check_config(read_json_object(run.config, "run config"), TrainConfig, run.config)
        if saved["model"] != cfg.model:
            raise FerEdgeError(f"{run.root} holds a {saved['model']} run, not {cfg.model}")
        cfg = _resumed_config(cfg, saved, explicit)
        state = check_state(read_json_object(run.state, "checkpoint state"), run.state)  # before the data loads
    elif run.state.is_file():
        raise FerEdgeError(f"{run.root} already holds a training run; pass --resume to continue it or choose another --out")
    else:
        run.check_writable()

    keras.utils.set_random_seed(cfg.seed)
    _, size, channels = MODELS[cfg.model]
    ds = load(cfg.data, progress=progress)
    x_train, y_train = _subset(ds.split("Training"), cfg.limit)
    x_val, y_val = _subset(ds.split(SELECT_SPLIT), cfg.limit)
    # how many of each split's faces the run used: all, or the first --limit (said with the result)
    sizes = {"train_faces": len(y_train), "train_faces_total": len(ds.split("Training").labels),
             "split_faces_total": len(ds.split(SELECT_SPLIT).labels)}
    weights = class_weights(y_train, cfg.class_weight)
    soft = val_soft = None
    if cfg.teacher and not cfg.online_teacher:
        # the teachers' view of the PublicTest faces too, so val_loss is the training loss
        soft, val_soft = _teacher_targets(cfg, x_train, y_train, x_val, y_val, progress)
    val_y = keras.utils.to_categorical(y_val, 7).astype(np.float32)
    if val_soft is not None:
        val_y = np.concatenate([val_y, val_soft], axis=1)
    scope, dist_desc = distribution_scope(cfg.distribute)
    shards = sharded_devices()
    if cfg.batch_size % shards:
        raise FerEdgeError(f"--batch-size {cfg.batch_size} does not split over the {shards} devices; "
                           f"use a multiple of {shards}")
    if shards > 1 and len(x_train) < cfg.batch_size:  # its one batch would be partial
        raise FerEdgeError(f"{len(x_train)} Training faces fill no batch of {cfg.batch_size} over {shards} devices; "
                           "use a smaller --batch-size")
    batches = FerBatches(x_train, y_train, cfg.batch_size, size, channels, weights=weights,
                         seed=cfg.seed, soft_targets=soft, mixup=cfg.mixup, drop_remainder=shards > 1)
    val_data = _validation_data(to_model_input(x_val, size, channels), val_y, cfg.batch_size if shards > 1 else 0)
    val_loss_scale = len(val_data[0]) / len(x_val)  # the padding faces count 0 in the loss but 1 in its mean
    bn_sample = _bn_sample(x_train, size, channels, cfg.seed)  # for folding RepVGG branches (--init, finish)

    with scope:
        if resume:
            wrapper = load_keras_file(run.last, "checkpoint", compile=True)
            check_checkpoint(wrapper, run.last, (size, size, channels))
            compile_augmenter_on_jax(wrapper)
            if cfg.epochs < state["epoch"]:
                raise FerEdgeError(f"{run.root} has run {state['epoch']} epochs already; --epochs must be at least that")
            restore_augment_seed_states(wrapper, state.get("augment_seeds"))
            _regrow(wrapper, run, cfg, saved["epochs"], state, len(batches))
        else:
            wrapper = _build_wrapper(cfg, bn_sample)
            compile_augmenter_on_jax(wrapper)
            _compile(wrapper, cfg, len(batches))
            run.create()  # only once the model builds: a bad teacher or --init leaves no empty run folder
            write_json(run.config, asdict(cfg))
            state = {"epoch": 0, "best_val_accuracy": -1.0, "best_epoch": 0, "wait": 0, "history": {},
                     "wall_s": 0.0}
    core_name = wrapper.name.removeprefix("train_")  # the deployable model nested in the training wrapper
    state["jit_compile"] = bool(wrapper.jit_compile)  # False on JAX means op-by-op, far slower
    state["wall_s_before"] = state.get("wall_s", 0.0)
    batches.set_epoch(state["epoch"])  # a resumed run continues the same shuffling sequence
    started = time.time()
    callbacks = [EpochBook(run, core_name, state, cfg.patience, started, val_loss_scale)]
    if progress:
        from tqdm.keras import TqdmCallback

        callbacks.append(TqdmCallback(verbose=1))
    if state["epoch"] >= cfg.epochs:
        info(f"{run.root}: the run has its {cfg.epochs} epochs; nothing to continue (a larger --epochs grows it)")
    elif state["wait"] >= cfg.patience:
        info(f"{run.root}: the run stopped early at epoch {state['epoch']} ({cfg.patience} epochs without a better "
             "PublicTest accuracy); nothing to continue (a larger --epochs grows it and restarts the count)")
    else:
        try:
            wrapper.fit(batches, validation_data=val_data, validation_batch_size=cfg.batch_size, epochs=cfg.epochs,
                        initial_epoch=state["epoch"], callbacks=callbacks, verbose=0)
        except KeyboardInterrupt:
            # Keep what the interrupted epoch learned; --resume restarts that epoch from these weights.
            # JAX's fit holds the weights outside the model between epoch ends and drops them on an
            # exception, so there the last finished epoch's checkpoint is what --resume continues.
            if keras.backend.backend() != "jax":
                save_keras(wrapper, run.last)
                write_json(run.state, state)
            raise
    return {**finish(run, cfg, state, dist_desc, x_val, y_val, bn_sample), **sizes, "limit": cfg.limit}


def _bn_sample(images: np.ndarray, size: int, channels: int, seed: int, n: int = 1024) -> np.ndarray:
    """Training faces on which a folded model's BN statistics are measured (train/reparam.fuse)."""
    pick = np.random.default_rng(seed).permutation(len(images))[:n]
    return to_model_input(images[np.sort(pick)], size, channels)


def _validation_data(x: np.ndarray, y: np.ndarray, multiple: int) -> tuple:
    """(x, y); or, when `multiple` > 0 does not divide them, padded to a multiple of it with faces of
    weight 0, (x, y, w): every validation batch must split evenly over data-parallel devices, and
    every PublicTest face must still count once (LabelAccuracy counts weight-0 faces out)."""
    if not multiple or len(x) % multiple == 0:
        return x, y
    pad = multiple - len(x) % multiple
    weights = np.concatenate([np.ones(len(x), np.float32), np.zeros(pad, np.float32)])
    return (np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)]),
            np.concatenate([y, np.repeat(y[:1], pad, axis=0)]), weights)


def finish(run: RunDir, cfg: TrainConfig, state: dict, dist_desc: str, x_val, y_val,
           bn_sample: np.ndarray | None = None) -> dict:
    if not run.best.is_file():
        raise FerEdgeError(f"{run.root}: no epoch finished, nothing to save")
    end_distribution()
    best = load_keras_file(run.best, "best model")
    if is_branched(best):  # the shipped form: branches folded into the plain model
        best = fuse(best, _plain_core(cfg), bn_sample)
    probs = predict_keras(best, x_val)
    report = classification_report(y_val, probs)
    final = run.final(cfg.model)
    save_keras(best, final)
    metrics = {
        "model": cfg.model,
        "params": int(best.count_params()),
        "split": SELECT_SPLIT,
        "epochs_run": state["epoch"],
        "best_epoch": state["best_epoch"],
        "wall_s": round(state.get("wall_s", 0.0), 1),
        "backend": keras.backend.backend(),
        "distribution": dist_desc,
        "jit_compile": state.get("jit_compile"),
        **report,
    }
    write_json(run.metrics, metrics)
    plot_confusion(report["confusion"], run.root / "confusion.png",
                   f"{cfg.model} on {SELECT_SPLIT}: accuracy {report['accuracy']:.4f}")
    return {"final": str(final), **metrics}
