"""What to type to add an extra (analysis, events, train) to this install. `pip install "fer-edge[analysis]"`
names a package nothing publishes; what works depends on how fer-edge was installed: from a
checkout (editable or not), its path with the extra; otherwise the extra's own packages, as this
install's metadata lists them."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

DIST = "fer-edge"


def _pip() -> str:
    """`pip` where the one on the PATH is this Python's, else this Python's own (another venv's pip
    would install where this fer-edge does not look)."""
    pip = shutil.which("pip")
    if pip and Path(pip).parent == Path(sys.executable).parent:
        return "pip"
    return f"{sys.executable} -m pip"


def extra_hint(extra: str) -> str:
    """The pip command that adds `extra` to the fer-edge this Python runs."""
    from importlib import metadata

    # The first installed copy on the path; not the fer_edge.egg-info that a build leaves in a checkout
    # (found first when Python runs from the checkout), which says nothing of how it was installed.
    found = list(metadata.distributions(name=DIST))
    if not found:  # run from a source tree without an install
        return f'{_pip()} install -e ".[{extra}]" (in the fer-edge checkout)'
    dist = next((d for d in found if not str(getattr(d, "_path", "")).endswith(".egg-info")), found[0])
    try:
        origin = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        origin = {}
    url = urlparse(origin.get("url", ""))
    if url.scheme == "file" and "dir_info" in origin:  # pip install [-e] /path/to/checkout
        editable = " -e" if origin["dir_info"].get("editable") else ""
        return f'{_pip()} install{editable} "{unquote(url.path)}[{extra}]"'
    wanted = []
    for req in dist.requires or []:
        spec, _, marker = req.partition(";")
        if marker.replace(" ", "").replace("'", '"') in (f'extra=="{extra}"',):
            wanted.append(f'"{spec.strip()}"')
    return f"{_pip()} install {' '.join(wanted)}" if wanted else f'{_pip()} install "{DIST}[{extra}]"'
