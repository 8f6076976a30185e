"""Fuzzing the model loaders (issue 22): a `.tflite` with its `.meta.json` (damaged bytes, any JSON
in any field), through `evaluate`, `bench --classify-only` and `run`; and `.keras` files (damaged
zip, config and weights) through `evaluate`. Success or one `error:` line, within budget; an
intact model must work."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from edge_fixtures import edge_model, edge_models, media  # noqa: F401 (fixtures)
from hypothesis import given
from hypothesis import strategies as st

from fuzz_strategies import EDITS, case_folder, changed_fields, fuzz_settings, json_values, mutated
from fuzz_support import check, count_case

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def faces(tmp_path_factory) -> Path:
    """Seven prepared faces, one per class, for `evaluate`."""
    path = tmp_path_factory.mktemp("faces") / "faces.npz"
    meta = json.dumps({"format": 1, "source": "fuzz", "splits": ["Training"]}).encode()
    np.savez(path, meta=np.frombuffer(meta, np.uint8),
             images_0=np.random.default_rng(0).integers(0, 256, (7, 48, 48)).astype(np.uint8),
             labels_0=np.arange(7, dtype=np.int8))
    return path


@st.composite
def tflite_pair(draw, model: bytes, meta: dict):
    """(model bytes or None for no file, metadata text or None, intact)."""
    kind = draw(st.sampled_from(["intact", "bytes", "bytes", "meta", "meta", "meta", "both", "junk", "missing"]))
    data, text = model, json.dumps(meta)
    if kind in ("bytes", "both"):  # mostly in place: offsets intact, so more of them pass the format check
        data = draw(mutated(model, at_most=16, kinds=draw(st.sampled_from([("flip", "special"), EDITS]))))
    if kind in ("meta", "both"):
        text = json.dumps(draw(changed_fields(meta)))
        if draw(st.integers(0, 4)) == 0:
            text = draw(st.sampled_from([text[: len(text) // 2], "[", "null", "[" * 5000, json.dumps(draw(json_values))]))
    if kind == "junk":
        data = draw(st.binary(max_size=300))
    if kind == "missing":
        data, text = draw(st.sampled_from([(None, text), (model, None)]))
    return data, text, kind == "intact"


@fuzz_settings(120)
@given(case=st.data(), command=st.sampled_from(["evaluate", "bench", "run"]))
def test_fuzz_tflite_and_metadata(edge_worker, edge_model, faces, tmp_path, case, command):
    count_case("tflite+meta")
    meta = json.loads(edge_model.with_name(edge_model.stem + ".meta.json").read_text())
    data, text, intact = case.draw(tflite_pair(edge_model.read_bytes(), meta))
    with case_folder(tmp_path) as folder:
        model = folder / "m.tflite"
        if data is not None:
            model.write_bytes(data)
        if text is not None:
            (folder / "m.meta.json").write_text(text)
        out = folder / "out"
        out.mkdir()
        args = {"evaluate": ["evaluate", model, "--data", faces, "--split", "Training", "--json"],
                "bench": ["bench", "--classify-only", "--model", model, "--frames", 2, "--warmup", 0, "--json"],
                "run": ["run", "--source", media("face01_single_frontal_smile.jpg"), "--headless",
                        "--jsonl", out / "o.jsonl", "--model", model]}[command]
        reply = check(edge_worker.run(args), outputs=out)
        if intact:
            assert reply["code"] == 0, reply["stderr"]


# Scalars a config value may become: kinds and signs that are wrong, and sizes past any memory
# (2**40 and up fail at once); not the merely large (10**6 units would build a real 4 GB layer).
config_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 300), st.integers(2 ** 40, 2 ** 70),
                           st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
                           st.sampled_from(["Lambda", "relu", "float16", "channels_first", "same", "NoSuchLayer"]))
config_values = st.recursive(config_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                             max_leaves=6)


def _paths(obj, prefix=()):
    """Every (path, value) inside a JSON document."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _replace(obj, path, value):
    if not path:
        return value
    obj[path[0]] = _replace(obj[path[0]], path[1:], value)
    return obj


@st.composite
def keras_file(draw, base: bytes):
    """(bytes, intact): the .keras zip with its config edited at a few places, its weights or
    metadata damaged, a member missing, or the archive itself damaged."""
    members = {}
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    kind = draw(st.sampled_from(["intact", "config", "config", "config", "weights", "member", "zip"]))
    if kind == "config":
        config = json.loads(members["config.json"])
        places = list(_paths(config))
        for _ in range(draw(st.integers(1, 3))):
            path, _ = draw(st.sampled_from(places[1:]))
            config = _replace(config, path, draw(config_values))
            places = list(_paths(config))
        members["config.json"] = json.dumps(config).encode()
    elif kind == "weights":
        name = draw(st.sampled_from(sorted(n for n in members if n.endswith(".h5"))))
        members[name] = draw(mutated(members[name], at_most=8))
    elif kind == "member":
        members.pop(draw(st.sampled_from(sorted(members))))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    data = buf.getvalue()
    if kind == "zip":
        data = draw(mutated(data))
    return data, kind == "intact"


@fuzz_settings(40)
@given(case=st.data())
def test_fuzz_keras_model_files(host_worker, faces, tmp_path, case):
    count_case(".keras")
    data, intact = case.draw(keras_file((REPO / "models" / "ferlite.keras").read_bytes()))
    with case_folder(tmp_path) as folder:
        path = folder / "model.keras"
        path.write_bytes(data)
        reply = check(host_worker.run(["evaluate", path, "--data", faces, "--split", "Training", "--json"]))
        if intact:
            assert reply["code"] == 0, reply["stderr"]
