"""What a camera in a room does to a face, as plain image operations (numpy + OpenCV, no TensorFlow).

FER2013 faces are 48x48 grey web photos, upright and evenly lit. A room camera gives dim,
low-contrast, colour-cast, noisy, blurred, compressed, tilted and partly covered faces. Each
function here takes a uint8 image (grey or BGR, any size) and returns a new uint8 image of the same
shape; randomness comes only from the `rng` passed in, so a benchmark or a training set built from
them is the same on every run. benchmarks/field_accuracy.py applies them to whole frames;
train/field_views.py applies them to 48x48 training faces.
"""

from __future__ import annotations

import shutil
import subprocess

import cv2
import numpy as np


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def gamma(img: np.ndarray, g: float) -> np.ndarray:
    """Dim light as a display-gamma curve: g > 1 darkens the mid-tones (2.2: a face lit at a few lux)."""
    lut = _u8(255.0 * (np.arange(256) / 255.0) ** g)
    return cv2.LUT(img, lut)


def exposure(img: np.ndarray, factor: float) -> np.ndarray:
    """Under-exposure: every level scaled by `factor` and re-quantised, so a 0.25 exposure keeps 64
    grey levels (what a sensor without enough light delivers before any gain)."""
    return _u8(img.astype(np.float32) * factor)


def contrast(img: np.ndarray, factor: float) -> np.ndarray:
    """Contrast around the image's mean (0.4: haze, a backlit room, a cheap lens's flare)."""
    f = img.astype(np.float32)
    return _u8(f.mean() + factor * (f - f.mean()))


def colour_cast(img: np.ndarray, gains_bgr: tuple[float, float, float]) -> np.ndarray:
    """A light source's colour left uncorrected: per-channel gains (tungsten: blue and green low)."""
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return _u8(img.astype(np.float32) * np.asarray(gains_bgr, np.float32))


def noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: Gaussian, `sigma` grey levels, independent per pixel and channel."""
    return _u8(img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32))


def motion_blur(img: np.ndarray, length: int, angle_deg: float) -> np.ndarray:
    """A straight-line motion blur of `length` pixels at `angle_deg` (a head or camera moving)."""
    length = max(1, int(length))
    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2.0, (length - 1) / 2.0), angle_deg, 1.0)
    k = cv2.warpAffine(k, rot, (length, length))
    k /= max(k.sum(), 1e-6)
    return cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REFLECT)


def focus_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Out of focus, as a Gaussian of `sigma` pixels."""
    return cv2.GaussianBlur(img, (0, 0), sigma)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG round trip at `quality` (15: a heavily compressed still or stream frame)."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    flag = cv2.IMREAD_GRAYSCALE if img.ndim == 2 else cv2.IMREAD_COLOR
    return cv2.imdecode(buf, flag)


def video_available() -> bool:
    return shutil.which("ffmpeg") is not None


def h264(frames: list[np.ndarray], crf: int = 35) -> list[np.ndarray]:
    """An H.264 round trip of same-sized BGR frames through ffmpeg (libx264, yuv420p, `crf`), as a
    camera stream or a recorded clip compresses them: 4:2:0 chroma and block artefacts. Needs ffmpeg."""
    if not frames:
        return []
    h, w = frames[0].shape[:2]
    w2, h2 = w - w % 2, h - h % 2  # yuv420p wants even sides
    raw = b"".join(np.ascontiguousarray(f[:h2, :w2]).tobytes() for f in frames)
    enc = ["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w2}x{h2}", "-r", "25",
           "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
           "-f", "h264", "-"]
    stream = subprocess.run(enc, input=raw, capture_output=True, check=True).stdout
    dec = ["ffmpeg", "-v", "error", "-f", "h264", "-i", "-", "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]
    out = subprocess.run(dec, input=stream, capture_output=True, check=True).stdout
    decoded = np.frombuffer(out, np.uint8).reshape(-1, h2, w2, 3)
    if len(decoded) != len(frames):
        raise RuntimeError(f"ffmpeg returned {len(decoded)} frames for {len(frames)}")
    result = []
    for f, d in zip(frames, decoded):
        g = f.copy()
        g[:h2, :w2] = d
        result.append(g)
    return result


def rotate(img: np.ndarray, angle_deg: float, centre: tuple[float, float] | None = None) -> np.ndarray:
    """In-plane rotation (a tilted head) about `centre` (default the middle), borders reflected."""
    h, w = img.shape[:2]
    c = (w / 2.0, h / 2.0) if centre is None else centre
    m = cv2.getRotationMatrix2D(c, angle_deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


# Where the eyes and the lower face lie in a FER2013-framed face, as fractions of its side (read
# off the mean of the 3,589 PublicTest faces: eye line at 0.36-0.40, mouth at about 0.75).
EYE_BAND = (0.30, 0.46)


def glasses_bar(img: np.ndarray, box: tuple[int, int, int], level: int = 20) -> np.ndarray:
    """A dark bar over the eye line of the face square (x0, y0, side): sunglasses, a shadow."""
    out = img.copy()
    x0, y0, s = box
    y_a, y_b = y0 + int(EYE_BAND[0] * s), y0 + int(EYE_BAND[1] * s)
    x_a, x_b = x0 + int(0.12 * s), x0 + int(0.88 * s)
    cv2.rectangle(out, (x_a, y_a), (x_b, y_b), (level,) * (1 if img.ndim == 2 else 3), thickness=-1)
    return out


def hand(img: np.ndarray, box: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """A hand-like blob over one lower quarter of the face square (x0, y0, side): a skin-toned
    ellipse with a soft edge covering the chin and one side of the mouth, as a hand at the chin does."""
    x0, y0, s = box
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    side = 1 if rng.random() < 0.5 else -1
    cx = x0 + s * (0.5 + side * rng.uniform(0.1, 0.25))
    cy = y0 + s * rng.uniform(0.78, 0.9)
    axes = (max(1, int(s * rng.uniform(0.2, 0.28))), max(1, int(s * rng.uniform(0.14, 0.2))))
    cv2.ellipse(mask, (int(cx), int(cy)), axes, float(rng.uniform(-40, 40)), 0, 360, 1.0, thickness=-1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, s / 60.0))
    skin = np.array([110, 140, 185], np.float32) * rng.uniform(0.7, 1.2)  # BGR, a mid skin tone
    if img.ndim == 2:
        skin = np.float32(skin @ np.array([0.114, 0.587, 0.299], np.float32))
    f = img.astype(np.float32)
    m = mask if img.ndim == 2 else mask[:, :, None]
    return _u8(f * (1.0 - m) + skin * m)
