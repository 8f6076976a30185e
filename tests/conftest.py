"""Shared fixtures: small generated FER2013 files in every supported layout, and real-data paths."""

from __future__ import annotations

import csv
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

import fuzz_support
from fer_edge.labels import EMOTIONS
from fuzz_support import edge_worker, host_worker  # noqa: F401 (fixtures shared by the fuzz modules)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FER2013_TAR = SHARED / "datasets" / "fer2013" / "fer2013.tar.gz"
MEDIA = SHARED / "media"


# Where the code under test (and the libraries it loads) would write into the user's home: parsed data
# and teacher caches, Keras' keras.json, matplotlib's font cache. Each test session gets its own.
HOME_WRITERS = ("FER_EDGE_CACHE_DIR", "KERAS_HOME", "MPLCONFIGDIR")


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true",
                     help="fer-edge: ten times the fuzz cases of the CI budget (also FER_EDGE_FUZZ=long)")


def pytest_configure(config):
    """Before any fixture or test module loads (a session fixture that parses data would otherwise
    cache it in ~/.cache/fer-edge), point every home-writing cache at a folder of this session;
    subprocesses inherit it. The fuzz budget is read when the fuzz modules load, after this."""
    if config.getoption("--fuzz-long"):
        os.environ["FER_EDGE_FUZZ"] = "long"
    root = Path(tempfile.mkdtemp(prefix="fer-edge-test-home-"))
    config._fer_edge_home = root
    for name in HOME_WRITERS:
        os.environ[name] = str(root / name.lower())


def pytest_terminal_summary(terminalreporter):
    """How many cases the fuzz tests generated (tests/fuzz_support.py), when any ran."""
    line = fuzz_support.summary_line()
    if line:
        terminalreporter.write_line(line)


def pytest_unconfigure(config):
    root = getattr(config, "_fer_edge_home", None)
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)


def make_rows(per_class: dict[str, int], seed: int = 0) -> list[tuple[int, np.ndarray, str]]:
    """(emotion, 48x48 uint8 image, usage) rows; each class gets a distinct brightness pattern."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage, n in per_class.items():
        for i in range(n):
            label = i % len(EMOTIONS)
            base = np.full((48, 48), 30 + label * 30, dtype=np.int16)
            img = np.clip(base + rng.integers(-20, 21, (48, 48)), 0, 255).astype(np.uint8)
            rows.append((label, img, usage))
    return rows


def write_csv(path: Path, rows, header=("emotion", "pixels", "Usage")) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for label, img, usage in rows:
            w.writerow([label, " ".join(str(int(v)) for v in img.ravel()), usage])
    return path


@pytest.fixture(scope="session")
def fer_rows():
    return make_rows({"Training": 70, "PublicTest": 21, "PrivateTest": 14})


@pytest.fixture(scope="session")
def fer_csv(tmp_path_factory, fer_rows) -> Path:
    return write_csv(tmp_path_factory.mktemp("csv") / "fer2013.csv", fer_rows)


@pytest.fixture(scope="session")
def fer_tar(tmp_path_factory, fer_csv) -> Path:
    out = tmp_path_factory.mktemp("tar") / "fer2013.tar.gz"
    with tarfile.open(out, "w:gz") as tar:
        tar.add(fer_csv, arcname="fer2013/fer2013.csv")
    return out


@pytest.fixture(scope="session")
def fer_folder(tmp_path_factory, fer_rows) -> Path:
    root = tmp_path_factory.mktemp("folder")
    names = {"Training": "train", "PublicTest": "test", "PrivateTest": None}
    for i, (label, img, usage) in enumerate(fer_rows):
        if names[usage] is None:
            continue
        d = root / names[usage] / EMOTIONS[label]
        d.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(d / f"im{i}.png"), img)
    return root


@pytest.fixture(scope="session")
def fer_tiny_train(tmp_path_factory) -> Path:
    """A learnable tiny dataset for training tests: Training and PublicTest, all 7 classes."""
    rows = make_rows({"Training": 140, "PublicTest": 35}, seed=1)
    return write_csv(tmp_path_factory.mktemp("tiny") / "tiny.csv", rows)


@pytest.fixture
def real_fer2013() -> Path:
    if not FER2013_TAR.is_file():
        pytest.skip(f"{FER2013_TAR} not present")
    return FER2013_TAR
