"""The one face-crop preprocessing used by training, conversion, evaluation and the edge runtime.

FER2013 faces are 48x48 grey crops with some forehead and chin around the face. A detector box
is tighter than that, so the runtime widens it by a margin to a square before this module turns
the crop into model input. No histogram equalisation or other contrast change: the models learn
FER2013's raw grey levels, and changing them costs accuracy (measured ~8 points).
"""

from __future__ import annotations

import cv2
import numpy as np

FER_SIZE = 48
# Fraction of the detector box's side added on each side before cropping, so that the detector
# box sits inside the crop the way the face sits inside a FER2013 image: the median measured by
# benchmarks/calibrate_crop_margin.py (BlazeFace short-range on 1000 FER2013 Training images: 0.081 with
# the LiteRT decoding of edge/detect/blazeface.py, 0.082 with MediaPipe's runtime).
DEFAULT_MARGIN = 0.08
# Vertical move of the crop centre, as a fraction of the box height (negative = up). BlazeFace's box
# centre sits lower on the face than the centre of a FER2013 image (more chin, less forehead);
# the same script measures it (median 0.110 of the box height, 0.106 with MediaPipe's runtime;
# crop/FER-image IoU 0.72 -> 0.78).
DEFAULT_SHIFT = -0.11
# YuNet's box is taller than BlazeFace's (w/h 0.78) and its height already spans the FER2013 image,
# its centre on the image's: the same script with --detector yunet measures margin -0.008
# (IQR -0.061..0.043) and shift -0.008, crop/FER-image IoU 0.78. BlazeFace's constants on YuNet's
# boxes would crop 1.18x too wide and 0.1 box heights too high: expression accuracy 0.5936 against
# 0.6464 with these (benchmarks/crop_accuracy.py, 2000 PublicTest faces; BlazeFace's own: 0.6521).
# edge/detect/yunet.py's detector crops with these.
YUNET_MARGIN = -0.01
YUNET_SHIFT = -0.01


def square_box(box: tuple[float, float, float, float], margin: float = DEFAULT_MARGIN,
               shift: float = DEFAULT_SHIFT) -> tuple[int, int, int]:
    """Square (x0, y0, side) around an (x, y, w, h) box: grown by `margin` of its longer side per
    side, its centre moved by `shift` of the box height."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + 2.0 * margin)
    cx, cy = x + w / 2.0, y + h / 2.0 + shift * h
    side_i = max(1, int(round(side)))
    return int(round(cx - side / 2.0)), int(round(cy - side / 2.0)), side_i


def crop_square(frame: np.ndarray, box: tuple[float, float, float, float], margin: float = DEFAULT_MARGIN,
                shift: float = DEFAULT_SHIFT) -> np.ndarray:
    """Crop the square around `box`; parts outside the frame are filled by edge replication."""
    x0, y0, side = square_box(box, margin, shift)
    fh, fw = frame.shape[:2]
    x1, y1 = x0 + side, y0 + side
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, fw), min(y1, fh)
    if cx1 <= cx0 or cy1 <= cy0:
        raise ValueError(f"face box {box} lies outside the {fw}x{fh} frame")
    crop = frame[cy0:cy1, cx0:cx1]
    pads = (cy0 - y0, y1 - cy1, cx0 - x0, x1 - cx1)
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, borderType=cv2.BORDER_REPLICATE)
    return crop


def to_gray(image: np.ndarray) -> np.ndarray:
    """2-D uint8 grey image from grey, BGR or BGRA input (OpenCV's channel order)."""
    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    raise ValueError(f"cannot read an image of shape {image.shape} as grey")


def to_rgb(image: np.ndarray) -> np.ndarray:
    """A new contiguous RGB uint8 image from grey, BGR or BGRA input (OpenCV's channel order), for
    what wants RGB: the face detector's input, Tk's picture data."""
    if image.ndim == 2 or image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize_square(gray: np.ndarray, size: int) -> np.ndarray:
    """Resize a grey image to size x size: area averaging when shrinking, bilinear when enlarging."""
    if gray.shape[0] == size and gray.shape[1] == size:
        return gray
    shrinking = gray.shape[0] > size or gray.shape[1] > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(gray, (size, size), interpolation=interpolation)


def face_input(face: np.ndarray, size: int = FER_SIZE, channels: int = 1) -> np.ndarray:
    """A face crop (any size, grey or BGR) as model input: uint8 (size, size, channels) grey levels.

    Models take raw 0..255 grey levels and scale them inside the graph, so an int8 model's input
    quantisation maps pixels exactly and no constant lives outside the model file.
    """
    gray = resize_square(to_gray(face), size)
    out = gray[:, :, None]
    if channels != 1:
        out = np.repeat(out, channels, axis=2)
    return np.ascontiguousarray(out)


def faces_batch(faces: list[np.ndarray] | np.ndarray, size: int = FER_SIZE, channels: int = 1) -> np.ndarray:
    """Stack face crops (or an (N, 48, 48) FER2013 array) into a uint8 (N, size, size, channels) batch."""
    if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[1:] == (size, size) and channels == 1:
        return faces[:, :, :, None]
    out = np.empty((len(faces), size, size, channels), dtype=np.uint8)
    for i, face in enumerate(faces):
        out[i] = face_input(face, size, channels)
    return out
