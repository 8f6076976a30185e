"""MediaPipe's short-range face-detection graph around the BlazeFace model, in numpy and OpenCV.

MediaPipe's Tasks FaceDetector runs `face_detection_short_range.tflite` inside a graph of calculators;
this module is that graph's CPU path, step for step, so the model file can run on LiteRT alone
(`edge/detect/`) with the same boxes and scores (tests/test_edge_blazeface.py holds it to the
Tasks detector on every shared photo and sampled video frames):

- input: the whole frame letterboxed into the 128x128 tensor (ImageToTensorCalculator with
  keep_aspect_ratio and BORDER_ZERO: OpenCV's warpPerspective, bilinear), RGB scaled to [-1, 1];
- SsdAnchorsCalculator: 896 anchors, strides 8, 16, 16, 16, fixed anchor size;
- TensorsToDetectionsCalculator: (x, y, w, h) offsets scaled by 128 around each anchor, six
  keypoints, scores through a sigmoid after clipping to +-100, kept when >= the confidence;
- NonMaxSuppressionCalculator, WEIGHTED, IoU > 0.3: each cluster's box and keypoints are the
  score-weighted mean of its members, with the best member's score;
- DetectionProjectionCalculator: back to frame pixels. MediaPipe then truncates boxes to whole pixels and
  clamps their left/top edges into the frame (keeping the size); this module keeps float boxes that
  may reach past the frame, which is what the face crop needs for a face cut by the frame edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fer_edge.faces import to_rgb

INPUT_SIZE = 128
STRIDES = (8, 16, 16, 16)
ANCHORS_PER_LAYER = 2  # aspect ratio 1.0 and the interpolated scale (also 1.0): two anchors, same centre
COORDS = 16  # x, y, w, h, then 6 keypoints of (x, y)
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
SCORE_CLIP = 100.0
MIN_SUPPRESSION_IOU = 0.3  # the Tasks FaceDetectorOptions default


@dataclass(frozen=True)
class Letterbox:
    """Where the square the model sees lies in the frame: tensor pixel t is frame pixel origin + t * scale."""

    x0: float
    y0: float
    side: float  # frame pixels covered by the tensor's side

    @property
    def scale(self) -> float:
        return self.side / INPUT_SIZE


def ssd_anchors(input_size: int = INPUT_SIZE, strides: tuple[int, ...] = STRIDES,
                per_layer: int = ANCHORS_PER_LAYER) -> np.ndarray:
    """(896, 2) anchor centres (x, y), normalised, in the model's output order.

    SsdAnchorsCalculator merges consecutive layers of one stride into one grid; each layer adds its
    anchors to every cell. With a fixed anchor size only the centres matter (width = height = 1).
    """
    centres = []
    layer = 0
    while layer < len(strides):
        same = layer
        while same < len(strides) and strides[same] == strides[layer]:
            same += 1
        per_cell = per_layer * (same - layer)
        cells = int(np.ceil(input_size / strides[layer]))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer = same
    return np.concatenate(centres).astype(np.float32)


def letterbox_for(width: int, height: int) -> Letterbox:
    """The square around the whole frame, padded on its shorter side (PadRoi with keep_aspect_ratio)."""
    side = float(max(width, height))
    return Letterbox(width / 2.0 - side / 2.0, height / 2.0 - side / 2.0, side)


def input_tensor(frame: np.ndarray, box: Letterbox, size: int = INPUT_SIZE) -> np.ndarray:
    """(1, 128, 128, 3) float32 RGB in [-1, 1] from a BGR, BGRA or grey uint8 frame.

    The same warp as MediaPipe's OpenCV converter: the square's corners onto the tensor's corners,
    bilinear, zeros outside the frame. It warps first and converts colour on the 128x128 result,
    which is cheaper than converting the whole frame and gives the same pixels.
    """
    corners = cv2.boxPoints(((box.x0 + box.side / 2.0, box.y0 + box.side / 2.0), (box.side, box.side), 0.0))
    side = float(size)
    target = np.array([[0.0, side], [0.0, 0.0], [side, 0.0], [side, side]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    warped = cv2.warpPerspective(frame, matrix, (size, size), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    tensor = to_rgb(warped).astype(np.float32)
    tensor *= np.float32(2.0 / 255.0)
    tensor -= np.float32(1.0)
    return tensor[None]


def scores_from_logits(logits: np.ndarray) -> np.ndarray:
    """Sigmoid of the clipped raw scores, in float32 as the calculator computes them."""
    clipped = np.clip(logits.astype(np.float32).reshape(-1), -SCORE_CLIP, SCORE_CLIP)
    with np.errstate(over="ignore"):  # exp(100) is inf in float32, as in C++: the score is then 0
        return (np.float32(1.0) / (np.float32(1.0) + np.exp(-clipped))).astype(np.float32)


def decode(raw: np.ndarray, scores: np.ndarray, anchors: np.ndarray,
           min_score: float, input_size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates scoring >= min_score: boxes (K, 4) as normalised xmin, ymin, xmax, ymax in the
    tensor, keypoints (K, 6, 2) normalised (x, y), scores (K,). Boxes of negative size are dropped."""
    raw = raw.reshape(-1, COORDS).astype(np.float32)
    keep = np.flatnonzero(scores >= np.float32(min_score))
    raw, anchor, kept_scores = raw[keep], anchors[keep], scores[keep]
    size = np.float32(input_size)
    centre = raw[:, 0:2] / size + anchor  # anchor size 1: offsets scale straight into the tensor
    wh = raw[:, 2:4] / size
    boxes = np.concatenate([centre - wh / 2, centre + wh / 2], axis=1)
    keypoints = raw[:, 4:].reshape(-1, len(KEYPOINTS), 2) / size + anchor[:, None, :]
    valid = (wh >= 0).all(axis=1)
    return boxes[valid], keypoints[valid], kept_scores[valid]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xmin, ymin, xmax, ymax box with each of `boxes`; 0 where they do not intersect."""
    iw = np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0])
    ih = np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1])
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    union = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = MIN_SUPPRESSION_IOU) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression: the best remaining candidate and every candidate
    overlapping it by IoU > threshold (itself included) become one detection, their boxes and
    keypoints averaged with the scores as weights; the best one's score is kept."""
    order = np.argsort(-scores, kind="stable")
    out_boxes, out_points, out_scores = [], [], []
    while order.size:
        best = order[0]
        similar = _iou(boxes[best], boxes[order]) > threshold
        members = order[similar]
        if members.size == 0:  # a box of no area overlaps nothing, not even itself: MediaPipe stops here
            out_boxes.append(boxes[best])
            out_points.append(keypoints[best])
            out_scores.append(scores[best])
            break
        weights = scores[members][:, None]
        total = weights.sum()
        out_boxes.append((boxes[members] * weights).sum(axis=0) / total)
        out_points.append((keypoints[members] * weights[:, :, None]).sum(axis=0) / total)
        out_scores.append(scores[best])
        order = order[~similar]
    if not out_scores:
        return np.zeros((0, 4), np.float32), np.zeros((0, len(KEYPOINTS), 2), np.float32), np.zeros(0, np.float32)
    return np.array(out_boxes, np.float32), np.array(out_points, np.float32), np.array(out_scores, np.float32)


def to_frame(boxes: np.ndarray, keypoints: np.ndarray, box: Letterbox) -> tuple[np.ndarray, np.ndarray]:
    """Normalised tensor coordinates to frame pixels: boxes as (x, y, w, h), keypoints as (x, y)."""
    xy0 = np.array([box.x0, box.y0], np.float64)
    corners = boxes.astype(np.float64) * box.side
    pixel_boxes = np.concatenate([corners[:, 0:2] + xy0, corners[:, 2:4] - corners[:, 0:2]], axis=1)
    return pixel_boxes, keypoints.astype(np.float64) * box.side + xy0
