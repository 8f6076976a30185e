"""Model cards are rendered from the run files; the stage rows must say where each stage started
and which teachers it learned from, since every stage's model is called `<model>.keras`."""

from __future__ import annotations

import json

from pathlib import Path

from fer_edge.train.card import render

REPO = Path(__file__).resolve().parents[1]


def _run(root, name, config, accuracy):
    run = root / name
    run.mkdir()
    base = {"model": "ferfast", "epochs": 10, "learning_rate": 3e-4, "batch_size": 64, "class_weight": "sqrt",
            "label_smoothing": 0.1, "augment": False, "aug_strength": 1.0, "init": None, "teacher": None}
    (run / "config.json").write_text(json.dumps({**base, **config}))
    per_class = {"happy": {"precision": 0.9, "recall": 0.8, "f1": 0.85, "support": 10}}
    (run / "metrics.json").write_text(json.dumps({
        "model": "ferfast", "params": 542807, "epochs_run": 10, "best_epoch": 7, "wall_s": 120.0, "n": 10,
        "accuracy": accuracy, "macro_f1": 0.5, "per_class": per_class, "backend": "tensorflow",
        "distribution": "single device"}))
    return run


def test_stage_rows_name_the_start_and_every_teacher(tmp_path):
    first = _run(tmp_path, "stage1", {"augment": True, "aug_strength": 0.6,
                                      "teacher": ["runs/baseline_ft/baseline.keras", "runs/ferlite_ft/ferlite.keras"]},
                 0.6255)
    second = _run(tmp_path, "stage2", {"init": "runs/stage1/ferfast.keras", "teacher": "runs/old/teacher.keras"}, 0.6537)
    card = render([first, second], None, ["cmd one", "cmd two"], None, "test CPU")
    rows = [line for line in card.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |")]
    assert "from scratch, distilled from baseline_ft/baseline.keras + ferlite_ft/ferlite.keras; augmentation x0.6" in rows[0]
    assert "62.55%" in rows[0]
    # a run saved when --teacher took one path still renders
    assert "from stage1/ferfast.keras, distilled from old/teacher.keras; no augmentation" in rows[1]
    assert "accuracy **65.37%**" in card and "    cmd two" in card
    assert "Total wall time 4.0 min" in card


def test_stage_rows_say_online_teachers_and_mixup(tmp_path):
    run = _run(tmp_path, "fm", {"augment": True, "aug_strength": 1.0, "mixup": 0.2, "online_teacher": True,
                                "teacher": ["t/a.keras", "t/b.keras"]}, 0.66)
    row = next(line for line in render([run], None, ["cmd"], None, "GPU").splitlines() if line.startswith("| 1 |"))
    assert "distilled from t/a.keras + t/b.keras (online); augmentation x1.0, mixup 0.2;" in row


def test_stage_rows_say_where_precomputed_teacher_targets_came_from(tmp_path):
    run = _run(tmp_path, "fv", {"augment": False, "teacher": ["t/a.keras"], "teacher_data": "data/fer2013.tar.gz"}, 0.66)
    row = next(line for line in render([run], None, ["cmd"], None, "CPU").splitlines() if line.startswith("| 1 |"))
    assert "distilled from t/a.keras (their targets from data/fer2013.tar.gz); no augmentation;" in row


def test_stage_rows_say_a_run_trained_with_branches(tmp_path):
    run = _run(tmp_path, "rep", {"reparam": True}, 0.66)
    row = next(line for line in render([run], None, ["cmd"], None, "CPU").splitlines() if line.startswith("| 1 |"))
    assert "| 1 | from scratch, RepVGG branches folded after training; no augmentation;" in row


def test_a_shipped_variant_is_titled_by_its_name_and_its_builder(tmp_path):
    run = _run(tmp_path, "narrow", {"width": 112}, 0.65)
    assert render([run], None, ["cmd"], None, "test CPU").startswith("# Model card: `ferfast`\n")
    card = render([run], None, ["cmd"], None, "test CPU", name="ferfast112")
    assert card.startswith("# Model card: `ferfast112` (`ferfast --width 112`)\n")


def test_a_card_refuses_a_report_of_another_model_and_renders_one_without_latency(tmp_path):
    import pytest

    from fer_edge.train.card import main

    run = _run(tmp_path, "r", {}, 0.66)
    report = json.loads((REPO / "models" / "ferfast_int8.convert.json").read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**report, "model": "baseline"}))
    with pytest.raises(SystemExit, match="the conversion report is of 'baseline', the last run of 'ferfast'"):
        main([str(run), "--convert", str(other), "--train-command", "cmd", "-o", str(tmp_path / "c.md")])
    with pytest.raises(SystemExit, match="1 runs but 2 --train-command"):
        main([str(run), "--train-command", "a", "--train-command", "b", "-o", str(tmp_path / "c.md")])
    quick = tmp_path / "quick.json"  # `convert --latency-runs 0`, measured on PrivateTest
    quick.write_text(json.dumps({**report, "latency_ms": None, "eval": {"split": "PrivateTest", "faces": 3589}}))
    main([str(run), "--convert", str(quick), "--train-command", "cmd", "-o", str(tmp_path / "c.md")])
    card = (tmp_path / "c.md").read_text()
    accuracies = f"| PrivateTest accuracy | {100 * report['float_accuracy']:.2f}% | {100 * report['int8_accuracy']:.2f}% |"
    assert accuracies in card and "latency per face" not in card
    assert not (tmp_path / "c.md.tmp").exists()


def test_stages_on_different_machines_say_where_each_ran(tmp_path):
    gpu = _run(tmp_path, "gpu", {"augment": True, "online_teacher": True, "teacher": ["t/a.keras"]}, 0.6534)
    metrics = json.loads((gpu / "metrics.json").read_text())
    (gpu / "metrics.json").write_text(json.dumps({**metrics, "backend": "jax"}))
    cpu = _run(tmp_path, "cpu", {"init": "gpu/ferfast.keras"}, 0.676)
    card = render([gpu, cpu], None, ["cmd one", "cmd two"], None, ["NVIDIA H200", "test CPU"])
    rows = [line for line in card.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert "label smoothing 0.1; NVIDIA H200, Keras 3 on jax |" in rows[0]
    assert "label smoothing 0.1; test CPU, Keras 3 on tensorflow |" in rows[1]
    assert "Hardware and backend: per stage, below." in card and "Hardware: " not in card
    # one machine, one backend: said once, rows unchanged
    single = render([cpu], None, ["cmd"], None, "test CPU")
    assert "Hardware: test CPU; Keras 3 on tensorflow (single device)." in single and "Keras 3 on tensorflow |" not in single


def test_a_card_wants_one_hardware_or_one_per_stage(tmp_path):
    import pytest

    from fer_edge.train.card import main

    runs = [str(_run(tmp_path, n, {}, 0.6)) for n in ("a", "b", "c")]
    with pytest.raises(SystemExit, match="3 runs but 2 --hardware"):
        main([*runs, *["--train-command", "x"] * 3, "--hardware", "A", "--hardware", "B", "-o", str(tmp_path / "c.md")])
