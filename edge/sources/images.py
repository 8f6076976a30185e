"""One picture or a folder of pictures, each checked against a memory budget before it is decoded."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from fer_edge.console import warn
from fer_edge.errors import FerEdgeError
from fer_edge.image_header import check_image_budget, image_size
from fer_edge.edge.sources.frame import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, Frame, Source, quiet_opencv


def read_image(path: Path) -> np.ndarray | None:
    """BGR uint8 image (EXIF orientation applied), or None when the file is not a readable image.
    A FerEdgeError when its header claims more than MAX_IMAGE_PIXELS (checked before decoding)."""
    try:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise FerEdgeError(f"{path}: {path.stat().st_size / 1e6:.0f} MB, larger than the "
                               f"{MAX_IMAGE_BYTES >> 20} MiB an image may take")
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    if image_size(data) is None:  # not a format whose size can be read first, so not decoded
        return None
    check_image_budget(data, str(path), MAX_IMAGE_PIXELS)
    with quiet_opencv():  # libpng's or libjpeg's own complaint about a damaged file: the caller says it
        image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return image


class ImageSource(Source):
    """One image, or the images of a folder (sorted by name). Unrelated stills: no tracking."""

    live = False
    sequence = False
    fps = 1.0  # one second per image in an output video

    def __init__(self, paths: list[Path], name: str):
        self.paths, self.name = paths, name
        self.frame_count = len(paths)
        self.skipped = 0
        self.warn_skipped = True  # off when the same folder is read again (bench loops it)
        if len(paths) == 1 and read_image(paths[0]) is None:
            raise FerEdgeError(f"{paths[0]}: not a readable image")

    def frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.paths):
            try:
                image = read_image(path)
                problem = "not a readable image"
            except FerEdgeError as exc:  # too large to decode
                if len(self.paths) == 1:
                    raise
                image, problem = None, str(exc).removeprefix(f"{path}: ")
            if image is None:
                if len(self.paths) == 1:
                    raise FerEdgeError(f"{path}: not a readable image")
                if self.warn_skipped:
                    warn(f"{path}: {problem}, skipped")
                self.skipped += 1
                continue
            # A name that is not valid UTF-8 (bytes from another system) is carried with those bytes
            # as \xNN: JSONL and CSV then stay valid UTF-8 text.
            yield Frame(image, i, None, os.fsencode(path.name).decode("utf-8", "backslashreplace"))
        if self.skipped == len(self.paths):
            raise FerEdgeError(f"{self.name}: none of its {len(self.paths)} images is readable")
