"""Host-side recipe helpers: teachers packed to travel to a GPU machine come back as the same models."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from fer_edge.train.models import build_fervgg  # noqa: E402
from fer_edge.train.predict import predict_keras  # noqa: E402

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
RECIPE = RECIPES / "teachers_pack.py"


def _load_recipe(path=RECIPE):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packed_teachers_unpack_to_the_same_architecture_and_nearly_the_same_predictions(tmp_path):
    pack = _load_recipe()
    models = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        model = build_fervgg(width=8)
        # BatchNorm statistics away from their initial values, so that they must travel too
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.moving_mean.assign(np.random.default_rng(seed).normal(0, 0.1, layer.moving_mean.shape))
        path = tmp_path / f"t{seed}.keras"
        model.save(path)
        models.append((path, model))
    packed8, packed7 = tmp_path / "t8.npz.xz", tmp_path / "t7.npz.xz"
    pack.pack([p for p, _ in models], packed8, bits=8)
    pack.pack([p for p, _ in models], packed7, bits=7)
    assert packed7.stat().st_size < packed8.stat().st_size < sum(p.stat().st_size for p, _ in models) / 2.5
    out = pack.unpack(packed8, tmp_path / "out")
    assert [p.name for p in out] == ["t1.keras", "t2.keras"]
    faces = np.random.default_rng(0).integers(0, 256, (16, 48, 48), dtype=np.uint8)
    for (_, original), path in zip(models, out):
        again = keras.saving.load_model(path)
        assert [w.shape for w in again.get_weights()] == [w.shape for w in original.get_weights()]
        for a, b in zip(again.get_weights(), original.get_weights()):
            if a.ndim < 2:  # biases and BatchNorm: exact
                np.testing.assert_array_equal(a, b)
            else:  # kernels: within half a quantisation step per output channel
                step = np.abs(b).reshape(-1, b.shape[-1]).max(0) / 127
                assert np.all(np.abs(a - b) <= step / 2 + 1e-7)
        np.testing.assert_allclose(predict_keras(again, faces), predict_keras(original, faces), atol=0.02)


def test_pack_and_unpack_refuse_bad_files_in_one_line(tmp_path):
    junk = tmp_path / "junk.npz.xz"
    junk.write_text("not packed")
    for args in (["pack", str(tmp_path / "missing.keras"), "-o", str(tmp_path / "t.npz.xz")],
                 ["unpack", str(junk), "-o", str(tmp_path / "out")]):
        res = subprocess.run([sys.executable, str(RECIPE), *args], capture_output=True, text=True)
        assert res.returncode == 1
        assert res.stderr.strip().startswith("error: ") and "Traceback" not in res.stderr
    assert not (tmp_path / "t.npz.xz").exists()


def test_teachers_of_the_same_file_name_keep_apart_and_depthwise_kernels_scale_per_channel(tmp_path):
    pack = _load_recipe()
    for run in ("r1", "r2"):  # run folders both hold best.keras
        (tmp_path / run).mkdir()
        build_fervgg(width=8).save(tmp_path / run / "best.keras")
    packed = tmp_path / "two.npz.xz"
    pack.pack([tmp_path / "r1" / "best.keras", tmp_path / "r2" / "best.keras"], packed)
    assert [p.name for p in pack.unpack(packed, tmp_path / "out")] == ["r1_best.keras", "r2_best.keras"]
    depthwise = np.random.default_rng(0).normal(0, 1, (3, 3, 4, 1)).astype(np.float32)
    depthwise[:, :, 0] *= 100  # one loud channel must not flatten the others
    again = pack.dequantise(pack.quantise(depthwise))
    step = np.abs(depthwise).max(axis=(0, 1, 3), keepdims=True) / 127
    assert np.all(np.abs(again - depthwise) <= step / 2 + 1e-6)


def test_variant_stages_parse_with_a_stride_2_stem_and_build_the_layout_they_name():
    from fer_edge.train.models import build_ferfast_stages

    variant = _load_recipe(RECIPES / "ferfast_variant.py")
    assert variant.parse_stages("16,32,64x64,128") == (((16,), (32,), (64, 64), (128,)), False)
    stages, stem = variant.parse_stages("16/2,32,64,152x152")
    assert stages == ((16,), (32,), (64,), (152, 152)) and stem
    for bad in ("16,32/2", "16x16/2,32", "16,,32", "a,b"):
        with pytest.raises(SystemExit, match="stages like"):
            variant.parse_stages(bad)
    model = build_ferfast_stages(stages, stride2_stem=stem)
    assert model.get_layer("conv1_conv").strides == (2, 2) and "conv1_pool" not in {layer.name for layer in model.layers}
    assert model.get_layer("conv2_conv").output.shape[1:3] == (24, 24)  # the stem alone halves 48 px
    assert model.get_layer("flatten").output.shape[-1] == 3 * 3 * 152


def test_widening_a_ferfast_keeps_its_outputs_and_refuses_a_narrower_width(tmp_path):
    from fer_edge.train.models import build_ferfast

    widen = _load_recipe(RECIPES / "ferfast_widen.py")
    source = build_ferfast()
    rng = np.random.default_rng(0)
    source.set_weights([w + rng.normal(0, 0.05, w.shape) for w in source.get_weights()])  # not a fresh model
    faces = rng.uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)
    wide = widen.widen(source, 152, stride2_stem=False)
    assert wide.get_layer("conv5_conv").filters == 152 and wide.count_params() > source.count_params()
    np.testing.assert_allclose(predict_keras(wide, faces), predict_keras(source, faces), atol=1e-5)
    stem = widen.widen(source, 128, stride2_stem=True)  # the same weights in the stride-2 layout
    assert stem.get_layer("conv1_conv").strides == (2, 2)
    np.testing.assert_array_equal(stem.get_layer("conv3_conv").get_weights()[0], source.get_layer("conv3_conv").get_weights()[0])
    with pytest.raises(ValueError, match="narrower"):
        widen.widen(source, 112, stride2_stem=False)
    with pytest.raises(ValueError, match="RepVGG training branches"):  # only its 3x3 branch would be copied
        widen.widen(build_ferfast(branched=True), 152, stride2_stem=False)


def test_a_variant_refuses_options_its_stages_override(monkeypatch):
    variant = _load_recipe(RECIPES / "ferfast_variant.py")
    for option in ("--reparam", "--width"):
        monkeypatch.setattr(sys, "argv", ["ferfast_variant.py", "16,32,64,128x128", "--model", "ferfast", option])
        with pytest.raises(SystemExit, match="do not apply to a variant"):
            variant.main()


def _distill_args(tmp_path, **extra):
    from types import SimpleNamespace

    return SimpleNamespace(runs=tmp_path / "runs", results=tmp_path / "results", data="fer2013.npz", limit=None,
                           max_epochs=400, min_epochs=8, **extra)


def test_gpu_recipe_widens_the_shipped_model_for_its_variant_students(tmp_path, monkeypatch):
    distill = _load_recipe(RECIPES / "gpu_distill.py")
    args = _distill_args(tmp_path)
    args.runs.mkdir()
    logged = []
    monkeypatch.chdir(RECIPES.parent)  # the recipe runs from the checkout: models/ferfast.keras
    specs = distill.with_widened_init(distill.STUDENT_RUNS, args, logged.append)
    made = args.runs / distill.WIDE152_INIT
    assert specs.keys() == distill.STUDENT_RUNS.keys() and made.is_file()
    assert str(made) in specs["s2w152_fm_init"] and distill.WIDE152_INIT not in specs["s2w152_fm_init"]
    wide = keras.saving.load_model(made)
    assert wide.get_layer("conv5_conv").filters == 152 and wide.get_layer("conv1_conv").strides == (2, 2)
    # Without the shipped model (another folder), the student that needs it is left out, the rest run.
    monkeypatch.chdir(tmp_path)
    args.runs = tmp_path / "runs2"
    args.runs.mkdir()
    specs = distill.with_widened_init(distill.STUDENT_RUNS, args, logged.append)
    assert set(distill.STUDENT_RUNS) - set(specs) == {"s2w152_fm_init"}
    assert "failed" in logged[-1]


def test_gpu_recipe_trains_a_variant_student_through_the_variant_recipe(tmp_path, monkeypatch):
    distill = _load_recipe(RECIPES / "gpu_distill.py")
    args = _distill_args(tmp_path)
    args.runs.mkdir()
    launched = []

    class Launched:
        def __init__(self, cmd, **_):
            launched.append(cmd)

    monkeypatch.setattr(distill.subprocess, "Popen", Launched)
    for name, options in distill.STUDENT_RUNS.items():
        run = distill.Run(name, [*distill.STUDENT_COMMON, *options], 100, args, 0.0, print)
        run.launch(100)
        run.out.close()
    plain, _, variant, _ = launched
    assert plain[:2] == ["fer-edge", "train"] and "--variant" not in plain
    assert variant[1:4] == ["-P", str(RECIPES / "ferfast_variant.py"), distill.S2W152]
    assert "--variant" not in variant and variant[variant.index("--aug-strength") + 1] == "0.6"


def test_weight_average_keeps_a_greedy_soup_only_where_it_does_not_lose():
    soup = _load_recipe(RECIPES / "weight_average.py")
    a, b = [np.zeros((2, 2)), np.ones(3)], [np.full((2, 2), 2.0), np.full(3, 3.0)]
    mean = soup.average([a, b], [0, 1])
    np.testing.assert_array_equal(mean[0], np.ones((2, 2))) and np.testing.assert_array_equal(mean[1], np.full(3, 2.0))
    # scores: model 2 best alone; adding 0 helps, adding 1 hurts
    table = {(2,): 0.70, (0,): 0.65, (1,): 0.60, (2, 0): 0.71, (2, 0, 1): 0.69}
    kept, best, alone = soup.greedy_soup(lambda members: table[tuple(members)], 3)
    assert kept == [2, 0] and best == 0.71 and alone == [0.65, 0.60, 0.70]


def test_weight_average_scores_saves_a_soup_and_refuses_another_architecture(tmp_path, fer_csv):
    from fer_edge.train.models import build_ferfast

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        model = build_ferfast()
        model.set_weights([w + rng.normal(0, 0.05, w.shape) for w in model.get_weights()])
        model.save(tmp_path / f"{name}.keras")
    build_ferfast(width=112).save(tmp_path / "narrow.keras")
    recipe = [sys.executable, str(RECIPES / "weight_average.py"), "--data", str(fer_csv)]
    done = subprocess.run([*recipe, str(tmp_path / "a.keras"), str(tmp_path / "b.keras"), "-o", str(tmp_path / "soup.keras")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "uniform average of all 2" in done.stdout and "greedy soup of" in done.stdout
    kept = done.stdout.split("greedy soup of ")[1].split(":")[0]
    soup = keras.saving.load_model(tmp_path / "soup.keras")
    a = keras.saving.load_model(tmp_path / "a.keras")
    b = keras.saving.load_model(tmp_path / "b.keras")
    w = soup.get_weights()[0]
    if kept == "2":
        np.testing.assert_allclose(w, (a.get_weights()[0] + b.get_weights()[0]) / 2, atol=1e-6)
    else:
        assert any(np.array_equal(w, m.get_weights()[0]) for m in (a, b))
    done = subprocess.run([*recipe, str(tmp_path / "a.keras"), str(tmp_path / "narrow.keras")], capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: {tmp_path / 'narrow.keras'} is not the architecture of {tmp_path / 'a.keras'}: its weights do not average")
