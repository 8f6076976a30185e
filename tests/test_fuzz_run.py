"""Fuzzing what `fer-edge run` reads and writes (issue 22): pictures of every size, depth and format
OpenCV reads, damaged or claiming gigapixels, alone or in folders; videos in the containers it
writes, damaged or not videos at all; with JSONL, CSV and annotated outputs. Success or one
`error:` line within budget; a failed run leaves no output under its final name; an intact single
picture or video must run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from edge_fixtures import edge_model, edge_models  # noqa: F401 (fixtures)
from hypothesis import given
from hypothesis import strategies as st

from fuzz_strategies import case_folder, fuzz_settings, image_file, mutated
from fuzz_support import check, count_case, examples

VIDEO_KINDS = [("MJPG", ".avi"), ("mp4v", ".mp4"), ("mp4v", ".mov"), ("MJPG", ".mkv")]
# Frame sizes `run` refuses to write by design (edge/outputs/): an intact input may still meet them.
FRAME_SIZE_REFUSALS = ("encoder cannot write",)


@st.composite
def outputs(draw, single_image: bool):
    """Output options: always a JSONL file; a CSV, an annotated video or picture sometimes."""
    chosen = [("--jsonl", "o.jsonl")]
    if draw(st.booleans()):
        chosen.append(("--csv", "o.csv"))
    video = draw(st.sampled_from([None, "o.mp4", "o.avi", "o.mkv"] + (["o.jpg", "o.png"] if single_image else [])))
    if video:
        chosen.append(("--output-video", video))
    return chosen


def run_args(edge_model, source, out, chosen, extra=()):
    args = ["run", "--source", source, "--headless", "--model", edge_model, *extra]
    for option, name in chosen:
        args += [option, out / name]
    return args


@fuzz_settings(100)
@given(files=st.lists(image_file(max_side=320), min_size=1, max_size=4), folder=st.booleans(), data=st.data())
def test_fuzz_pictures_for_run(edge_worker, edge_model, tmp_path, files, folder, data):
    count_case("run pictures")
    single = not folder or len(files) == 1
    chosen = data.draw(outputs(single))
    with case_folder(tmp_path) as case:
        src = case / "in"
        src.mkdir()
        for i, (blob, suffix, _) in enumerate(files):
            (src / f"p{i}{suffix}").write_bytes(blob)
        source = src if folder else src / f"p0{files[0][1]}"
        out = case / "out"
        out.mkdir()
        reply = check(edge_worker.run(run_args(edge_model, source, out, chosen)), outputs=out)
        if not folder and files[0][2] and files[0][1] not in (".jp2",):
            # an intact picture runs (a video name for one picture is refused by design)
            if not any(name.endswith((".mp4", ".avi", ".mkv")) for _, name in chosen):
                assert reply["code"] == 0, reply["stderr"]


MAKE_VIDEOS = """
import json, sys
import cv2, numpy as np
out, specs = sys.argv[1], json.loads(sys.argv[2])
for i, (fourcc, suffix, w, h, n, fps) in enumerate(specs):
    writer = cv2.VideoWriter(f"{out}/v{i}{suffix}", cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    base = np.random.default_rng(i).integers(0, 256, (h, w, 3)).astype(np.uint8)
    for k in range(n):
        writer.write(np.roll(base, 3 * k, axis=1))
    writer.release()
"""


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    """Short videos of varied container, size (odd, tiny, wide), length and rate, written by OpenCV
    in a child process: its encoder once aborted the test process itself, rarely and not again."""
    rng = np.random.default_rng(0)
    specs = []
    for i in range(examples(24)):
        fourcc, suffix = VIDEO_KINDS[i % len(VIDEO_KINDS)]
        w, h = (int(v) for v in rng.choice([2, 3, 17, 48, 64, 97, 160, 200], 2))
        if fourcc == "MJPG":
            w = max(w, 8)  # narrower corrupts OpenCV's heap (`run` refuses to write such a video)
        specs.append((fourcc, suffix, w, h, int(rng.integers(1, 13)), float(rng.choice([1.0, 12.5, 25.0, 30.0, 60.0]))))
    out = tmp_path_factory.mktemp("videos")
    proc = subprocess.run([sys.executable, "-c", MAKE_VIDEOS, str(out), json.dumps(specs)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = [out / f"v{i}{spec[1]}" for i, spec in enumerate(specs)]
    return [p for p in made if p.is_file() and p.stat().st_size > 0]


@fuzz_settings(60)
@given(data=st.data(), kind=st.sampled_from(["intact", "intact", "damaged", "cut", "junk"]), thread=st.booleans())
def test_fuzz_videos_for_run(edge_worker, edge_model, videos, tmp_path, data, kind, thread):
    count_case("run videos")
    chosen = data.draw(outputs(False))
    original = data.draw(st.sampled_from(videos))
    with case_folder(tmp_path) as case:
        src = case / f"v{original.suffix}"
        blob = original.read_bytes()
        if kind == "damaged":
            blob = data.draw(mutated(blob, at_most=8))
        elif kind == "cut":
            blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
        elif kind == "junk":
            blob = data.draw(st.binary(max_size=500))
        src.write_bytes(blob)
        out = case / "out"
        out.mkdir()
        extra = ["--capture-thread" if thread else "--no-capture-thread"]
        reply = check(edge_worker.run(run_args(edge_model, src, out, chosen, extra)), outputs=out)
        if kind == "intact" and not any(refused in reply["stderr"] for refused in FRAME_SIZE_REFUSALS):
            assert reply["code"] == 0, reply["stderr"]
