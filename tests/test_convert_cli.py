"""`fer-edge convert` on the command line: the --json report, the files it writes, and every bad
input ending in one `error:` line, a non-zero exit and no file left behind."""

from __future__ import annotations

import json
import shutil
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from convert_fixtures import convert_data, small_data, tiny_models  # noqa: F401  (pytest fixtures)

from fer_edge.cli import cli
from fer_edge.data.cache import load
from fer_edge.classifier import FaceClassifier
from fer_edge.faces import faces_batch

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
FAST = ["--samples", "50", "--latency-runs", "10"]


def invoke(*args):
    return CliRunner().invoke(cli, ["convert", *map(str, args)])


def written(folder):
    """Files the converter may have produced (hidden temporaries included)."""
    return sorted(p.name for p in folder.iterdir() if p.suffix in (".tflite", ".json", ".tmp") or p.name.startswith("."))


def test_int8_json_report_agrees_with_the_files(tiny_models, convert_data, tmp_path):
    out = tmp_path / "tiny_grey_int8.tflite"
    result = invoke(tiny_models["grey"], "--int8", "--data", convert_data, *FAST, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("float_accuracy", "int8_accuracy", "agreement"):
        assert 0.0 <= report[key] <= 1.0
    assert set(report["size_bytes"]) == {"float32", "int8"}
    assert report["size_bytes"]["int8"] == out.stat().st_size
    assert set(report["latency_ms"]) == {"float32", "int8"}
    assert all(v > 0 for lat in report["latency_ms"].values() for v in lat.values())
    assert set(report["latency_ms"]["int8"]) == {"threads_1", "threads_2"}
    assert report["quantization"]["input"] == {"dtype": "int8", "scale": 1.0, "zero_point": -128}
    assert report["eval"] == {"split": "PublicTest", "faces": 70}
    assert report["targets"]["size_ok"] is True
    # Only the model, its sidecar and the report: the float32 reference lived in a temporary folder.
    assert written(tmp_path) == ["tiny_grey_int8.convert.json", "tiny_grey_int8.meta.json", "tiny_grey_int8.tflite"]
    assert json.loads((tmp_path / "tiny_grey_int8.convert.json").read_text()) == report

    # What `fer-edge evaluate` computes from the shipped file and the data gives the same numbers.
    import keras

    test = load(convert_data).split("PublicTest")
    int8_pred = FaceClassifier(out).predict_dataset(test.images).argmax(1)
    model = keras.models.load_model(tiny_models["grey"], compile=False)
    float_pred = np.asarray(model.predict_on_batch(faces_batch(test.images).astype(np.float32))).argmax(1)
    assert report["int8_accuracy"] == pytest.approx(float((int8_pred == test.labels).mean()))
    assert report["float_accuracy"] == pytest.approx(float((float_pred == test.labels).mean()))
    assert report["agreement"] == pytest.approx(float((int8_pred == float_pred).mean()))


def test_default_output_beside_the_model_and_a_table(tiny_models, convert_data, tmp_path):
    model = shutil.copy(tiny_models["rgb"], tmp_path / "tiny_rgb.keras")
    result = invoke(model, "--float16", "--data", convert_data, "--latency-runs", "5", "--eval-split", "Training")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny_rgb_float16.tflite").is_file() and (tmp_path / "tiny_rgb_float16.meta.json").is_file()
    assert "Training accuracy" in result.stdout and "top-1 agreement" in result.stdout
    assert "float16 .tflite" in result.stdout and "float32 .tflite" in result.stdout


def test_without_data_reports_sizes_and_latency_only(tiny_models, tmp_path):
    out = tmp_path / "plain.tflite"
    result = invoke(tiny_models["grey"], "-o", out, "--latency-runs", "5", "--json")  # no flag: float32
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mode"] == "float32" and "float_accuracy" not in report
    assert report["size_bytes"] == {"float32": out.stat().st_size}


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("bad-models")
    inputs = keras.Input((48, 48, 1))
    five = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inputs)))
    five.save(root / "five_classes.keras")
    (root / "text.keras").write_text("not a model\n")
    with zipfile.ZipFile(root / "other_zip.keras", "w") as zf:
        zf.writestr("readme.txt", "a zip, but not a Keras model")
    (root / "model.txt").write_text("not a model\n")
    from fer_edge.train.models import build_ferfast

    build_ferfast(branched=True).save(root / "branched.keras")  # a --reparam run's best.keras
    return root


@pytest.mark.parametrize("case, args, message", [
    ("text file named .keras", ["{bad}/text.keras", "--int8", "--data", "{data}"], "not a Keras model file"),
    ("zip that is not Keras", ["{bad}/other_zip.keras", "--float32"], "not a loadable Keras model"),
    ("not a .keras suffix", ["{bad}/model.txt", "--int8", "--data", "{data}"], "not a Keras model file"),
    ("missing model", ["{bad}/missing.keras", "--float16"], "no such file"),
    ("RepVGG training form", ["{bad}/branched.keras", "--float32"], "convert the run's folded <model>.keras"),
    ("5-class output", ["{bad}/five_classes.keras", "--int8", "--data", "{data}", "--samples", "50"],
     "output has 5 classes, expected 7"),
    ("too few rows to calibrate", ["{grey}", "--int8", "--data", "{small}", "--samples", "50"],
     "too few Training rows to calibrate"),
    ("samples over the data", ["{grey}", "--int8", "--data", "{data}"], "too few Training rows to calibrate"),
    ("missing output folder", ["{grey}", "--int8", "--data", "{data}", "--samples", "50", "-o", "{out}/nope/x.tflite"],
     "does not exist"),
    ("output not .tflite", ["{grey}", "--float32", "-o", "{out}/x.onnx"], "output must be a .tflite file"),
    ("int8 without data", ["{grey}", "--int8"], "--int8 needs --data"),
    ("two precisions", ["{grey}", "--int8", "--float16", "--data", "{data}"], "choose one precision"),
    ("calibration options without --int8", ["{grey}", "--float16", "--samples", "100", "--seed", "5"],
     "--samples applies to --int8 only; --seed applies to --int8 only"),
    ("eval split without data", ["{grey}", "--float16", "--eval-split", "Nope"], "--eval-split needs --data"),
    ("missing eval split", ["{grey}", "--dynamic", "--data", "{data}", "--eval-split", "PrivateTest"], "no PrivateTest rows"),
    ("missing data", ["{grey}", "--int8", "--data", "{out}/none.csv"], "no such file"),
])
def test_bad_input_is_one_clear_error_and_leaves_nothing(case, args, message, bad_models, tiny_models, convert_data,
                                                          small_data, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    grey = shutil.copy(tiny_models["grey"], out / "tiny_grey.keras")  # default outputs would land in `out`
    subst = {"bad": bad_models, "data": convert_data, "small": small_data, "grey": grey, "out": out}
    result = invoke(*[a.format(**subst) for a in args])
    assert result.exit_code != 0, f"{case}: {result.output}"
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], f"{case}: {result.stderr}"
    assert "Traceback" not in result.output
    assert written(out) == [], f"{case}: left {written(out)}"
    assert written(bad_models) == []


def test_interrupted_conversion_leaves_nothing(tiny_models, convert_data, tmp_path, monkeypatch):
    import fer_edge.convert.report as report

    def interrupted(*args, **kwargs):  # Ctrl-C while the report is measured, after the files were staged
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "build_report", interrupted)
    result = invoke(tiny_models["grey"], "--int8", "--data", convert_data, *FAST, "-o", tmp_path / "x.tflite")
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []
