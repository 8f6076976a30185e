"""Output files: written under a temporary name, then renamed, so no partial file ever exists;
with the permissions an ordinary file gets (mkstemp alone would leave them owner-only)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fer_edge.atomic import clean_leftovers, make_readable, temp_prefix


def write_temp(data: bytes, out: Path) -> Path:
    """`data` in a hidden temporary file beside `out`, ready to be renamed onto it."""
    clean_leftovers(out.parent)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=temp_prefix(out.name), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        make_readable(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)
