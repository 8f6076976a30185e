"""Fuzzing `train --resume` (issue 22): a real one-epoch run folder with its config, checkpoint state
and checkpoint model damaged, edited or swapped. Success (the run has its epoch, so resuming only
writes its final files again) or one `error:` line, within budget; an untouched folder must resume."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz_strategies import case_folder, changed_fields, fuzz_settings, json_values, mutated
from fuzz_support import check, count_case


@pytest.fixture(scope="module")
def finished_run(host_worker, fer_tiny_train, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz-run") / "run"
    reply = host_worker.run(["train", "--model", "ferlite", "--data", fer_tiny_train, "--epochs", 1, "--limit", 32,
                             "--batch-size", 16, "--no-augment", "--out", root, "--quiet"], timeout=600, counted=False)
    assert reply.get("code") == 0, reply
    return root


@st.composite
def json_file(draw, base: dict, extra_keys=()):
    """(text or None for no file, intact)."""
    kind = draw(st.sampled_from(["intact", "intact", "fields", "fields", "fields", "text", "gone"]))
    text = json.dumps(base)
    if kind == "fields":
        text = json.dumps(draw(changed_fields(base, extra_keys)))
    elif kind == "text":
        text = draw(st.sampled_from([text[: len(text) // 2], "", "[" * 3000, json.dumps(draw(json_values)),
                                     text.replace('"', "'")]))
    return (None if kind == "gone" else text), kind == "intact"


@fuzz_settings(15)
@given(data=st.data())
def test_fuzz_resume_of_damaged_run_folders(host_worker, finished_run, fer_tiny_train, tmp_path, data):
    count_case("resume")
    config = json.loads((finished_run / "config.json").read_text())
    state = json.loads((finished_run / "checkpoint" / "state.json").read_text())
    config_text, config_ok = data.draw(json_file(config))
    state_text, state_ok = data.draw(json_file(state, extra_keys=("augment_seeds", "wall_s_before")))
    checkpoint = data.draw(st.sampled_from(["intact", "intact", "bytes", "best", "gone"]))
    with case_folder(tmp_path) as case:
        run = case / "run"
        shutil.copytree(finished_run, run)
        for path, text in ((run / "config.json", config_text), (run / "checkpoint" / "state.json", state_text)):
            if text is None:
                path.unlink()
            else:
                path.write_text(text)
        last = run / "checkpoint" / "last.keras"
        if checkpoint == "bytes":
            last.write_bytes(data.draw(mutated(last.read_bytes(), at_most=6)))
        elif checkpoint == "best":
            shutil.copy(run / "best.keras", last)  # a real model, but not a training checkpoint
        elif checkpoint == "gone":
            last.unlink()
        # --epochs 1: the run has its epoch, so an intact folder only writes its final files again;
        # a damaged count of epochs done may make it train one, which fits the time budget.
        reply = check(host_worker.run(["train", "--model", "ferlite", "--data", fer_tiny_train, "--out", run,
                                       "--resume", "--epochs", 1, "--quiet"]))
        if config_ok and state_ok and checkpoint == "intact":
            assert reply["code"] == 0, reply["stderr"]
