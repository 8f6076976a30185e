"""Compact uint8 cache of a parsed FER2013 source, so a second load takes well under 2 s.

`load(path)` is what every command uses: a prepared `.npz` loads directly; any other source is
parsed once and cached under FER_EDGE_CACHE_DIR (default ~/.cache/fer-edge), keyed by the
source's absolute path, size, times and inode (and the readers' version), so an edited or replaced
file is parsed afresh.
A `.npz.xz` cache (pixels prediction-coded, then xz: FER2013 in 47.1 MB against 74.4 MB) is for
carrying the data to another machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import zipfile
from pathlib import Path

import numpy as np

from fer_edge.atomic import atomic_output, require_output_folder
from fer_edge.data.dataset import Dataset, Split
from fer_edge.data.pixel_coding import med_residuals, med_restore
from fer_edge.data.readers import read_source
from fer_edge.errors import FerEdgeError
from fer_edge.faces import FER_SIZE
from fer_edge.labels import NUM_CLASSES

CACHE_FORMAT = 1
CODED_FORMAT = 2  # a .npz.xz whose images are MED residuals (pixel_coding); older readers refuse it
# Part of the transparent cache's key: raised whenever the readers would parse a source differently
# (2: header case and byte-order marks, 2026-11-26), so caches parsed by older code are not served.
READER_VERSION = 2
# Most a data file may hold once decompressed (FER2013 whole: 83 MB), checked before it is read.
MAX_DATA_BYTES = 2 << 30


def cache_dir() -> Path:
    return Path(os.environ.get("FER_EDGE_CACHE_DIR", Path.home() / ".cache" / "fer-edge"))


def _cache_name(path: Path) -> tuple[str, str]:
    """(the cache file's name, the prefix every cache of this source path shares). The name holds the
    source's size, modification and change times and inode, and the readers' version: a file replaced
    by another of the same size with its time restored (`cp -p`, `rsync -t`, `tar x`) still gets a
    new inode or change time, which no tool can set back."""
    st = path.stat()
    source = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    state = f"{CACHE_FORMAT}|{READER_VERSION}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|{st.st_ino}"
    prefix = f"fer2013-{source}-"
    return f"{prefix}{hashlib.sha256(state.encode()).hexdigest()[:12]}.npz", prefix


def cache_output(output: str | os.PathLike, folder_default: str = "fer2013.npz") -> Path:
    """Where a cache goes: a folder gets `folder_default` inside; .npz and .npz.xz names stay as
    given; any other name gets .npz appended."""
    out = Path(output)
    if out.is_dir():
        return out / folder_default
    if out.name.endswith((".npz", ".npz.xz")):
        return out
    return out.with_name(out.name + ".npz")


def save_npz(dataset: Dataset, out: str | os.PathLike) -> Path:
    """Write the dataset as one .npz, uncompressed, or for a `.npz.xz` name MED-coded and xz-compressed
    (atomic: temp file, then rename)."""
    out = Path(out)
    require_output_folder(out)
    coded = out.name.endswith(".npz.xz")
    meta = {"format": CODED_FORMAT if coded else CACHE_FORMAT, "source": dataset.source,
            "splits": dataset.split_names(), **({"coding": "med"} if coded else {})}
    arrays: dict[str, np.ndarray] = {"meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    for i, name in enumerate(dataset.split_names()):
        images = dataset.splits[name].images
        arrays[f"images_{i}"] = med_residuals(images) if coded else images
        arrays[f"labels_{i}"] = dataset.splits[name].labels.astype(np.int8)
    with atomic_output(out) as tmp, open(tmp, "wb") as raw:
        if coded:
            # The images are already prediction residuals (FER2013 Training + PublicTest: 47.1 MB,
            # against 52.3 MB with xz's byte-delta filter and 56.5 MB plain), which keeps the data
            # inside a 64 MiB transfer to a GPU machine beside the repo and two teachers.
            filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
            with lzma.open(raw, "wb", format=lzma.FORMAT_XZ, filters=filters) as fh:
                np.savez(fh, **arrays)
        else:
            np.savez(raw, **arrays)
    return out


def _xz_bytes(path: str | os.PathLike) -> bytes:
    """A .npz.xz's content, decompressed only up to MAX_DATA_BYTES (a few kilobytes of xz can
    claim gigabytes)."""
    dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    data = dec.decompress(Path(path).read_bytes(), max_length=MAX_DATA_BYTES + 1)
    if len(data) > MAX_DATA_BYTES:
        raise FerEdgeError(f"{path}: decompresses to more than {MAX_DATA_BYTES >> 30} GiB; not a fer-edge data cache")
    if not dec.eof:
        raise EOFError("compressed data ends early (truncated file?)")
    return data


def _checked_split(path, name: str, images: np.ndarray, labels: np.ndarray) -> Split:
    """A split as the rest of the code expects it: (N, 48, 48) uint8 faces, N labels in 0..6 (a
    hand-made file with other shapes or labels would pass `data info` and fail later, deep inside)."""
    where = f"{path}: split {name!r}"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (FER_SIZE, FER_SIZE):
        raise FerEdgeError(f"{where}: faces of shape {images.shape[1:]} {images.dtype}, expected "
                           f"{FER_SIZE}x{FER_SIZE} uint8")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0] or labels.dtype.kind not in "iu":
        raise FerEdgeError(f"{where}: {labels.shape} {labels.dtype} labels for {images.shape[0]} faces")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise FerEdgeError(f"{where}: label {int(labels[(labels < 0) | (labels >= NUM_CLASSES)][0])} outside "
                           f"0..{NUM_CLASSES - 1}")
    return Split(images=images, labels=labels.astype(np.int64))


def load_npz(path: str | os.PathLike) -> Dataset:
    try:
        source = io.BytesIO(_xz_bytes(path)) if str(path).endswith(".xz") else path
        with np.load(source) as z:
            declared = sum(info.file_size for info in z.zip.infolist())
            if declared > MAX_DATA_BYTES:  # what the arrays would take, before any is read
                raise FerEdgeError(f"{path}: holds {declared / 1e9:.1f} GB of arrays, more than "
                                   f"{MAX_DATA_BYTES >> 30} GiB; not a fer-edge data cache")
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") not in (CACHE_FORMAT, CODED_FORMAT):
                raise FerEdgeError(f"{path}: cache format {meta.get('format')} is not {CACHE_FORMAT} or "
                                   f"{CODED_FORMAT}; prepare it again")
            coded = meta.get("coding") == "med"
            if not isinstance(meta["source"], str) or not all(isinstance(n, str) for n in meta["splits"]):
                raise TypeError("meta: source and split names must be text")
            ds = Dataset(source=meta["source"])
            for i, name in enumerate(meta["splits"]):
                images, labels = z[f"images_{i}"], z[f"labels_{i}"]
                if coded and images.shape[1:] == (FER_SIZE, FER_SIZE) and images.dtype == np.uint8:
                    images = med_restore(images)
                ds.splits[name] = _checked_split(path, name, images, labels)
            return ds
    except (KeyError, ValueError, OSError, EOFError, AttributeError, TypeError, zipfile.BadZipFile,
            lzma.LZMAError) as exc:  # EOFError: an empty file; AttributeError, TypeError: a foreign `meta`
        raise FerEdgeError(f"{path}: not a fer-edge data cache ({type(exc).__name__}: {exc})") from None


def load(path: str | os.PathLike, use_cache: bool = True, progress: bool = False) -> Dataset:
    """Load FER2013 from any supported source, through the cache when allowed."""
    p = Path(path)
    if p.name.endswith((".npz", ".npz.xz")) and p.is_file():
        return load_npz(p)
    if not p.exists():
        raise FerEdgeError(f"{p}: no such file or folder")
    if not use_cache or p.is_dir():  # a folder has no single mtime to key on
        return read_source(p, progress)
    name, prefix = _cache_name(p)
    cached = cache_dir() / name
    if cached.is_file():
        try:
            return load_npz(cached)
        except FerEdgeError:
            cached.unlink(missing_ok=True)  # stale or damaged: parse again
    dataset = read_source(p, progress)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_npz(dataset, cached)
        for old in cached.parent.glob("fer2013-*.npz"):  # this source's earlier states: ~75 MB each
            legacy = len(old.stem) == len("fer2013-") + 20  # named before 2026-11-26; never read again
            if old != cached and (old.name.startswith(prefix) or legacy):
                old.unlink(missing_ok=True)
    except (OSError, FerEdgeError):
        return dataset  # a read-only home must not stop a load
    from fer_edge.console import info

    # 74 MB under the home folder should not appear without a word: said when written, not at each load
    info(f"cached the parsed data in {cached} ({cached.stat().st_size / 1e6:.1f} MB), so the next load takes under "
         "2 s; `fer-edge data clear-cache` removes it (FER_EDGE_CACHE_DIR puts it elsewhere, --no-cache skips it)")
    return dataset


def cached_files() -> list[Path]:
    """The files fer-edge cached itself (parsed data, teachers' predictions): only those, as
    FER_EDGE_CACHE_DIR may name a folder that holds other things too."""
    root = cache_dir()
    return sorted([*root.glob("fer2013-*.npz"), *root.glob("teachers/*.npy")])


def clear_cache() -> tuple[int, int]:
    """Remove cached_files(); (files removed, bytes freed)."""
    count = freed = 0
    for path in cached_files():
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            continue
        count, freed = count + 1, freed + size
    for folder in (cache_dir() / "teachers", cache_dir()):
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass
    return count, freed
