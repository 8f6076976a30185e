"""Host-side inputs a hostile or careless user may give (issue 22): `convert` where Keras is not
installed, and `train --resume` on a damaged run folder. One `error:` line each, never a traceback."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from edge_fixtures import run_python

from cli_checks import assert_one_error
from fer_edge.cli import cli

REPO = Path(__file__).resolve().parents[1]

CONVERT_WITHOUT_KERAS = """
import sys
sys.modules["tensorflow"] = None  # as in the device-only install: `import keras` fails
sys.modules["keras"] = None
from fer_edge.cli import main
sys.argv = ["fer-edge", "convert", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("args", [["models/ferlite.keras"], ["models/ferlite.keras", "--int8", "--data", "x.csv"]])
def test_convert_in_the_device_only_install_says_what_to_install(args):
    proc = run_python(CONVERT_WITHOUT_KERAS.replace("sys.argv[1:]", repr(args)))
    line = assert_one_error(proc.returncode, proc.stderr, proc.stdout)
    assert "needs Keras and TensorFlow" in line and f'install -e "{REPO}[train]"' in line  # this checkout's


def train(*args):
    r = CliRunner().invoke(cli, ["train", *map(str, args)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, fer_tiny_train):
    """A run folder as `train` leaves it after one epoch, but with a stand-in checkpoint: the config
    and state checks come before the checkpoint is read."""
    from fer_edge.train.trainer import TrainConfig

    root = tmp_path_factory.mktemp("run") / "r"
    (root / "checkpoint").mkdir(parents=True)
    cfg = TrainConfig(model="baseline", data=str(fer_tiny_train), out=str(root), epochs=2, batch_size=16, limit=32)
    (root / "config.json").write_text(json.dumps(asdict(cfg)))
    state = {"epoch": 1, "best_val_accuracy": 0.3, "best_epoch": 1, "wait": 0, "wall_s": 3.0,
             "history": {"loss": [1.9], "accuracy": [0.2]}, "augment_seeds": [[1, 2]]}
    (root / "checkpoint" / "state.json").write_text(json.dumps(state))
    shutil.copy(REPO / "models" / "ferlite.keras", root / "checkpoint" / "last.keras")
    return root


def damaged(run_folder, tmp_path, name, change):
    root = tmp_path / "r"
    shutil.copytree(run_folder, root)
    path = root / name
    if callable(change):
        text = change(json.loads(path.read_text()))
        path.write_text(text if isinstance(text, str) else json.dumps(text))
    else:
        path.write_bytes(change)
    return root


def _set(**values):
    return lambda d: {**d, **values}


def _drop(key):
    return lambda d: {k: v for k, v in d.items() if k != key}


DAMAGE = {
    "config cut short": ("config.json", lambda d: json.dumps(d)[:40], "damaged run config"),
    "config a list": ("config.json", lambda d: [d], "not a JSON object"),
    "config without model": ("config.json", _drop("model"), "model missing"),
    "config with an unknown field": ("config.json", _set(colour="blue"), "unknown field 'colour'"),
    "config epochs as text": ("config.json", _set(epochs="ten"), "epochs 'ten' is not int"),
    "config batch size 0": ("config.json", _set(batch_size=0), "batch_size 0 is below 1"),
    "config teacher a number": ("config.json", _set(teacher=5), "teacher 5"),
    "config nested past Python's limit": ("config.json", lambda d: "[" * 100_000, "damaged run config"),
    "config seed past numpy's range": ("config.json", _set(seed=2 ** 70), "seed 1180591620717411303424"),
    "config unknown class weighting": ("config.json", _set(class_weight="bogus"), "class_weight 'bogus'"),
    "config learning rate -1": ("config.json", _set(learning_rate=-1), "learning_rate -1 is not above 0"),
    "state cut short": ("checkpoint/state.json", lambda d: json.dumps(d)[:30], "damaged checkpoint state"),
    "state empty object": ("checkpoint/state.json", lambda d: {}, "epoch None is not a count"),
    "state epoch -1": ("checkpoint/state.json", _set(epoch=-1), "epoch -1 is not a count"),
    "state history with text": ("checkpoint/state.json", _set(history={"loss": [1.0, "x"]}), "history is not lists"),
    "state history uneven": ("checkpoint/state.json", _set(history={"loss": [1.0, 0.9], "accuracy": [0.1]}),
                             "differ in length"),
    "state seeds negative": ("checkpoint/state.json", _set(augment_seeds=[[-1, 2]]), "augment_seeds"),
}


@pytest.mark.parametrize("case", DAMAGE)
def test_resume_of_a_run_folder_with_a_damaged_config_or_state_is_one_error(run_folder, tmp_path, fer_tiny_train, case):
    name, change, says = DAMAGE[case]
    root = damaged(run_folder, tmp_path, name, change)
    r = train("--model", "baseline", "--data", fer_tiny_train, "--out", root, "--resume", "--quiet")
    line = assert_one_error(r.exit_code, r.stderr, r.stdout)
    assert says in line and name.split("/")[-1] in line


@pytest.mark.parametrize("args", [["data", "sample", "x.csv", "--seed", "-1", "-o", "s.npz"],
                                  ["train", "--model", "ferlite", "--data", "x.csv", "--seed", str(2 ** 32)],
                                  ["convert", "m.keras", "--seed", "-3"]])
def test_seeds_numpy_cannot_take_are_refused_on_the_command_line(args):
    r = CliRunner().invoke(cli, args)
    assert "--seed" in assert_one_error(r.exit_code, r.stderr, r.stdout) and r.exit_code == 2


def _lambda_model(path):
    import keras

    inputs = keras.Input((48, 48, 1))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs), name="train_baseline")
    model.save(path)
    return path


@pytest.mark.parametrize("checkpoint, says", [
    ("cut", "not a Keras model file"),
    ("foreign", "not a fer-edge training checkpoint"),
    ("lambda", "not a loadable Keras model"),
])
def test_resume_reads_its_checkpoint_through_the_safe_loader(run_folder, tmp_path, fer_tiny_train, checkpoint, says):
    """A damaged last.keras, a model that is no training checkpoint, and one with a Lambda layer
    (arbitrary code: Keras' safe mode refuses it) are one line each."""
    root = tmp_path / "r"
    shutil.copytree(run_folder, root)
    last = root / "checkpoint" / "last.keras"
    if checkpoint == "cut":
        last.write_bytes((REPO / "models" / "ferlite.keras").read_bytes()[:5000])
    elif checkpoint == "lambda":
        _lambda_model(last)
    r = train("--model", "baseline", "--data", fer_tiny_train, "--out", root, "--resume", "--quiet")
    assert says in assert_one_error(r.exit_code, r.stderr, r.stdout)
