"""A native library the operating system lacks, said in one line that names the package to install.

A wheel can carry its own libraries but not the OS's: a GUI build of OpenCV (`opencv-python`, or
mediapipe's `opencv-contrib-python`) needs X11 and OpenGL libraries that Raspberry Pi OS Lite and
servers do not have, and `--camera picam` needs libcamera. Python reports such a library as an
ImportError (or OSError from ctypes) deep inside the import; the CLI turns it into this line.
"""

from __future__ import annotations

import re

# Debian / Raspberry Pi OS packages (Bookworm names; Trixie adds "t64" to some, as noted).
APT_PACKAGES = {
    "libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libGLESv2.so.2": "libgles2", "libGLX.so.0": "libglx0", "libOpenGL.so.0": "libopengl0",
    "libxcb.so.1": "libxcb1", "libX11.so.6": "libx11-6", "libXext.so.6": "libxext6", "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6", "libXrender.so.1": "libxrender1", "libxkbcommon.so.0": "libxkbcommon0",
    "libgthread-2.0.so.0": "libglib2.0-0 (libglib2.0-0t64 on Trixie)",
    "libglib-2.0.so.0": "libglib2.0-0 (libglib2.0-0t64 on Trixie)",
    "libgomp.so.1": "libgomp1", "libgfortran.so.5": "libgfortran5", "libopenblas.so.0": "libopenblas0",
    "libtk8.6.so": "python3-tk", "libtcl8.6.so": "python3-tk", "libcamera.so": "python3-libcamera",
    "libcamera-base.so": "python3-libcamera", "libjpeg.so.62": "libjpeg62-turbo", "libpng16.so.16": "libpng16-16",
    "libz.so.1": "zlib1g", "libdrm.so.2": "libdrm2", "libgbm.so.1": "libgbm1",
}
_MISSING = re.compile(r"(lib[\w.+-]+?\.so(?:\.[\d.]+)?): cannot open shared object file")


def missing_library(exc: BaseException) -> str | None:
    """The file name of the shared library an import failed to find, or None for any other error."""
    match = _MISSING.search(str(exc))
    return match.group(1) if match else None


def apt_package(library: str) -> str | None:
    if library in APT_PACKAGES:
        return APT_PACKAGES[library]
    base = re.sub(r"\.so(\.[\d.]+)?$", ".so", library)  # libcamera.so.0.3 -> libcamera.so
    return APT_PACKAGES.get(base)


def missing_library_message(exc: BaseException) -> str | None:
    """One line for an ImportError/OSError caused by a missing native library; None for other errors."""
    library = missing_library(exc)
    if library is None:
        return None
    module = getattr(exc, "name", None)
    needed_by = f" (needed by {module})" if module else ""
    package = apt_package(library)
    fix = (f"install it with `sudo apt install {package}`" if package
           else f"install the OS package that provides it (`apt-file search {library}` names it)")
    line = f"the native library {library} is missing{needed_by}: {fix}"
    gui_opencv = library.startswith(("libGL.", "libX", "libxcb", "libSM", "libICE", "libgthread", "libglib", "libxkb"))
    if gui_opencv and (module is None or module.split(".")[0] == "cv2"):
        # fer-edge itself needs no GUI library: a GUI OpenCV got into this environment
        line += ("; or, as fer-edge needs none, replace the GUI OpenCV with the headless one: "
                 "`pip uninstall opencv-python opencv-contrib-python && pip install --force-reinstall opencv-python-headless`")
    return line
