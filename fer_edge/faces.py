"""The one face-crop preprocessing used by training, conversion, evaluation and the edge runtime.

FER2013 faces are 48x48 grey crops with some forehead and chin around the face. A detector box
is tighter than that, so the runtime widens it by a margin to a square before this module turns
the crop into model input. No histogram equalisation: the models learn FER2013's grey levels, and
equalising costs accuracy (measured ~8 points; CLAHE on the shipped `fast`: 67.85% -> 63.47% on
PublicTest). A model may declare a per-crop standardisation in its metadata (`normalize`), which
it is then trained, calibrated and run with.
"""

from __future__ import annotations

import cv2
import numpy as np

from fer_edge.defaults import NORMALIZATIONS

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


def eye_angle(keypoints) -> float | None:
    """Degrees the eye line rises from left to right in the image (counter-clockwise positive, as
    cv2.getRotationMatrix2D counts), from a detector's keypoints whose first two are the eyes; None
    without them."""
    if keypoints is None or len(keypoints) < 2:
        return None
    (ax, ay), (bx, by) = sorted((tuple(keypoints[0]), tuple(keypoints[1])))
    if bx - ax <= 0:
        return None
    return float(np.degrees(np.arctan2(ay - by, bx - ax)))


# FER2013's own faces lean: BlazeFace's eye line on 377 Training faces placed in frames
# (benchmarks/field_accuracy.py's clean frames) has |angle| median 5.9, 75th percentile 11.9 and
# 90th 20.1 degrees, and the models learnt them so. Levelling every face moved faces off that
# (JPEG q15: -4.6 points on 500 PublicTest faces) while helping tilted ones (tilt 15-30: +7.2), so
# a crop is turned only by the part of its tilt beyond the 75th percentile.
ALIGN_FREE_DEG = 12.0


def crop_aligned(frame: np.ndarray, box: tuple[float, float, float, float], keypoints, margin: float = DEFAULT_MARGIN,
                 shift: float = DEFAULT_SHIFT, free_deg: float = ALIGN_FREE_DEG) -> np.ndarray:
    """crop_square with a tilted eye line brought back to within `free_deg` of level: the same
    square, turned about its centre by the tilt's excess over `free_deg` (edge replication outside
    the frame). Without eye keypoints, or for a smaller tilt, it is crop_square itself."""
    angle = eye_angle(keypoints)
    if angle is None or abs(angle) <= free_deg:
        return crop_square(frame, box, margin, shift)
    turn = angle - np.sign(angle) * free_deg
    x0, y0, side = square_box(box, margin, shift)
    cx, cy = x0 + side / 2.0, y0 + side / 2.0
    m = cv2.getRotationMatrix2D((cx, cy), -turn, 1.0)
    m[0, 2] -= x0
    m[1, 2] -= y0
    return cv2.warpAffine(frame, m, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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


# Photometric normalisations a model can declare in its metadata (ModelInfo.normalize, choices in
# fer_edge.defaults.NORMALIZATIONS); None keeps the raw grey levels every model before it was trained on.
# "standardize" maps every crop to FER2013 Training's typical level and spread: the mean over its
# 28,709 faces of each face's mean (129.5) and standard deviation (53.2). A crop flatter than 8
# grey levels (1% of Training faces are below 25) is not stretched further, so a blank or
# black crop is not turned into amplified noise.
STANDARD_MEAN, STANDARD_SD, MIN_SD = 129.5, 53.2, 8.0
# "stretch" leaves a crop alone unless its grey range (2nd to 98th percentile) is narrower than all
# but 1% of FER2013 Training's faces (95 levels; their median is 23..222, 191 wide): an under-exposed
# or washed-out face. Such a crop is stretched linearly onto that median range, so the model sees the
# contrast it learnt on; a crop flatter than MIN_SD's 8 levels is not stretched (a blank is no face).
STRETCH_BELOW, STRETCH_TO = 95.0, (23.0, 222.0)
# "stretch-sharpen" is "stretch", then a crop softer than all but 1% of FER2013 Training's faces
# (the variance of its Laplacian, a focus measure, under 284; their 5th percentile is 511, their
# median 1,346: a face out of focus, moving, or found small and brought up to 48 px) is unsharp-masked
# (Gaussian sigma 1 px) by the least of SHARPEN_AMOUNTS that brings it to that 5th percentile. Every
# other crop, 99% of Training's among them, is left as it is. A noisy crop measures sharp and is
# not touched, so noise is not amplified; a flat one (MIN_SD) has nothing to sharpen.
SHARPEN_BELOW, SHARPEN_TO, SHARPEN_AMOUNTS = 284.0, 511.0, (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)


def _focus(face: np.ndarray) -> float:
    return float(cv2.Laplacian(face, cv2.CV_32F).var())


def _sharpen_soft(face: np.ndarray) -> np.ndarray:
    """One 2-D uint8 face, unsharp-masked if softer than SHARPEN_BELOW (see above), else itself."""
    f = face.astype(np.float32)
    if face.std() < MIN_SD or _focus(f) >= SHARPEN_BELOW:
        return face
    detail = f - cv2.GaussianBlur(f, (0, 0), 1.0)
    for amount in SHARPEN_AMOUNTS:
        out = np.clip(f + amount * detail, 0, 255)
        if _focus(out) >= SHARPEN_TO:
            break
    return np.rint(out).astype(np.uint8)


def normalize_batch(batch: np.ndarray, kind: str | None) -> np.ndarray:
    """A uint8 (N, H, W[, C]) batch normalised per face as `kind` says (None: unchanged)."""
    if kind is not None and kind not in NORMALIZATIONS:
        raise ValueError(f"unknown normalisation {kind!r}; known: {NORMALIZATIONS}")
    if kind is None or not len(batch):  # nothing to normalise (a frame without faces)
        return batch
    if kind == "stretch-sharpen":
        out = normalize_batch(batch, "stretch")
        if out.ndim == 4 and out.shape[-1] != 1:  # a colour model's crops: sharpened per channel would shift their hues
            return out
        sharpened = np.stack([_sharpen_soft(face) for face in out.reshape(out.shape[:3])])
        return sharpened.reshape(out.shape)
    f = batch.astype(np.float32)
    axes = tuple(range(1, f.ndim))
    if kind == "stretch":
        flat = f.reshape(len(f), -1)
        lo, hi = np.percentile(flat, 2, axis=1), np.percentile(flat, 98, axis=1)
        narrow = (hi - lo < STRETCH_BELOW) & (hi - lo >= MIN_SD)
        if not narrow.any():
            return batch
        out = batch.copy()
        scale = (STRETCH_TO[1] - STRETCH_TO[0]) / (hi[narrow] - lo[narrow])
        shape = (-1,) + (1,) * (f.ndim - 1)
        out[narrow] = np.clip(np.rint((f[narrow] - lo[narrow].reshape(shape)) * scale.reshape(shape)
                                      + STRETCH_TO[0]), 0, 255).astype(np.uint8)
        return out
    mean = f.mean(axis=axes, keepdims=True)
    sd = np.maximum(f.std(axis=axes, keepdims=True), MIN_SD)
    return np.clip(np.rint((f - mean) / sd * STANDARD_SD + STANDARD_MEAN), 0, 255).astype(np.uint8)


def face_input(face: np.ndarray, size: int = FER_SIZE, channels: int = 1, normalize: str | None = None) -> np.ndarray:
    """A face crop (any size, grey or BGR) as model input: uint8 (size, size, channels) grey levels,
    normalised as the model's metadata declares (`normalize`; None for raw levels).

    Models take 0..255 grey levels and scale them inside the graph, so an int8 model's input
    quantisation maps pixels exactly and no constant lives outside the model file.
    """
    gray = normalize_batch(resize_square(to_gray(face), size)[None], normalize)[0]
    out = gray[:, :, None]
    if channels != 1:
        out = np.repeat(out, channels, axis=2)
    return np.ascontiguousarray(out)


def faces_batch(faces: list[np.ndarray] | np.ndarray, size: int = FER_SIZE, channels: int = 1,
                normalize: str | None = None) -> np.ndarray:
    """Stack face crops (or an (N, 48, 48) FER2013 array) into a uint8 (N, size, size, channels)
    batch, normalised as `normalize` says (the model's metadata: the one place training, conversion,
    evaluation and the runtime take it from)."""
    if isinstance(faces, np.ndarray) and faces.ndim == 3 and faces.shape[1:] == (size, size) and channels == 1:
        return normalize_batch(faces, normalize)[:, :, :, None]
    out = np.empty((len(faces), size, size, channels), dtype=np.uint8)
    for i, face in enumerate(faces):
        out[i] = face_input(face, size, channels, normalize)
    return out
