"""Hypothesis strategies the fuzz targets share: damaged bytes, arbitrary JSON values, pictures and
videos built from a drawn seed, and the settings every target runs under.

In CI the examples are derandomized (the same cases every run, so a failure reproduces and the
suite's time is steady) and nothing is stored; a long run (FER_EDGE_FUZZ=long) draws new cases
each time and keeps failing ones in .pytest_cache/hypothesis to try first next time.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from fuzz_support import REPO, examples, long_run


def fuzz_settings(default_examples: int):
    return settings(
        max_examples=examples(default_examples), deadline=None, derandomize=not long_run(),
        database=DirectoryBasedExampleDatabase(REPO / ".pytest_cache" / "hypothesis") if long_run() else None,
        # a case starts processes, writes files and takes tens of milliseconds by design
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture, HealthCheck.large_base_example],
    )


@contextmanager
def case_folder(tmp_path: Path):
    """A fresh folder per generated case (tmp_path is shared by all of a test's examples)."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SPECIAL_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE)


EDITS = ("flip", "special", "truncate", "drop", "repeat", "insert")


@st.composite
def mutated(draw, data: bytes, at_most: int = 4, kinds: tuple[str, ...] = EDITS) -> bytes:
    """`data` with a few edits of the kinds damage makes: bytes flipped or set to edge values,
    cut short, a span dropped, repeated, or random bytes put in; the first bytes (format
    signatures, headers) are hit as often as the rest. `kinds=("flip", "special")` keeps every
    offset in place, which gets past format checks more often."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, at_most))):
        n = len(out)
        kind = draw(st.sampled_from(kinds))
        head = draw(st.booleans())
        pos = draw(st.integers(0, max(0, min(n, 64 if head else n) - 1)))
        if kind == "flip" and n:
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "special" and n:
            out[pos] = draw(st.sampled_from(SPECIAL_BYTES))
        elif kind == "truncate":
            del out[pos:]
        elif kind == "drop":
            del out[pos:pos + draw(st.integers(1, 64))]
        elif kind == "repeat":
            out[pos:pos] = out[pos:pos + draw(st.integers(1, 64))] * draw(st.integers(1, 8))
        else:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=32))
    return bytes(out)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                         st.sampled_from([0, 1, -1, 48, 7, 0.08, -0.11, "int8", "", "48"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                                 st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=8)


@st.composite
def changed_fields(draw, base: dict, extra_keys=()) -> dict:
    """`base` with some fields deleted, given arbitrary JSON values, or added."""
    out = dict(base)
    keys = sorted(base) + list(extra_keys)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(keys + ["extra"]))
        if draw(st.integers(0, 4)) == 0:
            out.pop(key, None)
        else:
            out[key] = draw(json_values)
    return out


IMAGE_FORMATS = (".png", ".jpg", ".bmp", ".webp", ".tif", ".pgm", ".ppm", ".jp2")


@st.composite
def picture(draw, max_side: int = 160) -> tuple[np.ndarray, str]:
    """(pixels, format): a picture of a drawn size, depth and channel count, its content from a
    drawn seed (noise, or a flat field with a bright square, like a face on a wall)."""
    w, h = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([1, 3, 4]))
    fmt = draw(st.sampled_from(IMAGE_FORMATS))
    if fmt == ".jp2":  # OpenCV's JPEG 2000 encoder refuses pictures under 32 pixels a side
        w, h = max(w, 32), max(h, 32)
    if fmt == ".ppm":  # colour only (.pgm is the grey one)
        channels = 3
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    sixteen = fmt in (".png", ".tif") and draw(st.integers(0, 5)) == 0
    top = 65535 if sixteen else 255
    if draw(st.booleans()):
        img = rng.integers(0, top + 1, (h, w, channels))
    else:
        img = np.full((h, w, channels), rng.integers(0, top + 1))
        img[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = rng.integers(0, top + 1)
    img = img.astype(np.uint16 if sixteen else np.uint8)
    if fmt in (".pgm",):
        img = img[:, :, :1]
    elif fmt in (".ppm", ".jpg", ".bmp", ".jp2") and channels == 4:
        img = img[:, :, :3]
    return (img[:, :, 0] if img.shape[2] == 1 else img), fmt


def encode(img: np.ndarray, fmt: str) -> bytes:
    ok, buf = cv2.imencode(fmt, img)
    assert ok, (fmt, img.shape, img.dtype)
    return buf.tobytes()


@st.composite
def image_file(draw, max_side: int = 160) -> tuple[bytes, str, bool]:
    """(bytes, suffix, intact): an encoded picture, perhaps damaged, perhaps a header claiming a
    huge picture, perhaps not a picture at all; `intact` when it is a picture as written."""
    img, fmt = draw(picture(max_side))
    data = encode(img, fmt)
    kind = draw(st.sampled_from(["intact", "intact", "intact", "damaged", "huge", "junk", "empty"]))
    if kind == "intact":
        return data, fmt, True
    if kind == "damaged":
        return draw(mutated(data)), fmt, False
    if kind == "huge":
        side = draw(st.sampled_from([9000, 20000, 65535]))
        return huge_png_header(side, side) + data[33:200], ".png", False
    if kind == "junk":
        return draw(st.binary(max_size=200)), fmt, False
    return b"", fmt, False


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming width x height (the rest, whatever follows)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))
