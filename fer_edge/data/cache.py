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

CACHE_FORMAT = 1
CODED_FORMAT = 2  # a .npz.xz whose images are MED residuals (pixel_coding); older readers refuse it
# Part of the transparent cache's key: raised whenever the readers would parse a source differently
# (2: header case and byte-order marks, 2026-11-26), so caches parsed by older code are not served.
READER_VERSION = 2


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


def load_npz(path: str | os.PathLike) -> Dataset:
    try:
        source = io.BytesIO(lzma.decompress(Path(path).read_bytes())) if str(path).endswith(".xz") else path
        with np.load(source) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if meta.get("format") not in (CACHE_FORMAT, CODED_FORMAT):
                raise FerEdgeError(f"{path}: cache format {meta.get('format')} is not {CACHE_FORMAT} or "
                                   f"{CODED_FORMAT}; prepare it again")
            coded = meta.get("coding") == "med"
            ds = Dataset(source=meta["source"])
            for i, name in enumerate(meta["splits"]):
                images = z[f"images_{i}"]
                ds.splits[name] = Split(images=med_restore(images) if coded else images,
                                        labels=z[f"labels_{i}"].astype(np.int64))
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
        pass  # a read-only home must not stop a load
    return dataset
