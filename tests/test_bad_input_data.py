"""Data files a hostile or careless user may hand over (issue 22): each is one `error:` line and a
non-zero exit, within a memory budget, and leaves no file under a final name."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from cli_checks import assert_one_error, final_names, run_cli
from conftest import make_rows, write_csv
from edge_fixtures import edge_model, edge_models  # noqa: F401 (fixtures)
from fer_edge.cli import cli


def invoke(*args):
    r = CliRunner().invoke(cli, list(map(str, args)))
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r


def one_error(*args) -> str:
    r = invoke(*args)
    return assert_one_error(r.exit_code, r.stderr, r.stdout)


def png_bytes(width: int, height: int) -> bytes:
    """A grey PNG of one colour, compressed row by row (a 16000x16000 picture in ~250 KB, built
    without holding its 256 MB of pixels)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte, then the row
    body = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    return png_bytes(16000, 16000)


def test_a_pixels_field_past_pythons_csv_field_limit_is_one_error(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("emotion,pixels,Usage\n0," + "1 " * 100_000 + ",Training\n")
    assert "not a FER2013 CSV" in one_error("data", "info", path, "--no-cache")


def test_a_line_of_megabytes_without_a_newline_is_refused_before_it_fills_memory(tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text("emotion,pixels,Usage\n" + "0" * (3 << 20))
    assert "longer than" in one_error("data", "info", path, "--no-cache")


@pytest.mark.parametrize("value", ["4294967301", "99999999999999999999999", "-4294967295"])
def test_a_pixel_value_past_32_bits_is_refused_not_wrapped(tmp_path, value):
    path = write_csv(tmp_path / "wrap.csv", make_rows({"Training": 7}))
    lines = path.read_text().splitlines()
    label, pixels, usage = lines[1].split(",")
    lines[1] = ",".join([label, " ".join([value, *pixels.split()[1:]]), usage])  # 2304 values, the first one huge
    path.write_text("\n".join(lines) + "\n")
    line = one_error("data", "info", path, "--no-cache")
    assert "outside 0..255" in line and "line 2" in line


def _npz(path, images, labels, splits=("Training",)):
    meta = json.dumps({"format": 1, "source": "hand-made", "splits": list(splits)}).encode()
    np.savez(path, meta=np.frombuffer(meta, np.uint8), images_0=images, labels_0=labels)
    return path


BAD_NPZ = {
    "label 9": (np.zeros((7, 48, 48), np.uint8), np.array([0, 1, 2, 3, 4, 5, 9], np.int8), "label 9 outside 0..6"),
    "label -1": (np.zeros((7, 48, 48), np.uint8), np.array([0, 1, 2, 3, 4, 5, -1], np.int8), "label -1"),
    "40x48 faces": (np.zeros((7, 40, 48), np.uint8), np.arange(7, dtype=np.int8), "faces of shape (40, 48)"),
    "float faces": (np.zeros((7, 48, 48), np.float32), np.arange(7, dtype=np.int8), "float32"),
    "colour faces": (np.zeros((7, 48, 48, 3), np.uint8), np.arange(7, dtype=np.int8), "faces of shape"),
    "fewer labels": (np.zeros((7, 48, 48), np.uint8), np.arange(6, dtype=np.int8), "labels for 7 faces"),
    "float labels": (np.zeros((7, 48, 48), np.uint8), np.arange(7, dtype=np.float32), "float32 labels"),
}


@pytest.mark.parametrize("case", BAD_NPZ)
def test_a_prepared_npz_with_wrong_shapes_or_labels_is_refused_by_every_command(tmp_path, edge_model, case):
    images, labels, says = BAD_NPZ[case]
    path = _npz(tmp_path / "bad.npz", images, labels)
    assert says in one_error("data", "info", path)
    assert says in one_error("evaluate", edge_model, "--data", path, "--split", "Training")
    assert says in one_error("data", "sample", path, "-n", 7, "-o", tmp_path / "s.npz")
    assert final_names(tmp_path) == ["bad.npz"]


def test_a_cache_claiming_gigabytes_is_refused_before_it_is_read(tmp_path):
    """An .npz member's declared size is what loading it would take: checked first."""
    path = _npz(tmp_path / "ok.npz", np.zeros((7, 48, 48), np.uint8), np.arange(7, dtype=np.int8))
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf, zf.open("images_1.npy", "w", force_zip64=True) as fh:
        chunk = bytes(1 << 24)
        for _ in range(160):  # 2.7 GB of zeros, a few MB compressed
            fh.write(chunk)
    assert "more than 2 GiB" in one_error("data", "info", path)


def _image_archive(path, kind, big):
    small = png_bytes(48, 48)
    members = [("fer/train/happy/big.png", big), ("fer/test/sad/ok.png", small)]
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    else:
        with tarfile.open(path, "w:gz") as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_an_archive_of_huge_pictures_is_refused_before_decoding(tmp_path, bomb_png, kind):
    """A 16000x16000 PNG of one colour is 250 KB; decoded it takes 256 MB, and OpenCV's
    conversions several times that (a 1.5 MB zip of such files took `data info` to 3.2 GB)."""
    path = _image_archive(tmp_path / f"faces.{kind}", kind, bomb_png)
    assert path.stat().st_size < 1 << 20
    done = run_cli(["data", "info", path, "--no-cache"], timeout=60, measure=True)
    line = assert_one_error(done.code, done.stderr, done.stdout)
    assert "16000x16000" in line and "megapixels" in line
    assert done.peak_mb < 250, f"peak {done.peak_mb:.0f} MB"


def test_an_image_folder_with_a_huge_picture_is_refused(tmp_path, bomb_png):
    d = tmp_path / "faces" / "train" / "happy"
    d.mkdir(parents=True)
    (d / "big.png").write_bytes(bomb_png)
    assert "16000x16000" in one_error("data", "info", tmp_path / "faces")


def test_a_picture_named_jpg_in_a_format_nothing_can_size_is_refused(tmp_path):
    d = tmp_path / "faces" / "train" / "happy"
    d.mkdir(parents=True)
    (d / "x.jpg").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 30000 +X 30000\n")
    assert "not a readable image" in one_error("data", "info", tmp_path / "faces")
