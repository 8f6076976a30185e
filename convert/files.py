"""Output files: written under a temporary name, then renamed, so no partial file ever exists;
with the permissions an ordinary file gets (mkstemp alone would leave them owner-only)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_readable(path: str | os.PathLike) -> None:
    """rw for the owner, and for others what the umask allows (0644 under the usual umask)."""
    os.chmod(path, 0o666 & ~_umask())


def write_temp(data: bytes, out: Path) -> Path:
    """`data` in a hidden temporary file beside `out`, ready to be renamed onto it."""
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        make_readable(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_json(obj: dict, out: str | os.PathLike) -> Path:
    out = Path(out)
    tmp = write_temp((json.dumps(obj, indent=2) + "\n").encode(), out)
    os.replace(tmp, out)
    return out
