"""Fuzzing the data readers (issue 22): FER2013 CSVs, prepared .npz/.npz.xz files, and image
folders as a folder, tar or zip. Every generated file goes through `fer-edge data info` (and a
prepared file also through `evaluate`): success or one `error:` line, within the time and memory
budget (tests/fuzz_support.py). A file generated intact must load, with the counts written."""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import zipfile

import numpy as np
from edge_fixtures import edge_model, edge_models  # noqa: F401 (fixtures)
from hypothesis import given
from hypothesis import strategies as st

from fer_edge.labels import EMOTIONS
from fuzz_strategies import case_folder, encode, fuzz_settings, image_file, json_values, mutated
from fuzz_support import check, count_case

PIXELS = 48 * 48
ODD_PIXELS = ["256", "-1", "4294967301", "99999999999999999999", "1.5", "nan", "x", "", "0x10", "+5", "1e2"]
USAGES = ["Training", "PublicTest", "PrivateTest"]


def counts(stdout: str) -> dict:
    """split -> per-class counts from `data info --json`."""
    return {name: s["per_class"] for name, s in json.loads(stdout)["splits"].items()}


def expected_counts(rows) -> dict:
    out: dict = {}
    for label, usage in rows:
        per_class = out.setdefault(usage, dict.fromkeys(EMOTIONS, 0))
        per_class[EMOTIONS[label]] += 1
    return out


@st.composite
def csv_file(draw):
    """(bytes, rows when every row is valid): Kaggle's layout, or variations on it a spreadsheet,
    a script or damage makes."""
    intact = True
    header = draw(st.sampled_from(["emotion,pixels,Usage", "Emotion,Pixels,usage", "\ufeffemotion,pixels,Usage",
                                   "pixels,emotion,Usage", "emotion,pixels", None]))
    if header is None:
        header, intact = draw(st.text(max_size=30)), False
    columns = [c.strip().lower().lstrip("\ufeff") for c in header.split(",")]
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    lines, rows = [header], []
    for _ in range(draw(st.integers(0, 8))):
        label = draw(st.integers(0, 6))
        shown = draw(st.sampled_from(["number", "name", "odd"]))
        text_label = {"number": str(label), "name": EMOTIONS[label].capitalize()}.get(shown)
        if text_label is None:
            text_label, intact = draw(st.sampled_from(["7", "-1", "x", "", " 3 ", "٣"])), False
        values = [str(v) for v in rng.integers(0, 256, PIXELS)]
        damage = draw(st.sampled_from(["none", "none", "none", "value", "count", "long"]))
        if damage == "value":
            values[draw(st.integers(0, PIXELS - 1))] = draw(st.sampled_from(ODD_PIXELS))
            intact = False
        elif damage == "count":
            values = values[:draw(st.integers(0, PIXELS - 1))] + values[:draw(st.integers(0, 3))]
            intact = intact and len(values) == PIXELS
        elif damage == "long":
            values = values * 40  # past csv's 131,072-character field limit
            intact = False
        usage = draw(st.sampled_from(USAGES + ["", "Weird"]))
        fields = {"emotion": text_label, "pixels": " ".join(values), "usage": usage}
        line = [fields.get(c, "") for c in columns]
        if draw(st.integers(0, 9)) == 0:
            line.append("extra")
            intact = False
        lines.append(",".join(f'"{v}"' if "," in v else v for v in line))
        rows.append((label, usage if "usage" in columns else "Training"))
    data = ("\n".join(lines) + "\n").encode()
    if draw(st.integers(0, 3)) == 0:
        data, intact = draw(mutated(data)), False
    valid = intact and {"emotion", "pixels"} <= set(columns) and rows and all(u in USAGES for _, u in rows)
    return data, (rows if valid else None)


def pack(folder, data: bytes, name: str, container: str):
    """`data` as `name` in a container: as it is, in a tar (plain or compressed) or a zip."""
    if container == "file":
        path = folder / name
        path.write_bytes(data)
        return path
    if container == "zip":
        path = folder / "fer2013.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"fer2013/{name}", data)
        return path
    path = folder / f"fer2013.{container}"
    with tarfile.open(path, "w:" + container.split(".")[-1].replace("tar", "")) as tar:
        info = tarfile.TarInfo(f"fer2013/{name}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@fuzz_settings(120)
@given(csv=csv_file(), container=st.sampled_from(["file", "file", "zip", "tar.gz", "tar"]), cache=st.booleans())
def test_fuzz_fer2013_csv(edge_worker, tmp_path, csv, container, cache):
    count_case("csv")
    data, rows = csv
    with case_folder(tmp_path) as folder:
        path = pack(folder, data, "fer2013.csv", container)
        reply = check(edge_worker.run(["data", "info", path, "--json", *([] if cache else ["--no-cache"])]))
        if rows is not None:
            assert reply["code"] == 0, reply["stderr"]
            assert counts(reply["stdout"]) == expected_counts(rows)


@st.composite
def npz_file(draw):
    """(bytes, suffix, counts when intact): a prepared data file as fer-edge writes it, or with
    other shapes, types, labels, metadata, or damage."""
    n = draw(st.integers(0, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    images = rng.integers(0, 256, (n, 48, 48)).astype(np.uint8)
    labels = rng.integers(0, 7, n).astype(np.int8)
    meta = {"format": 1, "source": "fuzz", "splits": ["Training"]}
    intact = True
    change = draw(st.sampled_from(["none", "none", "shape", "dtype", "labels", "meta", "missing", "bytes"]))
    if change == "shape":
        shape = draw(st.tuples(st.integers(0, 9), st.sampled_from([0, 1, 47, 48, 49]), st.sampled_from([1, 48, 96])))
        images = rng.integers(0, 256, shape + ((3,) if draw(st.booleans()) else ())).astype(np.uint8)
    elif change == "dtype":
        dtype = draw(st.sampled_from([np.int8, np.float32, np.int64, np.bool_, np.uint16]))
        images, labels = images.astype(dtype), labels.astype(draw(st.sampled_from([np.int8, np.float32, np.uint8])))
    elif change == "labels":
        labels = np.array(draw(st.lists(st.integers(-300, 300), min_size=0, max_size=9)), np.int64)
    elif change == "meta":
        meta = draw(st.one_of(json_values, st.fixed_dictionaries(
            {"format": st.sampled_from([1, 2, 0, "1", None]), "source": json_values,
             "splits": st.one_of(st.lists(st.sampled_from(USAGES + ["x", ""]), max_size=3), json_values),
             "coding": st.sampled_from(["med", None, 5])})))
    intact = change == "none" or (change == "labels" and len(labels) == n and all(0 <= v < 7 for v in labels))
    arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8), "images_0": images, "labels_0": labels}
    if change == "missing":
        arrays.pop(draw(st.sampled_from(sorted(arrays))))
    buf = io.BytesIO()
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buf, **arrays)
    data = buf.getvalue()
    if change == "bytes":
        data, intact = draw(mutated(data)), False
    suffix = ".npz"
    if draw(st.integers(0, 3)) == 0:
        data, suffix = lzma.compress(data), ".npz.xz"
        if draw(st.integers(0, 2)) == 0:
            data, intact = draw(mutated(data)), False
    expected = expected_counts([(int(v), "Training") for v in labels]) if intact and n else None
    return data, suffix, expected


@fuzz_settings(120)
@given(npz=npz_file(), evaluate=st.integers(0, 3))
def test_fuzz_prepared_npz(edge_worker, edge_model, tmp_path, npz, evaluate):
    count_case("npz")
    data, suffix, expected = npz
    with case_folder(tmp_path) as folder:
        path = folder / f"data{suffix}"
        path.write_bytes(data)
        reply = check(edge_worker.run(["data", "info", path, "--json"]))
        if expected is not None:
            assert reply["code"] == 0 and counts(reply["stdout"]) == expected, reply["stderr"]
        if evaluate == 0:
            check(edge_worker.run(["evaluate", edge_model, "--data", path, "--split", "Training", "--json"]))


SPLIT_DIRS = ["train", "test", "PublicTest", "val", "Training", "other", "..", "__MACOSX"]
SUFFIXES = [".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".txt"]


@st.composite
def image_tree(draw):
    """(members, counts when intact): (path, bytes) pairs in the image-folder layout, or beside it."""
    members, rows, intact = [], [], True
    for i in range(draw(st.integers(0, 7))):
        split = draw(st.sampled_from(SPLIT_DIRS))
        label = draw(st.integers(0, 6))
        cls = EMOTIONS[label] if draw(st.integers(0, 5)) else draw(st.sampled_from(["Happy", "7", "joy", "3"]))
        data, fmt, fine = draw(image_file(max_side=96))
        suffix = fmt if fmt in SUFFIXES and draw(st.integers(0, 5)) else draw(st.sampled_from(SUFFIXES))
        name = f"{draw(st.sampled_from(['', 'fer2013/', '/', '../']))}{split}/{cls}/im{i}{suffix}"
        members.append((name, data))
        counted = split.lower() in ("train", "test", "publictest", "val", "training") and suffix != ".txt"
        known_class = cls in EMOTIONS or cls == "Happy" or cls == "3"
        if counted and known_class:
            rows.append((EMOTIONS.index(cls.lower()) if not cls.isdigit() else int(cls),
                         {"train": "Training", "training": "Training", "test": "Test", "publictest": "PublicTest",
                          "val": "PublicTest"}[split.lower()]))
        if name.startswith(("/", "../")) or (counted and known_class and not fine) or split == "..":
            intact = False
    return members, (rows if intact and rows else None)


def write_tree(folder, members, container: str, draw_bytes):
    root = folder / "faces"
    if container == "folder":  # split/class/file at the top (a folder has no "../" or absolute members)
        for name, data in members:
            path = root.joinpath(*[p if p not in ("..", "") else "dotdot" for p in name.split("/")[-3:]])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        root.mkdir(exist_ok=True)
        return root
    if container == "zip":
        path = folder / "faces.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members:
                zf.writestr(name, data)
    else:
        path = folder / f"faces.{container}"
        with tarfile.open(path, "w:" + container.split(".")[-1].replace("tar", "")) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    if draw_bytes is not None:
        path.write_bytes(draw_bytes(path.read_bytes()))
    return path


@fuzz_settings(120)
@given(tree=image_tree(), container=st.sampled_from(["folder", "zip", "tar", "tar.gz", "tar.xz"]),
       damage=st.integers(0, 4), data=st.data())
def test_fuzz_image_folders_and_archives(edge_worker, tmp_path, tree, container, damage, data):
    count_case("image archives")
    members, rows = tree
    with case_folder(tmp_path) as folder:
        damaged = None if damage or container == "folder" else (lambda b: data.draw(mutated(b)))
        path = write_tree(folder, members, container, damaged)
        reply = check(edge_worker.run(["data", "info", path, "--json", "--no-cache"]))
        if rows is not None and damaged is None:
            assert reply["code"] == 0, reply["stderr"]
            assert counts(reply["stdout"]) == expected_counts(rows)


@fuzz_settings(8)
@given(side=st.sampled_from([5000, 9000, 16000]), fmt=st.sampled_from([".png", ".png", ".bmp", ".pgm"]),
       container=st.sampled_from(["zip", "tar.gz"]))
def test_fuzz_decompression_bombs_stay_in_budget(edge_worker, tmp_path, side, fmt, container):
    """Real pictures of one colour, megapixels each, a few hundred kilobytes packed: those within
    the budget load, the others are refused before they are decoded."""
    count_case("bombs")
    if fmt != ".png":
        side = min(side, 9000)  # uncompressed formats: 81 MB to build here is enough
    img = np.full((side, side), 7, np.uint8)
    encoded = encode(img, fmt)
    with case_folder(tmp_path) as folder:
        path = write_tree(folder, [(f"train/happy/big{fmt}", encoded), ("test/sad/ok.png", encode(img[:48, :48], ".png"))],
                          container, None)
        reply = check(edge_worker.run(["data", "info", path, "--json", "--no-cache"]))
        assert (reply["code"] == 0) == (side * side <= 1 << 25), reply["stderr"]
