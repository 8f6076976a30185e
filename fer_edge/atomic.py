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


class AtomicTarget:
    """An output file written under a temporary name beside it: commit() renames the temporary
    file onto it, discard() removes it. The temporary name keeps the target's suffix (or `suffix`)
    for writers that pick a format by name.

    Renaming onto something that is not a regular file would replace it with one: `--jsonl
    /dev/null` would leave a plain file where the device was (as root), and a named pipe a reader
    waits on would be gone. Such a target is written in place. A symbolic link is followed: the
    file it points to is replaced, and the link stays.
    """

    def __init__(self, path: str | os.PathLike, suffix: str | None = None):
        self.path = Path(path)
        dest = Path(os.path.realpath(self.path))
        self.in_place = dest.exists() and not dest.is_file() and not dest.is_dir()
        if self.in_place:
            self.tmp = self.path
            return
        self.dest = dest
        try:
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.",
                                        suffix=f".part{dest.suffix}" if suffix is None else suffix)
        except OSError as exc:  # no such folder, not writable, disk full: the user's to fix
            raise FerEdgeError(f"{self.path}: cannot write there ({exc.strerror})") from None
        os.close(fd)
        self.tmp = Path(name)

    def commit(self) -> None:
        if not self.in_place:
            make_readable(self.tmp)  # mkstemp makes 0600; results are ordinary files
            os.replace(self.tmp, self.dest)

    def discard(self) -> None:
        if not self.in_place:
            self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_output(out: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `out`; it becomes `out` only if the block succeeds (see
    AtomicTarget; `suffix` matters to writers that pick a format by extension: matplotlib, Keras)."""
    target = AtomicTarget(out, suffix)
    try:
        yield target.tmp
        target.commit()
    finally:
        target.discard()


def write_text(out: str | os.PathLike, text: str) -> Path:
    with atomic_output(out) as tmp:
        tmp.write_text(text)
    return Path(out)


def write_json(out: str | os.PathLike, obj) -> Path:
    return write_text(out, json.dumps(obj, indent=2) + "\n")
