"""The live window, drawn with Tk, and whether one can be opened at all.

The device install uses OpenCV's headless build, which needs no GUI libraries (a Raspberry Pi OS
Lite or a server has none) and so has no highgui windows. The window is Tk instead: Python's own
toolkit, on the Raspberry Pi OS desktop already (`python3-tk`, which Thonny needs), a small apt
package elsewhere. Tk draws on X11 (Wayland desktops run it through XWayland).
"""

from __future__ import annotations

import os
import socket
import time

import cv2
import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.faces import to_rgb

TITLE = "fer-edge"
QUIT_KEYS = ("q", "Q", "Escape")
TK_HINT = "Tk is not installed for this Python (on Debian or Raspberry Pi OS: sudo apt install python3-tk)"
SCREEN_SHARE = 0.9  # a frame bigger than the screen opens scaled to this share of it


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


def _tk_problem() -> str | None:
    try:
        import tkinter  # noqa: F401  (a missing python3-tk fails here, or on its libtk)
    except ImportError:
        return TK_HINT
    return None


def display_problem() -> str | None:
    """Why no window can be shown here, or None when one can."""
    x11, wayland = os.environ.get("DISPLAY"), os.environ.get("WAYLAND_DISPLAY")
    if not x11 and not wayland:
        return "no graphical session (DISPLAY and WAYLAND_DISPLAY are not set)"
    if not x11:
        return "a Wayland session without X11 (DISPLAY is not set), and the window is drawn with Tk, on X11 or XWayland"
    if not _x_server_reachable(x11):
        return f"cannot reach the X display {x11!r}"
    return _tk_problem()


def fit(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """(width, height) scaled to fit in box_w x box_h with its aspect ratio kept (at least 1x1)."""
    scale = min(box_w / width, box_h / height)
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def ppm(image: np.ndarray) -> bytes:
    """A BGR, BGRA or grey frame as binary PPM, which Tk's photo images read without any other library."""
    rgb = to_rgb(image)
    return b"P6 %d %d 255\n" % (rgb.shape[1], rgb.shape[0]) + rgb.tobytes()


class Window:
    """One resizable window; `show(image)` returns False once the user pressed q/Esc or closed it.

    >>> with Window() as window:                      # doctest: +SKIP
    ...     while window.show(frame): ...             # a BGR or grey uint8 frame
    """

    def __init__(self):
        problem = display_problem()
        if problem:
            raise FerEdgeError(f"cannot show a window: {problem}; use --headless")
        import tkinter

        self._tk = tkinter
        try:
            self._root = tkinter.Tk(className=TITLE)
        except tkinter.TclError as exc:
            raise FerEdgeError(f"cannot open a window ({exc}); use --headless") from None
        self._root.title(TITLE)
        self._root.configure(background="black")
        self._label = tkinter.Label(self._root, background="black", borderwidth=0, highlightthickness=0)
        self._label.pack(fill="both", expand=True)
        self._root.protocol("WM_DELETE_WINDOW", self._closed_by_user)
        self._root.bind("<Key>", self._key)
        self._photo = None
        self._shown: tuple[int, int] | None = None  # size of the picture on screen
        self._open, self._quit, self._pressed = True, False, False
        self.waiting = False  # a still is on screen, waiting for a key

    def _closed_by_user(self) -> None:
        self._quit = True

    def _key(self, event) -> None:
        self._pressed = True
        if event.keysym in QUIT_KEYS:
            self._quit = True

    def _target_size(self, width: int, height: int) -> tuple[int, int]:
        if self._shown is None:  # first frame: its own size, unless bigger than the screen
            screen_w, screen_h = self._root.winfo_screenwidth(), self._root.winfo_screenheight()
            if width <= screen_w * SCREEN_SHARE and height <= screen_h * SCREEN_SHARE:
                return width, height
            return fit(width, height, int(screen_w * SCREEN_SHARE), int(screen_h * SCREEN_SHARE))
        # afterwards the label's size, which follows the window when the user resizes it
        box_w, box_h = self._label.winfo_width(), self._label.winfo_height()
        if box_w <= 1 or box_h <= 1:
            return self._shown
        return fit(width, height, box_w, box_h)

    def still_hint(self, pictures: int | None) -> str:
        """The line that says how to move on from a picture (printed and in the title), which
        otherwise stays on screen with nothing to say the window waits for a key."""
        if pictures == 1:
            text = "the picture stays until a key is pressed or the window is closed"
        else:
            text = "each picture stays until a key is pressed (q or Esc: stop, closing the window too)"
        self._root.title(f"{TITLE}: {'any key: next picture, q: stop' if pictures != 1 else 'any key: close'}")
        return f"window: {text}"

    def show(self, image: np.ndarray, still: bool = False) -> bool:
        """Show a frame; for a still image wait until a key is pressed or the window is closed."""
        if self._quit:
            return False
        h, w = image.shape[:2]
        size = self._target_size(w, h)
        if size != (w, h):
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR)
        try:
            self._photo = self._tk.PhotoImage(master=self._root, data=ppm(image), format="PPM")
            self._label.configure(image=self._photo)
            self._shown = size
            self._pressed = False
            self._root.update()
            self.waiting = still
            while still and not (self._pressed or self._quit):
                time.sleep(0.03)
                self._root.update()
            self.waiting = False
        except self._tk.TclError:  # the window was destroyed under us
            self._quit = True
        return not self._quit

    def close(self) -> None:
        if self._open:
            try:
                self._root.destroy()
            except self._tk.TclError:
                pass
            self._open = False

    def __enter__(self) -> "Window":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
