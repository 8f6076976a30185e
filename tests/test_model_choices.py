"""Named model choices (fast, accurate, best): the resolver, flip TTA around a classifier (one
definition with `evaluate --tta flip`), `fer-edge models`, and `--model NAME` in run, bench and
evaluate, on the shipped models."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REPO, edge_models  # noqa: F401 (fixtures)

from fer_edge.cli import cli
from fer_edge.classifier import FaceClassifier
from fer_edge.edge.ensemble import EnsembleClassifier, load_classifier
from fer_edge.tta import FlipClassifier, mirror
from fer_edge.errors import FerEdgeError
from fer_edge.model_choices import ModelChoice, resolve_models, shipped_choices
from fer_edge.paths import default_model, models_dir

PHOTO = REPO / "samples" / "astronaut.jpg"  # one frontal face, shipped with the repo
MODELS = models_dir()


def invoke(*args):
    result = CliRunner(env={"DISPLAY": None, "WAYLAND_DISPLAY": None}).invoke(cli, list(map(str, args)))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def grey_faces(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)


# ----------------------------------------------------------------------------- the resolver
def test_no_model_is_the_fast_choice_run_always_defaulted_to():
    for nothing in (None, [], ()):
        assert resolve_models(nothing) == ModelChoice("fast", (default_model(),), None)


def test_names_give_their_shipped_files_and_tta():
    accurate = resolve_models("accurate")
    assert accurate.name == "accurate" and len(accurate.paths) == 1 and accurate.tta is None
    best = resolve_models(["best"])
    assert best.name == "best" and len(best.paths) == 2 and best.tta == "flip"
    assert all(p.parent == MODELS and p.is_file() for p in accurate.paths + best.paths)
    assert accurate.paths[0] in best.paths  # accurate is one of best's pair


def test_an_explicit_tta_overrides_the_choice_s_own():
    assert resolve_models("best", tta="none").tta is None
    assert resolve_models("fast", tta="flip").tta == "flip"
    assert resolve_models("best", tta=None).tta == "flip"


def test_files_are_themselves(edge_models):
    a, b = edge_models["grey"], edge_models["grey_b"]
    assert resolve_models(str(a)) == ModelChoice(None, (a,), None)
    assert resolve_models([a, str(b)], tta="flip") == ModelChoice(None, (a, b), "flip")


@pytest.mark.parametrize("specs, tta, message", [
    (["best", "{a}"], None, "give a model choice (fast, accurate or best) or model files, not both"),
    (["fast", "accurate"], None, "name one model choice, not fast and accurate"),
    (["bogus"], None, "bogus: no such model file, nor a model choice (fast, accurate or best)"),
    (["{tmp}/none.tflite"], None, "none.tflite: no such model file"),
    (["{tmp}"], None, "a folder, not a model file"),
    (["fast"], "mirror", "unknown test-time augmentation 'mirror': choose none or flip"),
])
def test_bad_specs_are_one_line_errors(tmp_path, edge_models, specs, tta, message):
    specs = [s.format(a=edge_models["grey"], tmp=tmp_path) for s in specs]
    with pytest.raises(FerEdgeError) as err:
        resolve_models(specs, tta)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_choices_json_agrees_with_the_shipped_files():
    """A single model without TTA: its PublicTest figure is its conversion report's int8 accuracy."""
    table = shipped_choices()
    assert [c["name"] for c in table["choices"]] == ["fast", "accurate", "best"] and table["default"] == "fast"
    for c in table["choices"]:
        for name in c["files"]:
            assert (MODELS / name).is_file() and (MODELS / name.replace(".tflite", ".meta.json")).is_file()
        assert c["ms_per_face"]["threads_1"] > 0 and c["ms_per_face"]["threads_2"] > 0
        if len(c["files"]) == 1 and not c["tta"]:
            report = json.loads((MODELS / c["files"][0].replace(".tflite", ".convert.json")).read_text())
            assert c["publictest_accuracy"] == round(report["int8_accuracy"], 4)
    accuracy = [c["publictest_accuracy"] for c in table["choices"]]
    assert accuracy == sorted(accuracy)  # each step up costs time for accuracy


# ----------------------------------------------------------------------------- flip TTA
def test_flip_classifier_is_the_mean_with_the_mirror_image(edge_models):
    plain = FaceClassifier(edge_models["grey"], 1)
    flip = load_classifier([edge_models["grey"]], 1, tta="flip")
    assert isinstance(flip, FlipClassifier) and flip.labels == plain.labels and flip.members == [flip.inner]
    batch = grey_faces(4)
    expected = (plain.predict(batch) + plain.predict(batch[:, :, ::-1])) / 2
    np.testing.assert_allclose(flip.predict(batch), expected, atol=1e-6)
    assert np.abs(flip.predict(batch) - plain.predict(batch)).max() > 1e-3  # random faces are not symmetric
    assert flip.predict(batch[:0]).shape == (0, len(plain.labels))
    np.testing.assert_array_equal(mirror(batch)[:, :, 0], batch[:, :, -1])


def test_flip_around_an_ensemble(edge_models):
    paths = [edge_models["grey"], edge_models["grey_b"]]
    both = load_classifier(paths, 1, tta="flip")
    assert isinstance(both.inner, EnsembleClassifier) and [m.path for m in both.members] == paths
    assert type(load_classifier(paths, 1, tta="none")) is EnsembleClassifier
    with pytest.raises(FerEdgeError, match="unknown test-time augmentation"):
        load_classifier(paths, 1, tta="rotate")


def test_run_s_flip_is_evaluate_s_flip(edge_models):
    """evaluate --tta flip and the runtime's FlipClassifier give the same probabilities."""
    from fer_edge.train.evaluation import predict_file

    faces = grey_faces(8, seed=3)[..., 0]
    evaluated, _ = predict_file(str(edge_models["grey"]), faces, tta_flip=True, threads=1)
    runtime = load_classifier([edge_models["grey"]], 1, tta="flip").predict(faces[..., None])
    np.testing.assert_allclose(evaluated, runtime, atol=1e-6)  # the test model's labels are FER2013's order


# ----------------------------------------------------------------------------- commands
def test_models_lists_the_choices_with_their_figures():
    r = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["models"])  # wide enough for a line per choice
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    for c in shipped_choices()["choices"]:
        (line,) = [ln for ln in lines if ln.lstrip().startswith(c["name"] + " ")]
        assert all(name in line for name in c["files"]) and f"{100 * c['publictest_accuracy']:.2f}%" in line
        assert f"{c['ms_per_face']['threads_1']:.2f}" in line
    assert "(default)" in r.stdout and "estimate" in r.stdout
    described = json.loads(invoke("models", "--json").stdout)
    assert [c["name"] for c in described["choices"]] == ["fast", "accurate", "best"]
    assert all(c["installed"] for c in described["choices"]) and described["default"] == "fast"


def test_run_best_is_the_pair_with_flip_on_a_photo():
    def face(*args):
        r = invoke("run", "--source", PHOTO, "--headless", "--jsonl", "-", "--threads", 1, *args)
        assert r.exit_code == 0, r.stderr
        (record,) = [json.loads(line) for line in r.stdout.splitlines()]
        return record

    best = resolve_models("best")
    named = face("--model", "best")
    by_files = face(*[arg for p in best.paths for arg in ("--model", p)], "--tta", "flip")
    assert named == by_files and named["label"] == "happy"  # the astronaut smiles
    assert face("--model", "best", "--tta", "none")["scores"] != named["scores"]


def test_bench_classify_only_times_a_choice_as_run_uses_it():
    r = invoke("bench", "--classify-only", "--model", "best", "--frames", 2, "--warmup", 1, "--threads", 1, "--json")
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)["models"]
    assert row["choice"] == "best" and row["tta"] == "flip"
    assert row["paths"] == [str(p) for p in resolve_models("best").paths]
    assert row["model"].startswith("ensemble(") and row["batch1"]["median_ms_per_face"] > 0


def test_bench_pipeline_starts_run_with_the_choice_s_tta():
    r = invoke("bench", "--source", PHOTO, "--model", "best", "--frames", 2, "--warmup", 1, "--threads", 1,
               "--no-capture-thread", "--startup-runs", 1, "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["model"]["choice"] == "best" and rep["model"]["tta"] == "flip" and rep["faces"] == 2
    command = rep["startup"]["command"]
    assert command[command.index("--tta") + 1] == "flip" and rep["startup"]["first_result"] == "face line"


def test_evaluate_a_choice_by_name(fer_csv):
    r = invoke("evaluate", "--model", "accurate", "--data", fer_csv, "--json")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["choice"] == "accurate" and rep["tta"] == "none"
    assert rep["models"] == [str(p) for p in resolve_models("accurate").paths] and rep["n"] == 21
    r = invoke("evaluate", "--data", fer_csv)
    assert r.exit_code == 1 and r.stderr.startswith("error: give MODEL files or --model NAME")


@pytest.mark.parametrize("name", ["fast", "accurate", "best"])
def test_shipped_figures_reproduce_on_fer2013(real_fer2013, name):
    """models/choices.json's PublicTest accuracy is what `evaluate --model NAME` measures."""
    from fer_edge.train.evaluation import evaluate_models

    choice = resolve_models(name)
    report = evaluate_models([str(p) for p in choice.paths], str(real_fer2013), "PublicTest",
                             tta_flip=choice.tta == "flip")
    (entry,) = [c for c in shipped_choices()["choices"] if c["name"] == name]
    assert round(report["accuracy"], 4) == entry["publictest_accuracy"]


def test_the_models_table_fits_an_80_column_terminal():
    """It was about 150 columns wide and wrapped; now headers and long cells wrap within their columns."""
    from click.testing import CliRunner

    from fer_edge.cli import cli

    r = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["models"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert max(map(len, lines)) <= 80
    assert any(line.startswith("fast") and "ferfast_int8.tflite" in line and "%" in line for line in lines)
    wide = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["models"]).output.splitlines()
    assert wide[0].split()[:3] == ["choice", "files", "(models/)"]  # room enough: one header line


def test_a_table_wraps_its_widest_columns_at_spaces_and_keeps_every_word():
    from fer_edge.table import format_table

    rows = [["best", "a_long_model_name.tflite + another_long_model_name.tflite", 72.08, "150-350"]]
    text = format_table(["choice", "files", "PublicTest int8 accuracy", "Pi 4 ms per face (estimate)"], rows, width=64)
    assert max(map(len, text.splitlines())) <= 64
    for word in ["a_long_model_name.tflite", "another_long_model_name.tflite", "72.1", "(estimate)", "accuracy"]:
        assert word in text.split()
    one_line = format_table(["a", "b"], [["x", "y"]], width=64)
    assert one_line.splitlines() == ["a  b", "-  -", "x  y"]
