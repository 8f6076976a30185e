"""Read FER2013 as people have it: Kaggle's fer2013.csv, the fer2013.tar.gz itself, or the
image-folder release (train/<class>/*.jpg, test/<class>/*.jpg), as a folder, tar or zip."""

from __future__ import annotations

import csv
import io
import lzma
import os
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import IO, Iterable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from fer_edge.data.dataset import Dataset, group_rows
from fer_edge.errors import FerEdgeError
from fer_edge.faces import FER_SIZE, resize_square, to_gray
from fer_edge.image_header import check_image_budget
from fer_edge.labels import label_index

PIXELS = FER_SIZE * FER_SIZE
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}
# Folder names of the image-folder releases. Their `test` folder holds PublicTest and PrivateTest
# together, so it keeps its own name rather than pretending to be either.
FOLDER_SPLITS = {
    "train": "Training",
    "training": "Training",
    "publictest": "PublicTest",
    "val": "PublicTest",
    "validation": "PublicTest",
    "privatetest": "PrivateTest",
    "test": "Test",
}


ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
# What gzip, bz2 and xz raise on damaged data: EOFError when cut short, zlib's and lzma's own errors,
# OSError (BadGzipFile, bz2's "Invalid data stream") for the rest.
DECOMPRESS_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)
# A FER2013 row is about 9 KB of text; a line of a megabyte is not one.
MAX_LINE = 1 << 20
# Budgets checked before reading or decoding an image of a folder, tar or zip: its stored size and
# the pixels its header claims (a face picture is far below both; a decompression bomb is not).
MAX_IMAGE_BYTES = 64 << 20
MAX_IMAGE_PIXELS = 1 << 25  # 33.5 megapixels: decoded as 16-bit RGBA, 268 MB


def read_source(path: str | os.PathLike, progress: bool = False) -> Dataset:
    """Parse FER2013 from a CSV, a tar/zip archive or a folder (no cache involved)."""
    p = Path(path)
    if not p.exists():
        raise FerEdgeError(f"{p}: no such file or folder")
    if p.is_dir():
        csvs = sorted(p.glob("*.csv")) or sorted(p.glob("*/*.csv"))
        if csvs and not _folder_splits(p):
            chosen = _pick_csv([(str(c), lambda c=c: c.open("rb")) for c in csvs])
            with open(chosen, newline="", encoding="utf-8-sig", errors="replace") as fh:
                return read_csv(fh, chosen, progress)
        return read_image_folder(p)
    if _is_tar(p):
        return read_tar(p, progress)
    if zipfile.is_zipfile(p):
        return read_zip(p, progress)
    if p.name.lower().endswith(ARCHIVE_SUFFIXES):  # named as an archive but not one: say so, not "wrong columns"
        raise FerEdgeError(f"{p}: not a readable tar or zip archive (truncated or not what its name says?)")
    with open(p, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head or not head.strip():
        raise FerEdgeError(f"{p}: not a FER2013 CSV, tar/zip archive or image folder")
    with open(p, newline="", encoding="utf-8-sig", errors="replace") as fh:  # -sig: Excel's byte-order mark
        return read_csv(fh, str(p), progress)


def _is_tar(p: Path) -> bool:
    """tarfile.is_tarfile, except that a damaged compressed file (a .tar.gz cut short) is an error
    here: is_tarfile lets the decompressor's EOFError or zlib.error out."""
    try:
        return tarfile.is_tarfile(p)
    except DECOMPRESS_ERRORS as exc:
        raise FerEdgeError(f"{p}: not a readable tar or zip archive ({type(exc).__name__}: {exc})") from None


def _header_names(first_line: bytes) -> set[str]:
    text = first_line.decode("utf-8-sig", errors="replace")
    return {h.strip().lower() for h in next(csv.reader([text]), [])}


def _pick_csv(candidates: list[tuple[str, callable]]) -> str:
    """The CSV to read among several (name, opener of its bytes): fer2013.csv, else one whose header
    has emotion, pixels and Usage, else emotion and pixels; the shortest name breaks ties. Kaggle's
    challenge zip holds train.csv (no Usage), test.csv (no labels) and icml_face_data.csv (all three)."""
    if len(candidates) == 1:
        return candidates[0][0]

    def rank(item):
        name, opener = item
        with opener() as fh:
            header = _header_names(fh.readline(65536))
        has_columns = {"emotion", "pixels"} <= header
        return (not name.endswith("fer2013.csv"), not (has_columns and "usage" in header), not has_columns, len(name))
    return min(candidates, key=rank)[0]


def _clip(text: str, most: int = 80) -> str:
    """A value from the file, short enough to quote in a one-line error (a data row as the header
    would quote 9 KB of pixels)."""
    return text if len(text) <= most else text[:most] + "..."


def _bounded_lines(stream: IO[str], name: str) -> Iterator[str]:
    """The stream's lines, refusing one longer than MAX_LINE: reading a newline-free gigabyte (a
    compressed archive makes one from a few kilobytes) would otherwise hold it all in memory."""
    line_no = 0
    while True:
        line = stream.readline(MAX_LINE)
        if not line:
            return
        line_no += 1
        if len(line) == MAX_LINE and not line.endswith("\n"):
            raise FerEdgeError(f"{name}: line {line_no} is longer than {MAX_LINE} characters; not a FER2013 CSV")
        yield line


def read_csv(stream: IO[str], name: str, progress: bool = False) -> Dataset:
    """Kaggle's columns: emotion, pixels (2304 grey levels), Usage (optional; Training if absent)."""
    try:
        return _read_csv_rows(csv.reader(_bounded_lines(stream, name)), name, progress)
    except csv.Error as exc:  # a field past csv's size limit, a NUL byte: not Kaggle's file
        raise FerEdgeError(f"{name}: not a FER2013 CSV ({exc})") from None


def _read_csv_rows(reader, name: str, progress: bool) -> Dataset:
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise FerEdgeError(f"{name}: empty file, expected a CSV with columns emotion,pixels,Usage") from None
    columns = [h.lower() for h in header]  # Emotion, usage: spreadsheets change the case
    if "emotion" not in columns or "pixels" not in columns:
        raise FerEdgeError(f"{name}: wrong columns {_clip(','.join(header))!r}, expected emotion,pixels,Usage")
    i_emotion, i_pixels = columns.index("emotion"), columns.index("pixels")
    i_usage = columns.index("usage") if "usage" in columns else None
    images: list[np.ndarray] = []
    labels: list[int] = []
    usages: list[str] = []
    rows = tqdm(reader, desc=f"reading {Path(name).name}", unit=" rows", disable=None if progress else True, leave=False)  # None: only on a terminal
    for line_no, row in enumerate(rows, start=2):
        if not row:
            continue
        where = f"{name}: line {line_no}"
        if len(row) != len(header):
            raise FerEdgeError(f"{where}: {len(row)} fields, expected {len(header)}")
        try:
            labels.append(label_index(row[i_emotion]))
        except ValueError:
            raise FerEdgeError(f"{where}: unknown emotion label {_clip(row[i_emotion])!r} (expected 0-6)") from None
        images.append(_parse_pixels(row[i_pixels], where))
        usages.append(row[i_usage].strip() if i_usage is not None else "Training")
    if not labels:
        raise FerEdgeError(f"{name}: no data rows")
    return group_rows(name, np.stack(images), np.asarray(labels, dtype=np.int64), usages)


def _parse_pixels(text: str, where: str) -> np.ndarray:
    # np.fromstring's text mode parses in C: the whole 35,887-row file in a few seconds. 64-bit, as
    # 32-bit wraps (4294967301 became 5); strtoll saturates larger numbers, which the range check refuses.
    try:
        values = np.fromstring(text, dtype=np.int64, sep=" ")
    except ValueError:
        values = np.array([], dtype=np.int32)
    if values.size == PIXELS:  # fast path; np.fromstring stops quietly at junk after the last number
        n_tokens = PIXELS if text.rsplit(None, 1)[-1].isdigit() else PIXELS + 1
    else:
        n_tokens = len(text.split())
    if values.size != n_tokens:
        raise FerEdgeError(f"{where}: pixels must be whole numbers separated by spaces")
    if values.size != PIXELS:
        raise FerEdgeError(f"{where}: {values.size} pixel values, expected {PIXELS} (48x48)")
    if values.min() < 0 or values.max() > 255:
        bad = int(values[(values < 0) | (values > 255)][0])
        raise FerEdgeError(f"{where}: pixel value {bad} outside 0..255")
    return values.astype(np.uint8).reshape(FER_SIZE, FER_SIZE)


def _check_member_path(archive: Path, member: str) -> None:
    """Refuse archive members that would land outside an extraction folder."""
    pure = PurePosixPath(member.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and pure.parts[0].endswith(":")):
        raise FerEdgeError(f"{archive}: archive member {member!r} escapes the target directory")


def read_tar(path: Path, progress: bool = False) -> Dataset:
    try:
        with tarfile.open(path, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member_path(path, m.name)
                if (m.issym() or m.islnk()) and m.linkname:
                    _check_member_path(path, str(PurePosixPath(m.name).parent / m.linkname))
            csvs = {m.name: m for m in members if m.isfile() and m.name.lower().endswith(".csv")}
            if csvs:
                member = csvs[_pick_csv([(n, lambda m=m: tar.extractfile(m)) for n, m in csvs.items()])]
                with tar.extractfile(member) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
                    return read_csv(text, f"{path}:{member.name}", progress)
            files = ((m.name, m.size, lambda m=m: tar.extractfile(m).read()) for m in members if m.isfile())
            return _read_image_members(path, files)
    except (tarfile.TarError, *DECOMPRESS_ERRORS) as exc:
        raise FerEdgeError(f"{path}: unreadable tar archive ({exc})") from None


def read_zip(path: Path, progress: bool = False) -> Dataset:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            for n in names:
                _check_member_path(path, n)
            csvs = [n for n in names if n.lower().endswith(".csv") and not _macos_metadata(PurePosixPath(n).parts)]
            if csvs:
                member = _pick_csv([(n, lambda n=n: zf.open(n)) for n in csvs])
                with zf.open(member) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
                    return read_csv(text, f"{path}:{member}", progress)
            files = ((i.filename, i.file_size, lambda i=i: zf.read(i)) for i in zf.infolist() if not i.is_dir())
            return _read_image_members(path, files)
    except (zipfile.BadZipFile, *DECOMPRESS_ERRORS, NotImplementedError, RuntimeError) as exc:
        # NotImplementedError: a compression method zipfile lacks; RuntimeError: an encrypted member
        raise FerEdgeError(f"{path}: unreadable zip archive ({exc})") from None


def _split_and_class(parts: tuple[str, ...]) -> tuple[str, int] | None:
    """('...', 'train', 'happy', 'x.jpg') -> ('Training', 3); None for files outside the layout."""
    if len(parts) < 3 or Path(parts[-1]).suffix.lower() not in IMAGE_SUFFIXES or _macos_metadata(parts):
        return None
    split = FOLDER_SPLITS.get(parts[-3].lower())
    if split is None:
        return None
    try:
        return split, label_index(parts[-2])
    except ValueError:
        return None


def _macos_metadata(parts: tuple[str, ...]) -> bool:
    """macOS's AppleDouble companions (__MACOSX/..., ._x.jpg): named like images, holding none."""
    return "__MACOSX" in parts or parts[-1].startswith("._")


def _decode(data: bytes, where: str) -> np.ndarray:
    check_image_budget(data, where, MAX_IMAGE_PIXELS)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FerEdgeError(f"{where}: not a readable image")
    if img.dtype == np.uint16:  # 16-bit PNG: to 0..255, or one such file would widen its whole split
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise FerEdgeError(f"{where}: {img.dtype} pixels; expected an 8- or 16-bit image")
    return resize_square(to_gray(img), FER_SIZE)


def _read_image_members(source: Path, files: Iterable[tuple[str, int, callable]]) -> Dataset:
    """`files`: (name, stored size, reader of its bytes); the size is checked before reading."""
    images, labels, usages = [], [], []
    for name, size, read in files:
        found = _split_and_class(PurePosixPath(name).parts)
        if found is None:
            continue
        if size > MAX_IMAGE_BYTES:
            raise FerEdgeError(f"{source}:{name}: {size / 1e6:.0f} MB, too large for a face picture "
                               f"(at most {MAX_IMAGE_BYTES >> 20} MiB)")
        images.append(_decode(read(), f"{source}:{name}"))
        usages.append(found[0])
        labels.append(found[1])
    if not images:
        raise FerEdgeError(f"{source}: not a FER2013 CSV, tar/zip archive or image folder")
    return group_rows(str(source), np.stack(images), np.asarray(labels, dtype=np.int64), usages)


def _folder_splits(root: Path) -> list[Path]:
    """The split folders (train/, test/, ...) in `root`, or in its one subfolder that holds them
    (an unpacked archive often adds a level: fer2013/train/...; a zip is read at any depth)."""
    splits = [d for d in root.iterdir() if d.is_dir() and d.name.lower() in FOLDER_SPLITS]
    if splits:
        return splits
    nested = [sub for sub in root.iterdir() if sub.is_dir()
              and any(d.is_dir() and d.name.lower() in FOLDER_SPLITS for d in sub.iterdir())]
    return _folder_splits(nested[0]) if len(nested) == 1 else []


def read_image_folder(root: Path) -> Dataset:
    splits = _folder_splits(root)
    if not splits:
        raise FerEdgeError(f"{root}: not a FER2013 CSV, tar/zip archive or image folder (expected train/<class>/*.jpg)")
    files = []
    for split_dir in sorted(splits):
        for f in sorted(split_dir.rglob("*")):
            if f.is_file():
                files.append((str(f.relative_to(root)), f.stat().st_size, f.read_bytes))
    return _read_image_members(root, files)
