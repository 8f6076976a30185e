"""Several expression models as one (`--model A --model B`): the mean of real int8 models'
probabilities, members that cannot be averaged, and `fer-edge run` / `bench` end to end."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REPO, edge_models  # noqa: F401 (fixtures)

from fer_edge.cli import cli
from fer_edge.classifier import FaceClassifier
from fer_edge.edge.ensemble import EnsembleClassifier, load_classifier
from fer_edge.errors import FerEdgeError
from fer_edge.modelinfo import read_info, write_info

PHOTO = REPO / "samples" / "astronaut.jpg"  # one frontal face, shipped with the repo


def invoke(*args):
    result = CliRunner(env={"DISPLAY": None, "WAYLAND_DISPLAY": None}).invoke(cli, list(map(str, args)))
    # Every way out is a clean exit: success, or an `error:` line from FerEdgeError.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def grey_faces(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48, 1), dtype=np.uint8)


def with_changed_metadata(tmp_path, model, **changes):
    """A copy of `model` (the same network) whose metadata differs in `changes`."""
    copy = tmp_path / f"changed_{'_'.join(changes)}.tflite"
    shutil.copy(model, copy)
    info = read_info(model)
    for field, value in changes.items():
        setattr(info, field, value)
    write_info(copy, info)
    return copy


# ----------------------------------------------------------------------------- the classifier
def test_predict_is_the_mean_of_the_members(edge_models):
    a, b = FaceClassifier(edge_models["grey"], 1), FaceClassifier(edge_models["grey_b"], 1)
    ensemble = EnsembleClassifier([a, b])
    batch = grey_faces(5)
    probs_a, probs_b = a.predict(batch), b.predict(batch)
    if a.path != b.path:  # FER_EDGE_TEST_MODEL makes every test model the same file
        assert np.abs(probs_a - probs_b).max() > 0.01  # the members disagree: the mean is neither one
    probs = ensemble.predict(batch)
    np.testing.assert_allclose(probs, (probs_a + probs_b) / 2, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert ensemble.labels == a.labels and ensemble.info.input_size == 48 and ensemble.info.channels == 1
    assert ensemble.predict(batch[:0]).shape == (0, len(a.labels))


def test_one_model_loads_as_a_plain_classifier(edge_models):
    assert type(load_classifier([edge_models["grey"]], 1)) is FaceClassifier
    assert type(load_classifier([edge_models["grey"], edge_models["grey_b"]], 1)) is EnsembleClassifier


@pytest.mark.parametrize("changes, message", [
    ({"labels": ["happy", "angry", "disgust", "fear", "sad", "surprise", "neutral"]}, "labels ["),
    ({"crop_margin": 0.5}, "crop margin"),
    ({"crop_shift": 0.25}, "crop shift"),
])
def test_members_that_prepare_or_label_faces_differently_are_refused(tmp_path, edge_models, changes, message):
    other = with_changed_metadata(tmp_path, edge_models["grey_b"], **changes)
    with pytest.raises(FerEdgeError) as err:
        load_classifier([edge_models["grey"], other], 1)
    text = str(err.value)
    assert "\n" not in text and str(edge_models["grey"]) in text and str(other) in text
    assert "cannot be averaged" in text and message in text


def test_metadata_naming_a_label_twice_is_refused(tmp_path, edge_models):
    """The outputs key the scores by label: a label listed twice would hide one of the scores."""
    twice = with_changed_metadata(tmp_path, edge_models["grey"],
                                  labels=["angry", "disgust", "fear", "happy", "sad", "happy", "neutral"])
    with pytest.raises(FerEdgeError, match=r"metadata lists 'happy' more than once"):
        load_classifier([twice], 1)


def test_members_of_different_input_size_are_refused(edge_models):
    if edge_models["grey"] == edge_models["rgb"]:
        pytest.skip("FER_EDGE_TEST_MODEL gives one model for every test model")
    members = [FaceClassifier(edge_models["grey"], 1), FaceClassifier(edge_models["rgb"], 1)]
    with pytest.raises(FerEdgeError, match=r"differ in input size 48 vs 64, channels 1 vs 3$"):
        EnsembleClassifier(members)


# ----------------------------------------------------------------------------- fer-edge run
def test_run_with_two_models_reports_their_mean(edge_models):
    a, b = edge_models["grey"], edge_models["grey_b"]

    def faces(*models):
        r = invoke("run", "--source", PHOTO, "--headless", "--jsonl", "-", "--threads", 1,
                   *[arg for m in models for arg in ("--model", m)])
        assert r.exit_code == 0, r.stderr
        return records(r.stdout)

    (alone_a,), (alone_b,), (both,) = faces(a), faces(b), faces(a, b)
    assert both["box"] == alone_a["box"] == alone_b["box"]  # the same face, cropped once for both members
    labels = list(both["scores"])
    mean = {k: (alone_a["scores"][k] + alone_b["scores"][k]) / 2 for k in labels}
    # JSON scores carry 4 decimals: the mean of rounded scores is within 1e-4 of the rounded mean.
    assert both["scores"] == pytest.approx(mean, abs=1.5e-4)
    assert both["label"] == max(mean, key=mean.get) and both["score"] == max(both["scores"].values())


def test_run_with_models_that_cannot_be_averaged_gives_one_error_line(edge_models):
    """In a real process, so that native log lines on file descriptor 2 would show too."""
    if edge_models["grey"] == edge_models["rgb"]:
        pytest.skip("FER_EDGE_TEST_MODEL gives one model for every test model")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "run", "--source", str(PHOTO), "--headless",
                           "--jsonl", "-", "--model", str(edge_models["grey"]), "--model", str(edge_models["rgb"])],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "input size 48 vs 64" in line
    assert str(edge_models["grey"]) in line and str(edge_models["rgb"]) in line


def test_help_says_model_repeats():
    for command in ("run", "bench"):
        r = invoke(command, "--help")
        assert "repeat to average several models (an ensemble)" in " ".join(r.output.split())


# ----------------------------------------------------------------------------- fer-edge bench
def test_bench_times_the_ensemble_and_starts_run_with_both_models(edge_models):
    a, b = edge_models["grey"], edge_models["grey_b"]
    r = invoke("bench", "--source", PHOTO, "--model", a, "--model", b, "--frames", 3, "--warmup", 1,
               "--threads", 1, "--no-capture-thread", "--startup-runs", 1, "--json")
    assert r.exit_code == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["frames"] == 3 and rep["faces"] == 3
    assert rep["model"]["paths"] == [str(a), str(b)] and rep["model"]["path"] == f"ensemble({a}, {b})"
    assert rep["model"]["input"] == [48, 48, 1] and rep["model"]["precision"] == "int8"
    command = rep["startup"]["command"]
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--model"] == [str(a), str(b)]
    assert rep["startup"]["first_result"] == "face line"  # the started run took both models


def test_bench_classify_only_times_each_model_given(edge_models):
    a, b = edge_models["grey"], edge_models["grey_b"]
    r = invoke("bench", "--classify-only", "--model", a, "--model", b, "--frames", 2, "--threads", 1, "--json")
    assert r.exit_code == 0, r.stderr
    assert sorted(m["model"] for m in json.loads(r.stdout)["models"]) == sorted({str(a), str(b)})


def test_evaluate_reads_a_tflite_s_columns_by_its_metadata_labels(tmp_path, edge_models):
    """`run` names scores from the metadata's labels; `evaluate` must score the same columns."""
    from fer_edge.train.evaluation import predict_file

    swapped = ["happy", "disgust", "fear", "angry", "sad", "surprise", "neutral"]  # angry and happy trade places
    other = with_changed_metadata(tmp_path, edge_models["grey"], labels=swapped)
    faces = grey_faces(16)[..., 0]
    plain, _ = predict_file(str(edge_models["grey"]), faces, threads=1)
    reordered, seconds = predict_file(str(other), faces, threads=1)
    np.testing.assert_allclose(reordered, plain[:, [3, 1, 2, 0, 4, 5, 6]], atol=1e-6)
    assert seconds > 0
    alien = with_changed_metadata(tmp_path, edge_models["grey_b"], labels=[f"c{i}" for i in range(7)])
    with pytest.raises(FerEdgeError, match="are not FER2013's"):
        predict_file(str(alien), faces, threads=1)
