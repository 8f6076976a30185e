"""FER2013 loaders in every layout, the cache, sampling, and every bad input the CLI must refuse."""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import time
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from fer_edge.cli import cli
from fer_edge.data.cache import load, load_npz, save_npz
from fer_edge.data.pixel_coding import med_residuals, med_restore
from fer_edge.data.readers import read_source
from fer_edge.data.sampling import stratified_indices
from fer_edge.errors import FerEdgeError
from fer_edge.labels import EMOTIONS

from conftest import make_rows, write_csv


def run_cli(*args):
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def test_csv_keeps_splits_and_pixels(fer_csv, fer_rows):
    ds = read_source(fer_csv)
    assert ds.split_names() == ["Training", "PublicTest", "PrivateTest"]
    assert [len(ds.splits[s]) for s in ds.split_names()] == [70, 21, 14]
    first = fer_rows[0]
    np.testing.assert_array_equal(ds.split("Training").images[0], first[1])
    assert ds.split("Training").labels[0] == first[0]
    assert ds.split("Training").per_class()["angry"] == 10


def test_tar_gz_read_without_extraction_matches_csv(fer_csv, fer_tar):
    a, b = read_source(fer_csv), read_source(fer_tar)
    for name in a.split_names():
        np.testing.assert_array_equal(a.split(name).images, b.split(name).images)
        np.testing.assert_array_equal(a.split(name).labels, b.split(name).labels)


def test_image_folder_and_zip(fer_folder, fer_rows, tmp_path):
    ds = read_source(fer_folder)
    assert set(ds.split_names()) == {"Training", "Test"}
    assert len(ds.split("Training")) == 70 and len(ds.split("Test")) == 21
    assert sorted(ds.split("Training").per_class().values()) == [10] * 7
    zpath = tmp_path / "archive.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(fer_folder.rglob("*.png")):
            zf.write(f, f.relative_to(fer_folder).as_posix())
    dz = read_source(zpath)
    assert len(dz.split("Training")) == 70
    # lossless PNGs: same pixels whichever container they come in
    assert sorted(map(bytes, ds.split("Test").images)) == sorted(map(bytes, dz.split("Test").images))


def test_cache_round_trip_and_second_load_is_fast(fer_tar, tmp_path):
    first = load(fer_tar)
    t = time.perf_counter()
    second = load(fer_tar)
    assert time.perf_counter() - t < 2.0
    np.testing.assert_array_equal(first.split("PublicTest").images, second.split("PublicTest").images)
    out = save_npz(first, tmp_path / "c.npz")
    again = load_npz(out)
    assert again.summary() == first.summary()


def test_stratified_sample_is_deterministic_and_covers_all_classes(fer_csv):
    labels = read_source(fer_csv).split("Training").labels
    a = stratified_indices(labels, 20, seed=3)
    b = stratified_indices(labels, 20, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 20 and len(set(a.tolist())) == 20
    assert set(labels[a].tolist()) == set(range(7))
    assert not np.array_equal(a, stratified_indices(labels, 20, seed=4))


def test_stratified_sample_rare_class_and_errors():
    labels = np.array([3] * 500 + [0, 1, 2, 4, 5, 6])
    idx = stratified_indices(labels, 10)
    assert set(labels[idx].tolist()) == set(range(7))
    with pytest.raises(FerEdgeError, match="no rows of disgust"):
        stratified_indices(np.array([0, 2, 3, 4, 5, 6] * 3), 7)
    with pytest.raises(FerEdgeError, match="no rows of neutral"):
        stratified_indices(np.array([0, 1, 2, 3, 4, 5]), 8)


def test_data_info_table_and_json(fer_tar):
    res = run_cli("data", "info", fer_tar, "--json")
    assert res.exit_code == 0
    summary = json.loads(res.output)
    assert summary["splits"]["Training"]["total"] == 70
    assert summary["splits"]["PrivateTest"]["per_class"] == {e: 2 for e in EMOTIONS}
    table = run_cli("data", "info", fer_tar).output
    assert "PublicTest" in table and "disgust" in table


def test_data_prepare_writes_loadable_cache(fer_csv, tmp_path):
    res = run_cli("data", "prepare", fer_csv, "-o", tmp_path / "fer.npz")
    assert res.exit_code == 0, res.output
    assert load(tmp_path / "fer.npz").summary() == read_source(fer_csv).summary()


def _bad_csv(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


PIX = " ".join(["7"] * 2304)


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("cols.csv", "label,image\n0,1 2 3\n", "wrong columns"),
        ("short.csv", "emotion,pixels,Usage\n0," + " ".join(["7"] * 2303) + ",Training\n", "line 2: 2303 pixel values"),
        ("big.csv", "emotion,pixels,Usage\n0," + PIX + ",Training\n3," + " ".join(["300"] + ["1"] * 2303) + ",Training\n",
         "line 3: pixel value 300"),
        ("label.csv", "emotion,pixels,Usage\n9," + PIX + ",Training\n", "line 2: unknown emotion label '9'"),
        ("words.csv", "emotion,pixels,Usage\n1," + "a " * 2304 + ",Training\n", "line 2: pixels must be whole numbers"),
        ("tail.csv", "emotion,pixels,Usage\n1," + PIX + " junk,Training\n", "line 2: pixels must be whole numbers"),
        ("glued.csv", "emotion,pixels,Usage\n1," + PIX + "x,Training\n", "line 2: pixels must be whole numbers"),
        ("empty.csv", "", "not a FER2013 CSV"),
        ("notes.txt", "just some notes\nnothing here\n", "wrong columns"),
    ],
)
def test_bad_csv_gives_one_line_error_naming_file_and_row(tmp_path, name, text, message):
    p = _bad_csv(tmp_path, name, text)
    res = run_cli("data", "info", p)
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and res.output.startswith("error: ")
    assert str(p) in res.output and message in res.output
    assert "Traceback" not in res.output


def test_a_file_named_as_an_archive_that_is_not_one_says_so(tmp_path):
    fake = tmp_path / "fer2013.tar.gz"
    fake.write_text("emotion,pixels,Usage\n")  # e.g. a mis-saved download: not "wrong columns"
    res = run_cli("data", "info", fake)
    assert res.exit_code == 1 and "not a readable tar or zip archive" in res.output


def test_writing_into_a_missing_folder_is_a_clear_error(tmp_path):
    from fer_edge.atomic import write_text
    from fer_edge.errors import FerEdgeError

    with pytest.raises(FerEdgeError, match="cannot write there"):
        write_text(tmp_path / "no_folder" / "out.json", "{}")
    assert not (tmp_path / "no_folder").exists()


def test_output_targets_are_checked_before_the_work(tmp_path):
    """One check for every command's output file (train plots, convert, data prepare, run's outputs)."""
    from fer_edge.atomic import require_output_folder
    from fer_edge.errors import FerEdgeError

    assert require_output_folder(tmp_path / "out.json") == tmp_path / "out.json"
    with pytest.raises(FerEdgeError, match=r"^--jsonl .*: is a folder; give a file name$"):
        require_output_folder(tmp_path, "--jsonl")
    with pytest.raises(FerEdgeError, match=r"out.json: output folder .*no_folder does not exist$"):
        require_output_folder(tmp_path / "no_folder" / "out.json")


def test_writing_through_a_symlink_replaces_its_file_and_keeps_the_link(tmp_path):
    from fer_edge.atomic import write_text

    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "out.json").write_text("old")
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "real" / "out.json")
    write_text(link, "new")
    assert link.is_symlink() and (tmp_path / "real" / "out.json").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["out.json"]


def test_missing_file_and_binary_file(tmp_path):
    res = run_cli("data", "info", tmp_path / "nope.csv")
    assert res.exit_code == 1 and "no such file" in res.output
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(256)) * 10)
    res = run_cli("data", "info", blob)
    assert res.exit_code == 1 and "not a FER2013 CSV, tar/zip archive or image folder" in res.output
    empty_dir = tmp_path / "emptydir"
    empty_dir.mkdir()
    res = run_cli("data", "info", empty_dir)
    assert res.exit_code == 1 and "not a FER2013" in res.output


def test_empty_split_requested(fer_tiny_train):
    with pytest.raises(FerEdgeError, match="no PrivateTest rows .*splits present: Training, PublicTest"):
        load(fer_tiny_train).split("PrivateTest")
    res = run_cli("data", "sample", fer_tiny_train, "--split", "PrivateTest", "-o", fer_tiny_train.parent / "s.npz")
    assert res.exit_code == 1 and "no PrivateTest rows" in res.output


@pytest.mark.parametrize("member", ["../evil.csv", "/abs/fer2013.csv", "fer2013/../../x.csv"])
def test_tar_member_escaping_target_is_refused(tmp_path, member):
    p = tmp_path / "bad.tar.gz"
    data = b"emotion,pixels,Usage\n"
    with tarfile.open(p, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    res = run_cli("data", "info", p)
    assert res.exit_code == 1 and "escapes the target directory" in res.output and member in res.output


def test_csv_without_usage_column_is_training(tmp_path):
    rows = make_rows({"Training": 7})
    p = write_csv(tmp_path / "train_only.csv", [(l, i, u) for l, i, u in rows], header=("emotion", "pixels", "Usage"))
    text = p.read_text().splitlines()
    p.write_text("\n".join(",".join(line.split(",")[:2]) for line in text) + "\n")
    ds = read_source(p)
    assert ds.split_names() == ["Training"] and len(ds.split("Training")) == 7


def test_real_fer2013_official_counts(real_fer2013):
    res = run_cli("data", "info", real_fer2013, "--json")
    summary = json.loads(res.stdout)["splits"]
    assert summary["Training"]["total"] == 28709
    assert summary["PublicTest"]["total"] == 3589
    assert summary["Training"]["per_class"]["disgust"] == 436


def test_xz_cache_round_trip(fer_csv, tmp_path):
    res = run_cli("data", "prepare", fer_csv, "-o", tmp_path / "fer.npz.xz")
    assert res.exit_code == 0, res.output
    packed = tmp_path / "fer.npz.xz"
    plain = save_npz(read_source(fer_csv), tmp_path / "plain.npz")
    assert packed.stat().st_size < plain.stat().st_size
    np.testing.assert_array_equal(load(packed).split("Training").images, load(plain).split("Training").images)
    broken = tmp_path / "broken.npz.xz"
    broken.write_bytes(b"not xz at all")
    with pytest.raises(FerEdgeError, match="not a fer-edge data cache"):
        load(broken)


def test_med_coding_is_lossless_and_packs_smooth_faces_smaller_than_byte_delta():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (20, 48, 48), dtype=np.uint8)  # every wrap-around case
    yy, xx = np.mgrid[0:48, 0:48]
    faces = np.clip(120 + 60 * np.sin(xx / 7.0 + rng.uniform(0, 6, (30, 1, 1))) * np.cos(yy / 9.0)
                    + rng.normal(0, 2, (30, 48, 48)), 0, 255).astype(np.uint8)
    for images in (noise, faces, np.zeros((2, 48, 48), np.uint8), np.full((2, 48, 48), 255, np.uint8)):
        residuals = med_residuals(images)
        assert residuals.dtype == np.uint8 and residuals.shape == images.shape
        np.testing.assert_array_equal(med_restore(residuals), images)
    delta = [{"id": lzma.FILTER_DELTA, "dist": 1}, {"id": lzma.FILTER_LZMA2, "preset": 9}]
    plain = [{"id": lzma.FILTER_LZMA2, "preset": 9}]
    by_delta = len(lzma.compress(faces.tobytes(), format=lzma.FORMAT_XZ, filters=delta))
    by_med = len(lzma.compress(med_residuals(faces).tobytes(), format=lzma.FORMAT_XZ, filters=plain))
    assert by_med < by_delta


def test_xz_cache_of_the_earlier_byte_delta_format_still_loads(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    meta = {"format": 1, "source": "old", "splits": ["Training"]}
    buf = io.BytesIO()
    np.savez(buf, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), images_0=images,
             labels_0=np.arange(5, dtype=np.int8))
    old = tmp_path / "old.npz.xz"
    old.write_bytes(lzma.compress(buf.getvalue(), format=lzma.FORMAT_XZ,
                                  filters=[{"id": lzma.FILTER_DELTA, "dist": 1}, {"id": lzma.FILTER_LZMA2}]))
    np.testing.assert_array_equal(load(old).split("Training").images, images)


@pytest.mark.parametrize("name, written", [("s.npz.xz", "s.npz.xz"), ("s.npz", "s.npz"), ("s", "s.npz"), (".", "sample.npz")])
def test_data_sample_writes_the_cache_name_asked_for(fer_tiny_train, tmp_path, name, written):
    # `.npz.xz` once became `.npz.npz`: the name must stay as given, compressed when it says so
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = run_cli("data", "sample", fer_tiny_train, "-n", "20", "-o", out_dir / name)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out_dir.iterdir()) == [written]
    assert len(load(out_dir / written).split("Training")) == 20


def test_spreadsheet_csvs_bom_header_case_and_latin1_bytes_read_as_kaggle_s(fer_csv, tmp_path):
    """Excel writes a byte-order mark, people retype headers, and a stray non-UTF-8 byte must not
    stop a folder's CSV any more than a file's."""
    want = read_source(fer_csv)
    text = fer_csv.read_text()
    header, body = text.split("\n", 1)
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "case.csv").write_text("Emotion,PIXELS,usage\n" + body)
    latin = tmp_path / "latin"
    latin.mkdir()
    (latin / "fer2013.csv").write_bytes(f"{header},note\n".encode()
                                        + b"\n".join(line.encode() + b",caf\xe9" for line in body.splitlines()) + b"\n")
    for path in (tmp_path / "bom.csv", tmp_path / "case.csv", latin):
        got = read_source(path)
        assert got.split_names() == want.split_names(), path  # usage read: PublicTest not merged into Training
        for name in want.split_names():
            np.testing.assert_array_equal(got.split(name).images, want.split(name).images)


def test_kaggle_challenge_zip_reads_the_csv_with_labels_and_usage(fer_csv, tmp_path):
    """The challenge's own zip holds train.csv (no Usage), test.csv (no labels) and icml_face_data.csv
    (all three, with spaces after the commas)."""
    header, body = fer_csv.read_text().split("\n", 1)
    lines = [line.split(",") for line in body.splitlines()]
    with zipfile.ZipFile(tmp_path / "challenge.zip", "w") as zf:
        zf.writestr("test.csv", "pixels\n" + "\n".join(p for _, p, _ in lines) + "\n")
        zf.writestr("train.csv", "emotion,pixels\n" + "\n".join(f"{e},{p}" for e, p, _ in lines) + "\n")
        zf.writestr("icml_face_data.csv", "emotion, Usage, pixels\n" + "\n".join(f"{e},{u},{p}" for e, p, u in lines) + "\n")
        zf.writestr("__MACOSX/._fer2013.csv", b"\x00\x05\x16\x07")  # macOS metadata, not a CSV
    got, want = read_source(tmp_path / "challenge.zip"), read_source(fer_csv)
    assert got.split_names() == want.split_names()
    np.testing.assert_array_equal(got.split("PublicTest").images, want.split("PublicTest").images)


def test_image_folder_skips_macos_metadata_and_scales_16_bit_pngs(fer_folder, tmp_path):
    import shutil

    import cv2

    root = tmp_path / "imgs"
    shutil.copytree(fer_folder, root)
    happy = root / "train" / "happy"
    (happy / "._im3.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # what a Mac's zip or copy leaves
    (root / "__MACOSX" / "train" / "happy").mkdir(parents=True)
    (root / "__MACOSX" / "train" / "happy" / "._im3.png").write_bytes(b"\x00\x05\x16\x07")
    face = np.full((48, 48), 200, np.uint8)
    cv2.imwrite(str(happy / "deep.png"), face.astype(np.uint16) * 257)  # 16-bit PNG of the same face
    ds = read_source(root)
    train = ds.split("Training")
    assert len(train) == 71 and train.images.dtype == np.uint8
    assert any((img == 200).all() for img in train.images)
    assert len(read_source(tmp_path).split("Training")) == 71  # the layout one folder down, as unpacked archives put it


def test_cache_is_not_served_for_a_file_replaced_with_its_times_restored(tmp_path, monkeypatch):
    """`cp -p`, `rsync -t` or `tar x` give a replaced file its old size and modification time."""
    import os
    import shutil

    from fer_edge.data.cache import cache_dir

    monkeypatch.setenv("FER_EDGE_CACHE_DIR", str(tmp_path / "cache"))
    rows = make_rows({"Training": 14, "PublicTest": 7}, seed=1)
    a = write_csv(tmp_path / "a.csv", rows)
    b = write_csv(tmp_path / "b.csv", rows[::-1])  # the same rows in another order: the same size
    assert a.stat().st_size == b.stat().st_size
    first = load(a)
    times = (a.stat().st_atime_ns, a.stat().st_mtime_ns)
    shutil.copyfile(b, tmp_path / "new.csv")
    os.replace(tmp_path / "new.csv", a)  # another file under the same name...
    os.utime(a, ns=times)  # ...with the same size and modification time
    replaced = load(a)
    np.testing.assert_array_equal(replaced.split("Training").images, read_source(b).split("Training").images)
    assert not np.array_equal(replaced.split("Training").images, first.split("Training").images)
    assert len(list(cache_dir().glob("*.npz"))) == 1  # the replaced file's cache was removed with its parse
    for cached in cache_dir().glob("*.npz"):
        cached.write_bytes(b"")  # a damaged cache (a full disk, a crash) is parsed again, not an error
    np.testing.assert_array_equal(load(a).split("Training").images, replaced.split("Training").images)


def test_the_cache_says_where_it_went_once_and_clear_cache_removes_it(tmp_path, monkeypatch):
    """`data info` wrote 74 MB under the home folder without a word."""
    from click.testing import CliRunner

    from fer_edge.cli import cli

    cache = tmp_path / "cache"
    monkeypatch.setenv("FER_EDGE_CACHE_DIR", str(cache))
    (cache / "teachers").mkdir(parents=True)
    (cache / "teachers" / "t.npy").write_bytes(b"x" * 1000)  # a teacher's cached predictions
    (cache / "mine.txt").write_text("the user's own file in the folder they named")
    src = write_csv(tmp_path / "f.csv", make_rows({"Training": 14, "PublicTest": 7}, seed=1))
    first = CliRunner().invoke(cli, ["data", "info", str(src)])
    assert first.exit_code == 0, first.output
    (npz,) = cache.glob("fer2013-*.npz")
    said = [line for line in first.stderr.splitlines() if line.startswith("cached the parsed data")]
    assert len(said) == 1 and str(npz) in said[0] and "fer-edge data clear-cache" in said[0]
    again = CliRunner().invoke(cli, ["data", "info", str(src)])
    assert again.exit_code == 0 and "cached" not in again.stderr  # once: a load from the cache says nothing
    cleared = CliRunner().invoke(cli, ["data", "clear-cache"])
    assert cleared.exit_code == 0 and cleared.output.startswith("removed 2 cached files (") and str(cache) in cleared.output
    assert sorted(p.name for p in cache.iterdir()) == ["mine.txt"]
    assert CliRunner().invoke(cli, ["data", "clear-cache"]).output.startswith("nothing cached in")
