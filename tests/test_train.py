"""Training and evaluation on tiny generated data: every model builds, trains, saves and reloads;
an interrupted run resumes; evaluate works on any split, including a PrivateTest-only CSV."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

keras = pytest.importorskip("keras")

from fer_edge.cli import cli  # noqa: E402
from fer_edge.data.cache import load  # noqa: E402
from fer_edge.errors import FerEdgeError  # noqa: E402
from fer_edge.train import trainer as trainer_mod  # noqa: E402
from fer_edge.train.batches import FerBatches  # noqa: E402
from fer_edge.train.models import build_baseline, build_ferfast, build_ferlite  # noqa: E402
from fer_edge.train.predict import predict_keras  # noqa: E402
from fer_edge.train.losses import DistillationLoss  # noqa: E402
from fer_edge.train.teachers import precomputed_targets  # noqa: E402
from fer_edge.train.resnet50 import build_backbone, check_vggface_file, load_h5_by_name  # noqa: E402
from fer_edge.train.trainer import TrainConfig, train_model  # noqa: E402

from conftest import make_rows, write_csv  # noqa: E402


def run_cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def interrupt_after_first_epoch(monkeypatch):
    """Ctrl-C right after the first epoch is booked (checkpoint written); returns what undoes it."""
    original = trainer_mod.EpochBook.on_epoch_end

    def interrupt_after_first(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 0:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer_mod.EpochBook, "on_epoch_end", interrupt_after_first)
    return lambda: monkeypatch.setattr(trainer_mod.EpochBook, "on_epoch_end", original)


@pytest.mark.parametrize("model", ["baseline", "ferlite", "ferfast", "fervgg"])
def test_one_epoch_then_save_load_gives_identical_predictions(fer_tiny_train, tmp_path, model):
    out = tmp_path / model
    res = run_cli("train", "--model", model, "--data", fer_tiny_train, "--epochs", "1", "--batch-size", "32",
                  "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    for name in ("config.json", "history.csv", "curves.png", "metrics.json", "best.keras", f"{model}.keras",
                 "checkpoint/last.keras", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 35 and 0.0 <= metrics["accuracy"] <= 1.0
    images = load(fer_tiny_train).split("PublicTest").images
    m1 = keras.saving.load_model(out / f"{model}.keras")
    p1 = predict_keras(m1, images)
    p2 = predict_keras(keras.saving.load_model(out / f"{model}.keras"), images)
    np.testing.assert_array_equal(p1, p2)
    assert p1.shape == (35, 7)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0, atol=1e-5)
    # the deployable model has no augmentation layers in it
    assert not any("random" in layer.name for layer in m1.layers)


def test_training_learns_the_tiny_task(fer_tiny_train, tmp_path):
    out = tmp_path / "r"
    train_model(TrainConfig(model="baseline", data=str(fer_tiny_train), out=str(out), epochs=5,
                            batch_size=16, augment=False, learning_rate=3e-3), progress=False)
    hist = json.loads((out / "checkpoint" / "state.json").read_text())["history"]
    # classes differ in brightness: training accuracy leaves chance (1/7) far behind
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.5


def test_interrupted_run_resumes_where_it_stopped(fer_tiny_train, tmp_path, monkeypatch):
    out = tmp_path / "run"
    undo = interrupt_after_first_epoch(monkeypatch)
    cfg = TrainConfig(model="baseline", data=str(fer_tiny_train), out=str(out), epochs=3, batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        train_model(cfg, progress=False)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    before = keras.saving.load_model(out / "checkpoint" / "last.keras")
    iterations = int(before.optimizer.iterations.numpy())
    assert iterations == 5  # 140 rows / 32 per batch: the optimizer state travels in the checkpoint
    undo()
    with pytest.raises(FerEdgeError, match="already holds a training run"):
        train_model(cfg, progress=False)
    result = train_model(cfg, resume=True, progress=False)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 3 and result["epochs_run"] == 3
    assert len(state["history"]["loss"]) == 3
    assert len((out / "history.csv").read_text().splitlines()) == 4
    # The augmentation's random streams went on where they stood, not from the start: they end
    # where an uninterrupted run's do.
    whole = tmp_path / "whole"
    train_model(TrainConfig(model="baseline", data=str(fer_tiny_train), out=str(whole), epochs=3, batch_size=32),
                progress=False)
    seeds = json.loads((whole / "checkpoint" / "state.json").read_text())["augment_seeds"]
    assert len(seeds) == 6 and all(counter > 0 for _, counter in seeds)
    assert state["augment_seeds"] == seeds


def test_resume_reads_data_from_where_it_is_now_and_names_the_options_it_ignores(fer_tiny_train, tmp_path):
    out = tmp_path / "run"
    first = tmp_path / "first" / "fer2013.csv"
    first.parent.mkdir()
    first.write_bytes(fer_tiny_train.read_bytes())
    res = run_cli("train", "--model", "ferlite", "--data", first, "--epochs", "1", "--lr", "2e-3", "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    moved = tmp_path / "moved.csv"
    first.rename(moved)  # the data moved since the run started
    res = run_cli("train", "--model", "ferlite", "--data", moved, "--epochs", "3", "--out", out, "--resume", "--quiet",
                  "--lr", "5e-4", "--no-augment", "--seed", "0")  # --seed 0 is the run's own: not named
    assert res.exit_code == 0, res.output
    assert f"resuming on {moved}" in res.output
    assert "ignored: --no-augment, --lr" in res.output and "--seed" not in res.output
    config = json.loads((out / "config.json").read_text())
    assert config["learning_rate"] == 2e-3 and config["augment"] is True
    assert config["epochs"] == 3  # the run grew, and says so
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 3
    # The schedule was rebuilt over 3 epochs: the 1-epoch one ends at its 1% floor (2e-5) after epoch 1.
    assert state["history"]["lr"][1] > 10 * 2e-5
    res = run_cli("train", "--model", "ferlite", "--data", moved, "--out", out, "--resume", "--quiet", "--epochs", "2")
    assert res.exit_code == 1 and "has run 3 epochs already; --epochs must be at least that" in res.output
    res = run_cli("train", "--model", "ferlite", "--data", moved, "--out", out, "--resume", "--quiet")
    assert res.exit_code == 0, res.output  # no --epochs: the run's own 3, not the option's default
    assert "has its 3 epochs; nothing to continue" in res.output
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


def test_resume_without_checkpoint_is_a_clear_error(fer_tiny_train, tmp_path):
    res = run_cli("train", "--model", "baseline", "--data", fer_tiny_train, "--out", tmp_path / "none", "--resume")
    assert res.exit_code == 1 and "nothing to resume" in res.output


def test_distillation_and_one_device_distribution(fer_tiny_train, tmp_path):
    build_baseline().save(tmp_path / "teacher.keras")
    build_ferlite().save(tmp_path / "teacher2.keras")
    teachers = [str(tmp_path / "teacher.keras"), str(tmp_path / "teacher2.keras")]  # an ensemble teacher
    r = train_model(TrainConfig(model="ferlite", data=str(fer_tiny_train), out=str(tmp_path / "student"), epochs=1,
                                batch_size=32, teacher=teachers, distribute=True), progress=False)
    assert r["distribution"].startswith("tf.distribute.MirroredStrategy (1 replicas)")
    student = keras.saving.load_model(tmp_path / "student" / "ferlite.keras")
    # val_loss is the distillation loss itself on the PublicTest faces, with the teachers' targets there
    val = load(fer_tiny_train).split("PublicTest")
    y = np.concatenate([keras.utils.to_categorical(val.labels, 7), precomputed_targets(teachers, val.images)], axis=1)
    want = DistillationLoss(label_smoothing=0.1)(y, student.predict(val.images[..., None].astype("float32"), verbose=0))
    val_loss = float(np.genfromtxt(tmp_path / "student" / "history.csv", delimiter=",", names=True)["val_loss"])
    np.testing.assert_allclose(val_loss, float(want), rtol=2e-3)


def test_teacher_data_gives_the_teachers_the_clean_faces_the_views_were_made_from(fer_tiny_train, tmp_path, monkeypatch):
    from fer_edge.train import field_views

    views = tmp_path / "views.npz"
    assert field_views.main([str(fer_tiny_train), "-o", str(views), "--clean", "0", "--views", "2"]) == 0
    build_ferfast(width=32).save(tmp_path / "t.keras")
    seen = []

    def recording(paths, images):
        seen.append(images.copy())
        return precomputed_targets(paths, images)

    monkeypatch.setattr(trainer_mod, "precomputed_targets", recording)
    soft_seen = []
    real_batches = trainer_mod.FerBatches

    def batches(*args, soft_targets=None, **kwargs):
        soft_seen.append(soft_targets)
        return real_batches(*args, soft_targets=soft_targets, **kwargs)

    monkeypatch.setattr(trainer_mod, "FerBatches", batches)
    cfg = TrainConfig(model="ferfast", width=32, data=str(views), teacher_data=str(fer_tiny_train), out=str(tmp_path / "s"),
                      epochs=1, batch_size=32, teacher=[str(tmp_path / "t.keras")], augment=False)
    train_model(cfg, progress=False)
    clean, degraded = load(fer_tiny_train), load(views)
    np.testing.assert_array_equal(seen[0], clean.split("Training").images)  # the teachers read each clean face once
    assert len(degraded.split("Training").images) == 2 * len(seen[0])  # the student two views of each
    assert not np.array_equal(seen[0], degraded.split("Training").images[:len(seen[0])])
    np.testing.assert_array_equal(seen[1], clean.split("PublicTest").images)
    assert json.loads((tmp_path / "s" / "config.json").read_text())["teacher_data"] == str(fer_tiny_train)
    assert len(soft_seen) == 1 and soft_seen[0].shape == (280, 7)
    np.testing.assert_array_equal(soft_seen[0][:140], soft_seen[0][140:])  # one face's targets for both its views


def test_teacher_data_of_other_faces_or_without_a_teacher_is_a_clear_error(fer_tiny_train, tmp_path):
    other = write_csv(tmp_path / "other.csv", make_rows({"Training": 120, "PublicTest": 35}, seed=7))
    build_ferfast(width=32).save(tmp_path / "t.keras")
    res = run_cli("train", "--model", "ferfast", "--width", 32, "--data", fer_tiny_train, "--out", tmp_path / "x",
                  "--teacher", tmp_path / "t.keras", "--teacher-data", other, "--quiet")
    assert res.exit_code == 1
    assert "its Training faces are not --data's (120 against 140, or their labels differ)" in res.output
    assert not (tmp_path / "x").exists()
    res = run_cli("train", "--model", "ferfast", "--data", fer_tiny_train, "--out", tmp_path / "y", "--teacher-data", other)
    assert res.exit_code == 1 and "--teacher-data needs --teacher" in res.output


def test_freeze_from_trains_only_the_layers_before_it(fer_tiny_train, tmp_path):
    init = build_ferfast(width=32)
    init.save(tmp_path / "init.keras")
    cfg = TrainConfig(model="ferfast", width=32, data=str(fer_tiny_train), out=str(tmp_path / "f"), epochs=1,
                      batch_size=32, init=str(tmp_path / "init.keras"), freeze_from="conv4_conv", learning_rate=3e-3)
    train_model(cfg, progress=False)
    tuned = keras.saving.load_model(tmp_path / "f" / "ferfast.keras")
    names = [layer.name for layer in tuned.layers]
    for layer in tuned.layers:
        before = init.get_layer(layer.name).get_weights()
        if not before:
            continue
        same = all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), before))
        assert same == (names.index(layer.name) >= names.index("conv4_conv")), layer.name  # BN statistics included


def test_freeze_from_an_unknown_layer_or_without_init_is_a_clear_error(fer_tiny_train, tmp_path):
    build_ferfast(width=32).save(tmp_path / "init.keras")
    res = run_cli("train", "--model", "ferfast", "--width", 32, "--data", fer_tiny_train, "--out", tmp_path / "x",
                  "--init", tmp_path / "init.keras", "--freeze-from", "conv9", "--quiet")
    assert res.exit_code == 1 and "ferfast has no layer 'conv9' (its layers: conv1_conv, conv1_bn," in res.output
    assert not (tmp_path / "x").exists()
    res = run_cli("train", "--model", "ferfast", "--data", fer_tiny_train, "--out", tmp_path / "y", "--freeze-from", "fc")
    assert res.exit_code == 1 and "--freeze-from needs --init" in res.output


def test_online_teachers_see_the_augmented_batch_stay_frozen_and_resume(fer_tiny_train, tmp_path, monkeypatch):
    teacher = build_ferfast(width=32)
    teacher.save(tmp_path / "t.keras")
    frozen = [w.copy() for w in teacher.get_weights()]
    out = tmp_path / "online"
    undo = interrupt_after_first_epoch(monkeypatch)
    cfg = TrainConfig(model="ferfast", width=32, data=str(fer_tiny_train), out=str(out), epochs=2, batch_size=32,
                      teacher=[str(tmp_path / "t.keras")], online_teacher=True, alpha=0.9, learning_rate=3e-3)
    with pytest.raises(KeyboardInterrupt):
        train_model(cfg, progress=False)
    undo()
    (tmp_path / "t.keras").unlink()  # the checkpoint carries its teachers
    r = train_model(cfg, resume=True, progress=False)
    assert r["epochs_run"] == 2
    wrapper = keras.saving.load_model(out / "checkpoint" / "last.keras")
    assert wrapper.output.shape[-1] == 14  # student and teacher side by side
    for got, want in zip(wrapper.get_layer("teachers").teachers[0].get_weights(), frozen):
        np.testing.assert_array_equal(got, want)  # BN statistics included: inference mode
    student = keras.saving.load_model(out / "ferfast.keras")
    assert student.output.shape[-1] == 7 and student.name == "ferfast"
    assert not np.allclose(student.get_weights()[0], frozen[0])  # the student did learn
    images = load(fer_tiny_train).split("Training").images[:8]
    x = images[..., None].astype("float32")
    np.testing.assert_allclose(wrapper.get_layer("teachers")(x), teacher.predict(x, verbose=0), atol=1e-5)


def test_online_teacher_without_a_teacher_is_a_clear_error(fer_tiny_train, tmp_path):
    res = run_cli("train", "--model", "ferfast", "--data", fer_tiny_train, "--out", tmp_path / "x", "--online-teacher")
    assert res.exit_code == 1 and "needs at least one --teacher" in res.output


def test_online_teacher_of_another_input_shape_is_a_clear_error(fer_tiny_train, tmp_path):
    inputs = keras.Input((48, 48, 3))
    keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(inputs))).save(tmp_path / "rgb.keras")
    res = run_cli("train", "--model", "ferfast", "--data", fer_tiny_train, "--out", tmp_path / "x", "--online-teacher",
                  "--teacher", tmp_path / "rgb.keras", "--quiet")
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].endswith("takes (48, 48, 3) input, the student (48, 48, 1)")
    assert not (tmp_path / "x").exists()  # nothing half-made to trip a rerun


def test_distillation_loss_takes_the_teacher_from_either_side():
    from fer_edge.train.losses import DistillationLoss, LabelAccuracy

    rng = np.random.default_rng(0)
    labels = keras.utils.to_categorical(rng.integers(0, 7, 5), 7).astype("float32")
    student, teacher = rng.dirichlet(np.ones(7), 5).astype("float32"), rng.dirichlet(np.ones(7), 5).astype("float32")
    loss = DistillationLoss(alpha=0.7)
    precomputed = loss(np.concatenate([labels, teacher], 1), student)
    online = loss(labels, np.concatenate([student, teacher], 1))
    np.testing.assert_allclose(float(precomputed), float(online), rtol=1e-6)
    assert float(loss(labels, np.concatenate([student, student], 1))) < float(online)  # KL 0 when they agree
    acc = LabelAccuracy()
    acc.update_state(labels, np.concatenate([labels, 1 - labels], 1))
    assert float(acc.result()) == 1.0


def test_mixup_blends_faces_labels_teacher_columns_and_weights_in_one_proportion():
    n = 32
    faces = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None] * 7, 48 * 48).reshape(n, 48, 48)
    labels = np.arange(n) % 7
    soft = np.random.default_rng(0).dirichlet(np.ones(7), n).astype(np.float32)
    weights = np.linspace(0.5, 2.0, 7).astype(np.float32)
    plain = FerBatches(faces, labels, n, 48, 1, weights=weights, soft_targets=soft, shuffle=False)
    mixed = FerBatches(faces, labels, n, 48, 1, weights=weights, soft_targets=soft, shuffle=False, mixup=0.4)
    x0, y0, w0 = plain[0]
    x, y, w = mixed[0]
    assert x.shape == x0.shape and y.shape == y0.shape == (n, 14)
    # every face is flat, so each mixed face is one value: lam * own + (1 - lam) * partner's
    value = x[:, 0, 0, 0]
    assert np.allclose(x, value[:, None, None, None])
    lam_seen = []
    for j in range(n):
        own = x0[j, 0, 0, 0]
        # find the partner whose blend in this face's proportion gives its labels and teacher columns
        for k in range(n):
            other = x0[k, 0, 0, 0]
            if own == other:
                continue
            lam = (value[j] - other) / (own - other)
            if -1e-4 <= lam <= 1 + 1e-4 and np.allclose(y[j], lam * y0[j] + (1 - lam) * y0[k], atol=1e-5):
                assert np.isclose(w[j], lam * w0[j] + (1 - lam) * w0[k], atol=1e-5)
                lam_seen.append(lam)
                break
        else:
            assert np.allclose(y[j], y0[j]) and np.isclose(value[j], own)  # paired with itself
            lam_seen.append(1.0)
    assert np.allclose(y[:, :7].sum(1), 1) and np.allclose(y[:, 7:].sum(1), 1, atol=1e-5)
    assert 0.1 < np.mean([min(v, 1 - v) for v in lam_seen])  # really blended, not a few stray pixels
    again = mixed[0]
    np.testing.assert_array_equal(again[0], x)  # reproducible per seed, epoch and batch
    mixed.on_epoch_end()
    assert not np.allclose(mixed[0][0], x)  # a new blend every epoch


def test_several_teachers_distil_as_their_mean(tmp_path):
    a, b = build_baseline(), build_ferfast()
    a.save(tmp_path / "a.keras")
    b.save(tmp_path / "b.keras")
    images = np.random.default_rng(3).integers(0, 256, (9, 48, 48), dtype=np.uint8)
    got = precomputed_targets([str(tmp_path / "a.keras"), str(tmp_path / "b.keras")], images)
    expected = (predict_keras(a, images, tta_flip=True) + predict_keras(b, images, tta_flip=True)) / 2
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, predict_keras(a, images, tta_flip=True), atol=1e-3)


def test_teacher_predictions_are_cached_by_file_and_faces(tmp_path, monkeypatch):
    import fer_edge.train.teachers as teachers

    monkeypatch.setenv("FER_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "teachers"
    teacher = str(tmp_path / "a.keras")
    build_baseline().save(teacher)
    images = np.random.default_rng(4).integers(0, 256, (9, 48, 48), dtype=np.uint8)
    first = precomputed_targets([teacher], images)
    assert len(list(cached.glob("*.npy"))) == 1

    loader = teachers.load_keras_file
    monkeypatch.setattr(teachers, "load_keras_file", lambda *a, **k: pytest.fail("loaded a cached teacher"))
    np.testing.assert_array_equal(precomputed_targets([teacher], images), first)

    monkeypatch.setattr(teachers, "load_keras_file", loader)
    np.testing.assert_allclose(precomputed_targets([teacher], images[::-1].copy()), first[::-1], atol=1e-5)
    assert len(list(cached.glob("*.npy"))) == 2  # other faces: predicted again
    keras.utils.set_random_seed(9)
    build_baseline().save(teacher)  # the same path, retrained
    assert not np.allclose(precomputed_targets([teacher], images), first, atol=1e-4)
    assert len(list(cached.glob("*.npy"))) == 3


def test_evaluate_on_a_privatetest_only_csv(fer_tiny_train, tmp_path):
    model = build_baseline()
    model.save(tmp_path / "m.keras")
    csv_path = write_csv(tmp_path / "private.csv", make_rows({"PrivateTest": 21}, seed=5))
    res = run_cli("evaluate", tmp_path / "m.keras", "--data", csv_path, "--split", "PrivateTest", "--json",
                  "--plot", tmp_path / "cm.png")
    assert res.exit_code == 0, res.output
    report = json.loads(res.output.strip().splitlines()[-1])
    assert report["split"] == "PrivateTest" and report["n"] == 21
    assert set(report["per_class"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
    assert 0.0 <= report["accuracy"] <= 1.0 and 0.0 <= report["macro_f1"] <= 1.0
    assert (tmp_path / "cm.png").stat().st_size > 1000
    table = run_cli("evaluate", tmp_path / "m.keras", tmp_path / "m.keras", "--data", csv_path, "--split",
                    "PrivateTest", "--tta", "flip").output
    assert "ensemble(" in table and "macro-F1" in table
    res = run_cli("evaluate", tmp_path / "m.keras", "--data", csv_path, "--split", "PublicTest")
    assert res.exit_code == 1 and "no PublicTest rows" in res.output


def test_evaluate_rejects_non_models(tmp_path, fer_tiny_train):
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    res = run_cli("evaluate", bad, "--data", fer_tiny_train)
    assert res.exit_code == 1 and "not a Keras model file (a .keras file is a zip archive" in res.output
    other_zip = tmp_path / "other.keras"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("readme.txt", "a zip, but no Keras model in it")
    res = run_cli("evaluate", other_zip, "--data", fer_tiny_train)
    assert res.exit_code == 1 and "not a loadable Keras model" in res.output
    res = run_cli("evaluate", tmp_path / "model.onnx", "--data", fer_tiny_train)
    assert res.exit_code == 1 and "no such model file" in res.output


def test_host_commands_keep_tensorflow_start_up_lines_off_the_terminal(fer_tiny_train, tmp_path):
    # TensorFlow's C++ start-up lines (absl banner, oneDNN/CUDA INFO, a cuInit "E0000" line without a
    # GPU) go straight to fd 2, so only a fresh process shows whether they reach the user.
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    env.pop("FER_EDGE_NATIVE_LOGS", None)
    out = tmp_path / "run"
    for args in (["train", "--model", "ferlite", "--data", fer_tiny_train, "--epochs", "1", "--out", out, "--quiet"],
                 ["evaluate", out / "ferlite.keras", "--data", fer_tiny_train, "--json"]):
        proc = subprocess.run([sys.executable, "-m", "fer_edge", *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "InitializeLog" not in proc.stderr and not re.search(r"^[IWE]0000 ", proc.stderr, re.M), proc.stderr[-2000:]
    assert json.loads(proc.stdout)["n"] == 35


@pytest.mark.parametrize("case", ["out is a file", "out under a file", "init is tflite", "teacher not keras", "plot nowhere",
                                  "plot without a suffix"])
def test_bad_paths_are_one_line_errors_before_any_work(fer_tiny_train, tmp_path, case):
    afile = tmp_path / "afile"
    afile.write_text("x")
    junk = tmp_path / "junk.keras"
    junk.write_text("not a zip")
    tflite = tmp_path / "m.tflite"
    tflite.write_bytes(b"TFL3")
    train = ["train", "--model", "ferlite", "--data", fer_tiny_train, "--epochs", "1", "--quiet"]
    args, message = {
        "out is a file": (train + ["--out", afile], "exists and is not a folder"),
        "out under a file": (train + ["--out", afile / "run"], f"({afile} is a file)"),
        "init is tflite": (train + ["--out", tmp_path / "r", "--init", tflite], "not a Keras model file"),
        "teacher not keras": (train + ["--out", tmp_path / "r", "--teacher", junk], "not a Keras model file"),
        "plot nowhere": (["evaluate", junk, "--data", fer_tiny_train, "--plot", tmp_path / "no" / "cm.png"],
                         "does not exist"),
        "plot without a suffix": (["evaluate", junk, "--data", fer_tiny_train, "--plot", tmp_path / "cm"],
                                  "give a .png, .pdf, .svg or .jpg file name"),
    }[case]
    res = run_cli(*args)
    assert res.exit_code == 1 and res.output.startswith("error: ") and res.output.count("\n") == 1, res.output
    assert message in res.output
    assert not (tmp_path / "r").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["afile", "junk.keras", "m.tflite"]


def test_resnet50_builds_trains_a_step_saves_and_reloads(tmp_path):
    rows = make_rows({"Training": 14, "PublicTest": 7}, seed=2)
    data = write_csv(tmp_path / "r.csv", rows)
    r = train_model(TrainConfig(model="resnet50", data=str(data), out=str(tmp_path / "r50"), epochs=1,
                                batch_size=14, weights="none"), progress=False)
    model = keras.saving.load_model(r["final"])
    assert tuple(model.inputs[0].shape[1:]) == (197, 197, 3)
    assert model.outputs[0].shape[-1] == 7
    with pytest.raises(FerEdgeError, match="vggface:FILE"):
        train_model(TrainConfig(model="resnet50", data=str(data), out=str(tmp_path / "x"), weights="imagenet"), progress=False)


def test_vggface_weights_are_checked_and_load_by_layer_name(tmp_path):
    fake = tmp_path / "rcmalli_vggface_tf_notop_resnet50.h5"
    fake.write_bytes(b"\0" * 1000)
    with pytest.raises(FerEdgeError, match="1000 bytes"):
        check_vggface_file(fake)
    with pytest.raises(FerEdgeError, match="no such VGG-Face weights file"):
        check_vggface_file(tmp_path / "missing.h5")
    # A Keras-2 style weights file (layer_names / weight_names attributes) loads by name.
    src = build_backbone(64)
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        # Keras 2 kept VGG-Face's '/' in layer names; Keras 3 layers carry '__' instead
        names = [layer.name.replace("__", "/") for layer in src.layers if layer.weights]
        f.attrs["layer_names"] = [n.encode() for n in names]
        for layer in src.layers:
            if not layer.weights:
                continue
            h5_name = layer.name.replace("__", "/")
            g = f.require_group(h5_name)
            wnames = [f"{h5_name}/{w.name}:0".encode() for w in layer.weights]
            g.attrs["weight_names"] = wnames
            for wn, w in zip(wnames, layer.weights):
                g.create_dataset(wn.decode(), data=np.asarray(w.numpy()) + 0.5)  # nested, as Keras 2 wrote it
    dst = build_backbone(64)
    assert load_h5_by_name(dst, path) == len(names)
    np.testing.assert_allclose(dst.get_layer("conv5_3_1x1_increase").get_weights()[0],
                               src.get_layer("conv5_3_1x1_increase").get_weights()[0] + 0.5)


@pytest.mark.parametrize("build", [build_ferlite, build_ferfast])
def test_edge_models_are_small(build):
    assert build().count_params() <= 1_500_000


def test_ferfast_needs_no_more_multiplies_than_baseline_plus_a_third():
    # its latency budget is the baseline's: plain convolutions, about the same arithmetic
    from fer_edge.train.complexity import count_macs

    assert count_macs(build_ferfast()) <= 1.4 * count_macs(build_baseline())


def test_init_starts_from_a_saved_model_and_refuses_another_architecture(fer_tiny_train, tmp_path):
    start = build_baseline()
    start.save(tmp_path / "start.keras")
    r = train_model(TrainConfig(model="baseline", data=str(fer_tiny_train), out=str(tmp_path / "ft"), epochs=1,
                                batch_size=32, augment=False, learning_rate=1e-12, init=str(tmp_path / "start.keras")),
                    progress=False)
    tuned = keras.saving.load_model(r["final"])
    np.testing.assert_allclose(tuned.get_layer("block2_conv").get_weights()[0],
                               start.get_layer("block2_conv").get_weights()[0], atol=1e-6)
    with pytest.raises(FerEdgeError, match="do not fit a ferlite model"):
        train_model(TrainConfig(model="ferlite", data=str(fer_tiny_train), out=str(tmp_path / "x"), epochs=1,
                                init=str(tmp_path / "start.keras")), progress=False)


def test_the_cli_offers_every_model_the_trainer_builds():
    from fer_edge.train.commands import MODEL_NAMES
    from fer_edge.train.models import MODELS

    assert set(MODEL_NAMES) == set(MODELS)


def test_width_sets_ferfast_6x6_convolutions(fer_tiny_train, tmp_path):
    from fer_edge.train.complexity import count_macs

    narrow = build_ferfast(width=112)
    assert narrow.get_layer("conv5_conv").filters == 112 and count_macs(narrow) < count_macs(build_ferfast())
    r = train_model(TrainConfig(model="ferfast", data=str(fer_tiny_train), out=str(tmp_path / "w"), epochs=1,
                                batch_size=32, width=112), progress=False)
    assert r["params"] == narrow.count_params()


def test_fervgg_teacher_width_sets_its_stages():
    from fer_edge.train.models import build_fervgg

    m = build_fervgg(width=16)
    assert [m.get_layer(f"stage{i}b_conv").filters for i in (1, 2, 3, 4)] == [16, 32, 64, 128]
    assert m.output.shape[-1] == 7 and m.count_params() < build_fervgg().count_params()


def test_width_for_a_fixed_model_is_a_clear_error(fer_tiny_train, tmp_path):
    res = run_cli("train", "--model", "baseline", "--width", "64", "--data", fer_tiny_train, "--out", tmp_path / "b")
    assert res.exit_code == 1 and "--width applies to ferlite, ferfast, fervgg only, not baseline" in res.output


def test_training_on_jax_compiles_the_step_augmentation_and_online_teacher_included(fer_tiny_train, tmp_path):
    # The backend is fixed when Keras is imported, so JAX runs in a child process. Keras marks its
    # geometric augmentation layers as not compilable; uncompiled, JAX trains op by op (~2 s a batch
    # on a GPU), so the run must record a compiled step, and its model must load here on TensorFlow.
    # A teacher saved here on TensorFlow runs online inside the JAX training step.
    pytest.importorskip("jax")
    build_ferfast(width=32).save(tmp_path / "teacher.keras")
    import os
    import subprocess
    import sys

    out = tmp_path / "jax_run"
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "train", "--model", "ferfast", "--data", str(fer_tiny_train),
                           "--epochs", "1", "--batch-size", "32", "--out", str(out), "--quiet",
                           "--teacher", str(tmp_path / "teacher.keras"), "--online-teacher"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["backend"] == "jax" and metrics["jit_compile"] is True
    images = load(fer_tiny_train).split("PublicTest").images
    probs = predict_keras(keras.saving.load_model(out / "ferfast.keras"), images)
    assert probs.shape == (35, 7) and np.isfinite(probs).all()


def test_distribute_on_jax_over_two_devices_with_uneven_splits(tmp_path):
    """Keras' DataParallel on JAX needs every batch to split evenly over the devices: 141 Training and
    35 PublicTest faces at batch 16 do not, yet every PublicTest face must count once."""
    pytest.importorskip("jax")
    data = write_csv(tmp_path / "t.csv", make_rows({"Training": 141, "PublicTest": 35}, seed=1))
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "CUDA_VISIBLE_DEVICES": "", "JAX_PLATFORMS": "cpu"}
    common = [sys.executable, "-m", "fer_edge", "train", "--model", "ferlite", "--width", "8", "--data", str(data),
              "--epochs", "1", "--distribute", "--quiet"]
    bad = subprocess.run([*common, "--batch-size", "15", "--out", str(tmp_path / "bad")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1] == (
        "error: --batch-size 15 does not split over the 2 devices; use a multiple of 2")
    proc = subprocess.run([*common, "--batch-size", "16", "--out", str(tmp_path / "run")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["distribution"] == "keras.distribution.DataParallel (2 devices)" and metrics["n"] == 35
    history = np.genfromtxt(tmp_path / "run" / "history.csv", delimiter=",", names=True)
    correct = float(history["val_accuracy"]) * 35  # over the 35 faces, not the 48 of the padded batches
    assert abs(correct - round(correct)) < 1e-3 and float(history["val_accuracy"]) == pytest.approx(metrics["accuracy"])
    # and the loss is their mean too: the model's cross-entropy on the 35 PublicTest faces
    val = load(data).split("PublicTest")
    probs = keras.saving.load_model(tmp_path / "run" / "ferlite.keras").predict(val.images[..., None].astype("float32"),
                                                                               verbose=0)
    want = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(keras.utils.to_categorical(val.labels, 7), probs)
    assert float(history["val_loss"]) == pytest.approx(float(want), rel=2e-3)


def test_photometric_augmentation_lowers_and_raises_contrast_and_brightness():
    """The README's ranges, both ways: contrast x0.8-1.2 and brightness +-15% of 255 (Keras reads a
    single contrast factor as 0..factor, which trained on raised contrast only)."""
    from fer_edge.train.augment import build_augmenter

    aug = build_augmenter((2, 2, 1), seed=0)
    faces = np.tile(np.array([[100.0, 140.0], [140.0, 100.0]], np.float32)[None, :, :, None], (2000, 1, 1, 1))
    contrast = np.asarray(aug.get_layer(index=5)(faces, training=True))
    factor = (contrast[:, 0, 1, 0] - contrast[:, 0, 0, 0]) / 40.0
    assert factor.min() < 0.82 and factor.max() > 1.18 and 0.79 < factor.min() and factor.max() < 1.21
    brightness = np.asarray(aug.get_layer(index=4)(faces, training=True))[:, 0, 0, 0] - 100.0
    assert brightness.min() < -34 and brightness.max() > 34 and np.abs(brightness).max() <= 38.26
    assert np.array_equal(np.asarray(aug(faces[:4], training=False)), faces[:4])  # inert outside training


def test_macro_f1_counts_a_class_the_split_lacks_but_the_model_predicts():
    from fer_edge.metrics import classification_report

    labels = np.array([0, 0, 3, 3, 5, 5])  # no disgust (1) in this split
    preds = np.array([0, 1, 3, 3, 3, 5])  # one face called disgust
    report = classification_report(labels, np.eye(7)[preds])
    # per class f1: angry 2/3, disgust 0 (predicted, absent), happy 0.8, surprise 2/3; others neither
    assert report["macro_f1"] == pytest.approx((2 / 3 + 0 + 0.8 + 2 / 3) / 4)


def _randomise_batch_norms(model, seed=0):
    """Trained-looking BN statistics, so that folding them is exercised (fresh ones are 0 and 1)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.gamma.shape
            layer.set_weights([rng.normal(1, 0.3, shape), rng.normal(0, 0.3, shape), rng.normal(0, 0.3, shape),
                               rng.uniform(0.5, 2.0, shape)])


def test_repvgg_branches_fold_into_the_plain_ferfast_with_the_same_outputs():
    from fer_edge.train.reparam import fuse, init_from_plain, is_branched

    branched = build_ferfast(branched=True)
    assert is_branched(branched) and branched.get_layer("conv5_id_bn")  # 128 -> 128: identity branch too
    assert "conv4_id_bn" not in {layer.name for layer in branched.layers}  # 64 -> 128: no identity
    _randomise_batch_norms(branched)
    faces = np.random.default_rng(1).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    plain = fuse(branched, build_ferfast())
    assert not is_branched(plain) and plain.count_params() == build_ferfast().count_params()
    np.testing.assert_allclose(predict_keras(plain, faces), predict_keras(branched, faces), atol=1e-5)
    # folded with faces, BN holds their statistics: training mode (batch statistics, as when a fine-tune
    # starts from the folded model) then gives what inference gives; folded without, it does not
    features = lambda m, training: keras.Model(m.inputs[0], m.get_layer("conv5_relu").output)(faces, training=training)
    measured = fuse(branched, build_ferfast(), faces)
    np.testing.assert_allclose(predict_keras(measured, faces), predict_keras(branched, faces), atol=1e-5)
    np.testing.assert_allclose(np.asarray(features(measured, True)), np.asarray(features(measured, False)), atol=1e-3)
    assert not np.allclose(np.asarray(features(plain, True)), np.asarray(features(plain, False)), atol=1e-2)
    # the other way: a trained plain model starts a branched one with the same outputs
    restarted = build_ferfast(branched=True)
    init_from_plain(restarted, plain)
    np.testing.assert_allclose(predict_keras(restarted, faces), predict_keras(plain, faces), atol=1e-5)


def test_reparam_trains_branches_and_saves_the_folded_plain_model(fer_tiny_train, tmp_path):
    from fer_edge.train.reparam import is_branched

    res = run_cli("train", "--model", "ferfast", "--reparam", "--data", fer_tiny_train, "--epochs", "1",
                  "--batch-size", "32", "--out", tmp_path / "rep", "--quiet")
    assert res.exit_code == 0, res.output
    best = keras.saving.load_model(tmp_path / "rep" / "best.keras")
    final = keras.saving.load_model(tmp_path / "rep" / "ferfast.keras")
    assert is_branched(best) and not is_branched(final)
    assert [w.shape for w in final.get_weights()] == [w.shape for w in build_ferfast().get_weights()]
    images = load(fer_tiny_train).split("PublicTest").images
    np.testing.assert_allclose(predict_keras(final, images), predict_keras(best, images), atol=1e-5)
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert metrics["params"] == build_ferfast().count_params()
    # a branched run starts a plain fine-tune (folded first) and a branched one (as it is); the
    # learning rate ~0 keeps the kernels (BN statistics still move, so outputs are not compared)
    for reparam, source, layer in ((False, final, "conv5_conv"), (True, best, "conv5_1x1")):
        out = tmp_path / f"ft_{reparam}"
        train_model(TrainConfig(model="ferfast", data=str(fer_tiny_train), out=str(out), epochs=1, batch_size=32,
                                augment=False, learning_rate=1e-12, reparam=reparam,
                                init=str(tmp_path / "rep" / "best.keras")), progress=False)
        tuned = keras.saving.load_model(out / "best.keras")
        assert is_branched(tuned) == reparam
        np.testing.assert_allclose(tuned.get_layer(layer).get_weights()[0], source.get_layer(layer).get_weights()[0],
                                   atol=1e-6)


    for model, width in (("ferfast", 112), ("baseline", None)):  # a branched start of another layout
        with pytest.raises(FerEdgeError, match="do not fit a"):
            train_model(TrainConfig(model=model, data=str(fer_tiny_train), out=str(tmp_path / f"no_{model}"), epochs=1,
                                    width=width, init=str(tmp_path / "rep" / "best.keras")), progress=False)


def test_reparam_for_a_model_without_branches_is_a_clear_error(fer_tiny_train, tmp_path):
    res = run_cli("train", "--model", "baseline", "--reparam", "--data", fer_tiny_train, "--out", tmp_path / "b")
    assert res.exit_code == 1 and "--reparam applies to ferfast only, not baseline" in res.output


def test_a_quick_try_says_what_it_is_for_and_on_how_many_faces(fer_tiny_train, tmp_path):
    """`train --limit 2000 --epochs 2` printed "PublicTest accuracy 0.1570" without saying it was 2,000 of
    3,589 faces; `evaluate` and `convert` ("target MISSED") then looked broken."""
    out = tmp_path / "try"
    res = run_cli("train", "--model", "baseline", "--data", fer_tiny_train, "--limit", 20, "--epochs", 1,
                  "--batch-size", 16, "--out", out, "--quiet")
    assert res.exit_code == 0, res.output
    assert "PublicTest accuracy" in res.output and "on the first 20 of the 35 PublicTest faces" in res.output
    assert "a quick try: trained on 20 of the 140 Training faces for 1 epoch. It shows that the data" in res.output
    model = out / "baseline.keras"
    res = run_cli("evaluate", model, "--data", fer_tiny_train)
    assert res.exit_code == 0 and f"note: {model} is a quick try (--limit 20" in res.output, res.output
    res = run_cli("convert", model, "--int8", "--data", fer_tiny_train, "--samples", 70, "-o", tmp_path / "m.tflite",
                  "--latency-runs", 1)
    assert res.exit_code == 0, res.output
    assert "MISSED" not in res.output or "the targets are for fully trained models" in res.output
    assert f"note: {model} is a quick try" in res.output
    full = run_cli("evaluate", model, "--data", fer_tiny_train)
    (out / "config.json").unlink()  # a model from a full run (or moved away from its run folder): no note
    assert "quick try" not in run_cli("evaluate", model, "--data", fer_tiny_train).output and "quick try" in full.output
