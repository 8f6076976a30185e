"""Write outputs under a temporary name beside the target, then rename: a crash or Ctrl-C never
leaves a half-written file, and the result gets ordinary permissions (mkstemp alone gives 0600).

A process killed outright (SIGKILL, the OOM killer, a power cut) cannot remove its temporary file.
Each one's name says whose it is, `.<target>.<pid>-<host>.<random>.part<suffix>`, so the next
fer-edge command that writes into the same folder removes those left by processes of this host
that no longer run (`clean_leftovers`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
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


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode(errors="replace")).hexdigest()[:6]


# .<name>.<pid>-<host>.<mkstemp's 8 characters><suffix>
_LEFTOVER = re.compile(r"^\..+\.(\d+)-([0-9a-f]{6})\.[A-Za-z0-9_]{8}(\..*)?$")


def temp_prefix(name: str) -> str:
    """The start of a temporary name for `name` (mkstemp/mkdtemp's prefix): hidden, and naming the
    process and host that own it, so a leftover can be told from a file still being written."""
    return f".{name}.{os.getpid()}-{_host_tag()}."


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: running
        return True
    return True


def clean_leftovers(folder: str | os.PathLike) -> list[str]:
    """Remove the temporary files (and convert's staging folders) that fer-edge processes of this
    host left in `folder` when they were killed; returns their names. A process that still runs, or
    one of another host sharing the folder, keeps its own."""
    removed = []
    host = _host_tag()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _LEFTOVER.match(entry.name) if entry.name.startswith(".") else None
        if m is None or m.group(2) != host or int(m.group(1)) == os.getpid() or _running(int(m.group(1))):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:  # gone already, or not ours to remove
            pass
    return removed


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
        clean_leftovers(dest.parent)
        try:
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=temp_prefix(dest.name),
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
