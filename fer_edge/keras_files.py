"""Keras model files on the host: import Keras without TensorFlow's native start-up lines, and load a
model file (a trained model, a teacher, a starting point) with a one-line error for anything unusable.
Keras is imported only when called, so importing this module costs nothing on the edge."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from fer_edge.console import quiet_native_stderr
from fer_edge.errors import FerEdgeError

KERAS_SUFFIXES = (".keras", ".h5")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def import_keras():
    """The `keras` module, imported with what TensorFlow's C++ side writes straight to fd 2 held back:
    the absl "before InitializeLog" banner, oneDNN and CUDA-probe INFO lines (TF_CPP_MIN_LOG_LEVEL
    does not reach them in TF 2.21) and, on a machine without a GPU, an "E0000 failed call to cuInit"
    line that reads like a failure and is not one. They are replayed if the import fails, and shown
    with FER_EDGE_NATIVE_LOGS=1."""
    with quiet_native_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            keras.ops.zeros(1)  # the first op sets up devices, which is where the cuInit line comes from
    return keras


def host_extra_hint() -> str:
    """What to type for Keras and TensorFlow, for how this fer-edge was installed (install_hint)."""
    from fer_edge.install_hint import extra_hint

    return extra_hint("train")


def require_host_side(doing: str) -> None:
    """A one-line error when Keras or TensorFlow is not installed (the device-only install), found
    without importing either (that takes seconds). `doing` says what needs them ("converting")."""
    import importlib.util

    missing = []
    for name in ("keras", "tensorflow"):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or blocked install (sys.modules[name] = None)
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise FerEdgeError(f"{doing} needs Keras and TensorFlow ({' and '.join(missing)} not installed): {host_extra_hint()}")


def check_keras_file(path: str | os.PathLike, what: str = "file") -> Path:
    """Refuse anything that cannot be a Keras model file before TensorFlow is imported.
    `what` names the missing thing in the error ("teacher model", "model to start from")."""
    p = Path(path)
    if not p.exists():
        raise FerEdgeError(f"{p}: no such {what}")
    if not p.is_file():
        raise FerEdgeError(f"{p}: not a file (expected a .keras model)")
    if p.suffix.lower() not in KERAS_SUFFIXES:
        raise FerEdgeError(f"{p}: not a Keras model file (expected a .keras file)")
    # A .keras file is a zip archive, a legacy .h5 an HDF5 file; check the content, not only the name.
    if p.suffix.lower() == ".keras" and not zipfile.is_zipfile(p):
        raise FerEdgeError(f"{p}: not a Keras model file (a .keras file is a zip archive; this is not)")
    if p.suffix.lower() == ".h5":
        with open(p, "rb") as fh:
            if fh.read(8) != _HDF5_SIGNATURE:
                raise FerEdgeError(f"{p}: not a Keras model file (not HDF5)")
    return p


def load_keras_file(path: str | os.PathLike, what: str = "file", compile: bool = False):
    """The model saved in `path`, or a FerEdgeError naming the file and what Keras said.
    compile=False by default: a saved training loss plays no part in inference or as a teacher."""
    p = check_keras_file(path, what)
    keras = import_keras()
    with quiet_native_stderr():
        try:
            return keras.saving.load_model(p, compile=compile)
        except Exception as exc:  # Keras raises ValueError, TypeError, OSError, KeyError... for bad files
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FerEdgeError(f"{p}: not a loadable Keras model ({detail[:300]})") from None
