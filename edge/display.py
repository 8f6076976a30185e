"""The live window (OpenCV's highgui), and whether one can be opened at all.

OpenCV's pip wheels draw windows with Qt on X11; without a reachable X server Qt aborts the
whole process (SIGABRT, no Python exception), so the display is checked before the first window.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import cv2
import numpy as np

from fer_edge.errors import FerEdgeError

WINDOW = "fer-edge"
QUIT_KEYS = (ord("q"), ord("Q"), 27)  # q or Esc


def _x_server_reachable(display: str) -> bool:
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return True  # a form we do not know: let the GUI toolkit decide
    try:
        if host in ("", "unix"):
            for address in (f"/tmp/.X11-unix/X{number}", f"\0/tmp/.X11-unix/X{number}"):  # file, abstract
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(1.0)
                    try:
                        s.connect(address)
                        return True
                    except OSError:
                        continue
            return False
        with socket.create_connection((host, 6000 + int(number)), timeout=1.0):
            return True
    except OSError:
        return False


def _qt_platforms() -> set[str] | None:
    """The Qt platform plugins bundled with this OpenCV (pip wheels: xcb only), or None when it
    bundles none (a system OpenCV: its toolkit decides)."""
    plugins = Path(cv2.__file__).parent / "qt" / "plugins" / "platforms"
    return {p.name for p in plugins.iterdir()} if plugins.is_dir() else None


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not x11 and not wayland:
        return "no graphical session (DISPLAY and WAYLAND_DISPLAY are not set)"
    if x11 and not _x_server_reachable(x11):
        return f"cannot reach the X display {x11!r}"
    platforms = _qt_platforms()
    if not x11 and platforms is not None and not any("wayland" in name for name in platforms):
        return "a Wayland session without X11 (DISPLAY is not set), and this OpenCV draws windows on X11 only"
    return None


class Window:
    """One resizable window; `show()` returns False once the user pressed q/Esc or closed it."""

    def __init__(self):
        problem = display_problem()
        if problem:
            raise FerEdgeError(f"cannot show a window: {problem}; use --headless")
        try:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            raise FerEdgeError(f"cannot open a window ({str(exc).strip().splitlines()[-1]}); use --headless") from None
        self._open = True

    def _closed_by_user(self) -> bool:
        try:
            return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def show(self, image: np.ndarray, still: bool = False) -> bool:
        """Show a frame; for a still image wait until a key is pressed or the window is closed."""
        cv2.imshow(WINDOW, image)
        while True:
            key = cv2.waitKey(100 if still else 1)
            if key != -1 and (key & 0xFF) in QUIT_KEYS:
                return False
            if self._closed_by_user():
                return False
            if not still or key != -1:
                return True

    def close(self) -> None:
        if self._open:
            try:
                cv2.destroyWindow(WINDOW)
                cv2.waitKey(1)  # lets the GUI thread actually remove it
            except cv2.error:
                pass
            self._open = False
