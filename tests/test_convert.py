"""Conversion through the Python API: every precision of a tiny trained model, the int8 file's
tensors and ops, its metadata, the 3-channel (resnet50) path, and no partial files on failure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from convert_fixtures import convert_data, tiny_models  # noqa: F401  (pytest fixtures)

from fer_edge.convert.converter import MODES, convert_keras
from fer_edge.convert.tflite_info import batch_resizable, integer_only_problems, io_quantization
from fer_edge.data.cache import load
from fer_edge.data.sampling import stratified_indices
from fer_edge.classifier import FaceClassifier
from fer_edge.errors import FerEdgeError
from fer_edge.faces import faces_batch
from fer_edge.labels import EMOTIONS
from fer_edge.modelinfo import ModelInfo, read_info, sidecar_path

# Keras's own TensorFlow backend trips numpy 2's __array__(copy=...) deprecation; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
CALIB = 50


def _calibration_images(data):
    train = load(data).split("Training")
    return train.images[stratified_indices(train.labels, CALIB, seed=0)]


@pytest.fixture(scope="module")
def grey(tiny_models, convert_data, tmp_path_factory):
    """The grey model converted to every precision: (keras model, {mode: path})."""
    import keras

    model = keras.models.load_model(tiny_models["grey"], compile=False)
    out = tmp_path_factory.mktemp("converted")
    calib = _calibration_images(convert_data)
    files = {}
    for mode in MODES:
        files[mode] = out / f"tiny_grey_{mode}.tflite"
        convert_keras(tiny_models["grey"], mode, files[mode], calib if mode == "int8" else None,
                      calibration={"split": "Training", "samples": CALIB, "seed": 0})
    return model, files


@pytest.fixture(scope="module")
def public_test(convert_data):
    return load(convert_data).split("PublicTest")


@pytest.mark.parametrize("mode", MODES)
def test_every_precision_classifies_like_the_keras_model(grey, public_test, mode):
    model, files = grey
    x = faces_batch(public_test.images, 48, 1)
    want = np.asarray(model.predict_on_batch(x.astype(np.float32)))
    got = FaceClassifier(files[mode]).predict(x)
    agreement = float((want.argmax(1) == got.argmax(1)).mean())
    tolerance = {"float32": 1e-4, "float16": 1e-2, "dynamic": 0.1, "int8": 0.1}[mode]
    assert np.abs(want - got).max() < tolerance
    assert agreement >= (1.0 if mode in ("float32", "float16") else 0.85)


def test_int8_file_is_integer_only(grey):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    _, files = grey
    # Without XNNPACK the interpreter lists the file's own ops rather than one delegate node.
    interp = Interpreter(model_path=str(files["int8"]),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    assert interp.get_input_details()[0]["dtype"] == np.int8
    assert interp.get_output_details()[0]["dtype"] == np.int8
    tensors = {d["index"]: d for d in interp.get_tensor_details()}
    assert {np.dtype(d["dtype"]).name for d in tensors.values()} <= {"int8", "int32"}  # int32: biases only
    ops = interp._get_ops_details()
    assert ops and not {op["op_name"] for op in ops} & {"DEQUANTIZE", "CUSTOM", "DELEGATE"}
    for op in ops:
        for i in op["outputs"]:
            assert tensors[i]["dtype"] == np.int8, f"{op['op_name']} produces {tensors[i]['dtype']}"
    in_file = {i for op in ops for i in (*op["inputs"], *op["outputs"]) if i >= 0}  # not kernel scratch
    for i in in_file:  # every int8 tensor, weight or activation, carries its scale(s)
        d = tensors[i]
        assert d["dtype"] != np.int8 or d["quantization_parameters"]["scales"].size > 0, d["name"]
    assert integer_only_problems(files["int8"]) == []
    # The checker does see float: the float32 and dynamic-range files are not integer-only.
    assert integer_only_problems(files["float32"]) and integer_only_problems(files["dynamic"])


def test_int8_input_maps_grey_levels_exactly(grey):
    q = io_quantization(grey[1]["int8"])
    assert q["input"] == {"dtype": "int8", "scale": 1.0, "zero_point": -128}
    assert q["output"]["dtype"] == "int8" and q["output"]["scale"] == pytest.approx(1 / 256)


def test_int8_file_is_under_a_third_and_a_half_of_float32(grey):
    files = grey[1]
    assert files["float32"].stat().st_size / files["int8"].stat().st_size >= 3.5
    assert files["float16"].stat().st_size < files["float32"].stat().st_size


@pytest.mark.parametrize("mode", MODES)
def test_metadata_round_trips(grey, mode):
    path = grey[1][mode]
    info = read_info(path)
    assert (info.name, info.input_size, info.channels, info.precision) == ("tiny_grey", 48, 1, mode)
    assert info.labels == list(EMOTIONS) and info.source == "tiny_grey.keras"
    assert ModelInfo.from_dict(json.loads(sidecar_path(path).read_text())) == info
    if mode == "int8":
        assert {k: info.quantization[k] for k in ("input", "output")} == io_quantization(path)
        assert info.quantization["weights"] == "per-channel"
        assert info.quantization["calibration"] == {"split": "Training", "samples": CALIB, "seed": 0}
    else:
        assert info.quantization is None


def test_batch_one_file_still_classifies_batches(grey, public_test):
    # Traced at batch 1 (static shapes), yet the Flatten model runs many faces per invoke.
    path = grey[1]["int8"]
    clf = FaceClassifier(path)
    assert tuple(clf._in["shape"]) == (1, 48, 48, 1)
    assert batch_resizable(path)
    batched = clf.predict_dataset(public_test.images, batch_size=32)
    one_by_one = np.concatenate([clf.predict(faces_batch(public_test.images[i : i + 1])) for i in range(10)])
    np.testing.assert_array_equal(batched[:10], one_by_one)


def test_int8_calibration_is_deterministic(tiny_models, convert_data, tmp_path, grey):
    again = tmp_path / "again.tflite"
    convert_keras(tiny_models["grey"], "int8", again, _calibration_images(convert_data),
                  calibration={"split": "Training", "samples": CALIB, "seed": 0})
    assert again.read_bytes() == grey[1]["int8"].read_bytes()


def test_three_channel_resnet50_path(tiny_models, convert_data, tmp_path):
    out = tmp_path / "tiny_rgb_int8.tflite"
    info = convert_keras(tiny_models["rgb"], "int8", out, _calibration_images(convert_data))
    assert (info.input_size, info.channels) == (197, 3)
    assert read_info(out) == info
    assert integer_only_problems(out) == []
    assert io_quantization(out)["input"] == {"dtype": "int8", "scale": 1.0, "zero_point": -128}
    clf = FaceClassifier(out)
    assert tuple(clf._in["shape"]) == (1, 197, 197, 3)
    crops = [np.full((120, 100, 3), 128, np.uint8), np.zeros((48, 48), np.uint8)]  # BGR and grey crops
    probs = clf.predict_faces(crops)
    assert probs.shape == (2, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-3)


def test_failed_conversion_leaves_nothing(tmp_path):
    import keras

    class Sine(keras.layers.Layer):  # SIN has no int8 kernel: the converter falls back to float
        def call(self, x):
            return keras.ops.sin(x)

    inputs = keras.Input((48, 48, 1))
    x = keras.layers.GlobalAveragePooling2D()(Sine()(keras.layers.Rescaling(1 / 255)(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(x))
    calib = np.random.default_rng(0).integers(0, 256, (10, 48, 48), dtype=np.uint8)
    with pytest.raises(FerEdgeError, match="not integer-only"):
        convert_keras(model, "int8", tmp_path / "sine_int8.tflite", calib)
    assert list(tmp_path.iterdir()) == []


def test_int8_without_calibration_images_is_refused(tiny_models, tmp_path):
    with pytest.raises(FerEdgeError, match="calibration"):
        convert_keras(tiny_models["grey"], "int8", tmp_path / "x.tflite")
    assert list(tmp_path.iterdir()) == []


def test_a_declared_normalisation_is_written_and_applied_by_the_runtime(grey, public_test, tmp_path, tiny_models):
    """`normalize` goes into the sidecar, and the classifier then standardises raw faces itself:
    the file given raw faces answers as the Keras model given standardised ones."""
    model, _ = grey
    out = tmp_path / "tiny_std_float32.tflite"
    info = convert_keras(tiny_models["grey"], "float32", out, normalize="standardize")
    assert info.normalize == "standardize" and read_info(out).normalize == "standardize"
    assert json.loads(sidecar_path(out).read_text())["normalize"] == "standardize"
    raw = public_test.images[:32] // 3  # dark faces: standardising changes them a lot
    want = np.asarray(model.predict_on_batch(faces_batch(raw, 48, 1, "standardize").astype(np.float32)))
    np.testing.assert_allclose(FaceClassifier(out).predict_dataset(raw), want, atol=1e-4)
    assert read_info(grey[1]["float32"]).normalize is None  # not declared: raw grey levels, as before
