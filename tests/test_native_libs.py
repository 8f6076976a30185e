"""A native library the OS lacks is one `error:` line naming the apt package, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from edge_fixtures import REPO

from fer_edge.native_libs import missing_library_message

# What CPython says when an extension module's shared library is missing (dlopen's text).
LIBGL_ERROR = "libGL.so.1: cannot open shared object file: No such file or directory"


@pytest.mark.parametrize("text, expected", [
    (LIBGL_ERROR, "sudo apt install libgl1"),
    ("libcamera.so.0.3: cannot open shared object file: No such file or directory", "sudo apt install python3-libcamera"),
    ("libfoo.so.7: cannot open shared object file: No such file or directory", "apt-file search libfoo.so.7"),
])
def test_missing_libraries_name_their_package(text, expected):
    line = missing_library_message(ImportError(text, name="cv2"))
    assert expected in line and "(needed by cv2)" in line


def test_gui_libraries_also_say_fer_edge_needs_none():
    assert "opencv-python-headless" in missing_library_message(ImportError(LIBGL_ERROR))
    assert "headless" not in missing_library_message(OSError("libcamera.so.0.3: cannot open shared object file"))


def test_other_import_errors_are_not_taken_for_a_missing_library():
    assert missing_library_message(ImportError("No module named 'cv2'")) is None
    assert missing_library_message(OSError(28, "No space left on device")) is None


HIDE_LIBGL = f"""
import importlib.abc, sys
class NoLibGL(importlib.abc.MetaPathFinder):  # cv2 as a GUI OpenCV fails on a system without libGL
    def find_spec(self, name, path=None, target=None):
        if name == "cv2":
            raise ImportError({LIBGL_ERROR!r}, name="cv2")
sys.meta_path.insert(0, NoLibGL())
for name in [m for m in sys.modules if m.split(".")[0] == "cv2"]:
    del sys.modules[name]
from fer_edge.cli import main
sys.argv = ["fer-edge", *sys.argv[1:]]
main()
"""


def test_run_without_libgl_is_one_error_line_naming_the_package():
    proc = subprocess.run([sys.executable, "-c", HIDE_LIBGL, "run", "--source", "samples/astronaut.jpg", "--headless",
                           "--jsonl", "-"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the native library libGL.so.1 is missing"), proc.stderr
    assert "sudo apt install libgl1" in lines[0]
    assert proc.stdout == ""


PICAMERA2_BUILT_FOR_OTHER_NUMPY = """
import importlib.abc, sys
class OldNumpyBuild(importlib.abc.MetaPathFinder):  # what the OS's picamera2 raises beside a pip numpy 2
    def find_spec(self, name, path=None, target=None):
        if name == "picamera2":
            raise ValueError("numpy.dtype size changed, may indicate binary incompatibility. "
                             "Expected 96 from C header, got 88 from PyObject")
sys.meta_path.insert(0, OldNumpyBuild())
from fer_edge.cli import main
sys.argv = ["fer-edge", "run", "--camera", "picam", "--headless", "--jsonl", "-"]
main()
"""


def test_picamera2_built_for_the_os_numpy_is_one_line_saying_how_to_install():
    proc = subprocess.run([sys.executable, "-c", PICAMERA2_BUILT_FOR_OTHER_NUMPY], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: picamera2 cannot load with this venv's numpy"), proc.stderr
    assert 'pip install fer-edge "numpy<2"' in lines[0]
