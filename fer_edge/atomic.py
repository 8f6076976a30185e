"""Write outputs under a temporary name beside the target, then rename: a crash or Ctrl-C never
leaves a half-written file, and the result gets ordinary permissions (mkstemp alone gives 0600)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from fer_edge.errors import FerEdgeError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_readable(path: str | os.PathLike) -> None:
    """rw for the owner, and for others what the umask allows (0644 under the usual umask)."""
    os.chmod(path, 0o666 & ~_umask())


def require_output_folder(out: str | os.PathLike, option: str | None = None) -> Path:
    """Refuse an output file that could not be written (a folder given; its folder missing or not
    writable) before the work that would produce it. `option` names the flag in the message."""
    p = Path(out)
    label = f"{option} {out}" if option else str(out)
    if p.is_dir():
        raise FerEdgeError(f"{label}: is a folder; give a file name")
    if not p.parent.is_dir():
        raise FerEdgeError(f"{label}: output folder {p.parent} does not exist")
    if not os.access(p.parent, os.W_OK):
        raise FerEdgeError(f"{label}: output folder {p.parent} is not writable")
    return p


@contextmanager
def atomic_output(out: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `out`; it becomes `out` only if the block succeeds.

    `suffix` matters to writers that pick a format by extension (matplotlib, Keras)."""
    out = Path(out)
    try:
        fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=suffix)
    except OSError as exc:  # no such folder, not writable, disk full: the user's to fix
        raise FerEdgeError(f"{out}: cannot write there ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        make_readable(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(out: str | os.PathLike, text: str) -> Path:
    with atomic_output(out) as tmp:
        tmp.write_text(text)
    return Path(out)


def write_json(out: str | os.PathLike, obj) -> Path:
    return write_text(out, json.dumps(obj, indent=2) + "\n")
