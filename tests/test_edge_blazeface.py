"""BlazeFace decoded on LiteRT (edge/detect/blazeface.py, edge/detect/): each step on its own, and the
whole detector against MediaPipe's Tasks FaceDetector, the reference implementation, on every photo
and sampled frames of every video in the shared media (skipped where mediapipe is not installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_fixtures import MEDIA

from fer_edge.edge.detect import blazeface
from fer_edge.edge.detect import FaceDetector
from fer_edge.edge.tracker import iou_matrix

VIDEO_STEP = 5  # every 5th frame of each video: ~190 frames over the four shared clips

needs_mediapipe = pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None,
                                     reason="mediapipe (the reference) is not installed")


def test_anchors_are_the_896_centres_of_the_two_grids_in_output_order():
    anchors = blazeface.ssd_anchors()
    assert anchors.shape == (896, 2)
    # 16x16 cells of stride 8, two anchors each, row by row; then 8x8 cells of stride 16, six each.
    assert np.allclose(anchors[0], anchors[1]) and np.allclose(anchors[0], [0.5 / 16, 0.5 / 16])
    assert np.allclose(anchors[2], [1.5 / 16, 0.5 / 16])  # next cell along x
    assert np.allclose(anchors[32], [0.5 / 16, 1.5 / 16])  # first cell of the second row
    assert np.allclose(anchors[512:518], [0.5 / 8, 0.5 / 8])
    assert np.allclose(anchors[-1], [7.5 / 8, 7.5 / 8])


@pytest.mark.parametrize("size, expected", [((640, 480), (0.0, -80.0, 640.0)), ((300, 500), (-100.0, 0.0, 500.0))])
def test_letterbox_pads_the_shorter_side_evenly(size, expected):
    box = blazeface.letterbox_for(*size)
    assert (box.x0, box.y0, box.side) == expected


def test_input_is_the_letterboxed_frame_in_rgb_scaled_to_plus_minus_one():
    frame = np.zeros((64, 128, 3), np.uint8)
    frame[:, :, 0] = 255  # pure blue in BGR
    tensor = blazeface.input_tensor(frame, blazeface.letterbox_for(128, 64))
    assert tensor.shape == (1, 128, 128, 3) and tensor.dtype == np.float32
    middle, band = tensor[0, 64], tensor[0, 5]  # a row inside the frame, a row of the top padding
    assert np.allclose(middle[10], [-1, -1, 1])  # RGB order: blue is the last channel
    assert np.allclose(band, -1)  # zeros outside the frame, as BORDER_ZERO
    grey = blazeface.input_tensor(np.full((64, 128), 255, np.uint8), blazeface.letterbox_for(128, 64))
    assert np.allclose(grey[0, 64, 10], [1, 1, 1])


def test_decoding_places_offsets_around_their_anchor_and_drops_low_scores():
    anchors = blazeface.ssd_anchors()
    raw = np.zeros((896, 16), np.float32)
    raw[0, :4] = [12.8, -6.4, 25.6, 38.4]  # centre moved by (0.1, -0.05), size 0.2 x 0.3 of the tensor
    raw[0, 4:6] = [0.0, 12.8]  # first keypoint 0.1 below the anchor
    logits = np.full(896, -10.0, np.float32)
    logits[0] = 2.0
    scores = blazeface.scores_from_logits(logits)
    boxes, points, kept = blazeface.decode(raw, scores, anchors, 0.5)
    ax, ay = anchors[0]
    assert np.allclose(boxes, [[ax + 0.1 - 0.1, ay - 0.05 - 0.15, ax + 0.1 + 0.1, ay - 0.05 + 0.15]], atol=1e-6)
    assert np.allclose(points[0, 0], [ax, ay + 0.1])
    assert np.allclose(kept, [1 / (1 + np.exp(-2.0))])


def test_negative_sizes_are_dropped_and_huge_logits_saturate():
    raw = np.zeros((896, 16), np.float32)
    raw[:, 2:4] = 10.0
    raw[1, 2] = -1.0
    scores = blazeface.scores_from_logits(np.array([1e9, 1e9] + [-1e9] * 894, np.float32))
    assert scores[0] == 1.0 and scores[2] == 0.0
    boxes, _, kept = blazeface.decode(raw, scores, blazeface.ssd_anchors(), 0.5)
    assert len(boxes) == 1 and len(kept) == 1


def test_weighted_nms_averages_a_cluster_by_score_and_keeps_the_best_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]], np.float32)
    points = np.zeros((3, 6, 2), np.float32)
    points[1] += 1.0
    scores = np.array([0.9, 0.6, 0.7], np.float32)
    out_boxes, out_points, out_scores = blazeface.weighted_nms(boxes, points, scores)
    assert np.allclose(out_scores, [0.9, 0.7])  # the cluster's best score, then the lone box
    w = 0.6 / 1.5  # the second box's share of the cluster
    assert np.allclose(out_boxes[0], [0.1 * w, 0.0, 1.0 + 0.1 * w, 1.0], atol=1e-6)
    assert np.allclose(out_points[0], w)
    assert np.allclose(out_boxes[1], boxes[2])


def test_weighted_nms_keeps_boxes_overlapping_at_the_threshold_apart():
    # IoU exactly 1/3 would merge; these two overlap by IoU 0.25 (> 0.3 is needed)
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.6, 0.0, 1.6, 1.0]], np.float32)
    _, _, scores = blazeface.weighted_nms(boxes, np.zeros((2, 6, 2), np.float32), np.array([0.8, 0.7], np.float32))
    assert len(scores) == 2


def test_tensor_coordinates_map_back_to_frame_pixels():
    box = blazeface.letterbox_for(640, 480)  # the tensor covers x 0..640, y -80..560
    pixel_boxes, pixel_points = blazeface.to_frame(np.array([[0.25, 0.25, 0.5, 0.75]]),
                                                   np.full((1, 6, 2), 0.5), box)
    assert np.allclose(pixel_boxes, [[160, 80, 160, 320]])
    assert np.allclose(pixel_points, [320, 240])


def test_keypoints_lie_on_the_face_eyes_above_the_mouth():
    (face,) = FaceDetector().detect(cv2.imread(str(Path(__file__).parents[1] / "samples" / "astronaut.jpg")))
    x, y, w, h = face.box
    names = dict(zip(blazeface.KEYPOINTS, face.keypoints))
    for px, py in face.keypoints[:4]:  # eyes, nose, mouth inside the box (ears may reach its sides)
        assert x <= px <= x + w and y <= py <= y + h
    assert names["right_eye"][1] < names["mouth_center"][1] and names["left_eye"][1] < names["mouth_center"][1]
    assert names["right_eye"][0] < names["left_eye"][0]  # the person's right eye is on the image's left


def _shared_frames() -> list[tuple[str, np.ndarray]]:
    if not MEDIA.is_dir():
        pytest.skip(f"test media {MEDIA} not available")
    frames = []
    for path in sorted(MEDIA.iterdir()):
        if path.suffix in (".jpg", ".png"):
            frames.append((path.name, cv2.imread(str(path))))
        elif path.suffix == ".mp4":
            cap = cv2.VideoCapture(str(path))
            index = 0
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                if index % VIDEO_STEP == 0:
                    frames.append((f"{path.name} frame {index}", frame))
                index += 1
            cap.release()
    return frames


def as_mediapipe_reports(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, ...]:
    """A float box as MediaPipe's DetectionTransformationCalculator reports it: each value truncated
    to whole pixels, then clamped into 0..the frame's size."""
    x, y, w, h = box
    return (min(max(int(x), 0), width), min(max(int(y), 0), height), min(max(int(w), 0), width),
            min(max(int(h), 0), height))


@needs_mediapipe
def test_same_faces_boxes_and_scores_as_mediapipe_on_all_shared_media():
    from fer_edge.edge.detect import make_detector

    ours, reference = FaceDetector(), make_detector("mediapipe")
    frames = _shared_frames()
    assert len(frames) > 150
    worst_iou, worst_score, faces = 1.0, 0.0, 0
    try:
        for name, frame in frames:
            got, want = ours.detect(frame), reference.detect(frame)
            assert len(got) == len(want), f"{name}: {len(got)} faces, MediaPipe {len(want)}"
            if not want:
                continue
            h, w = frame.shape[:2]
            ious = iou_matrix([as_mediapipe_reports(d.box, w, h) for d in got], [d.box for d in want])
            for i, row in enumerate(ious):  # each of ours to its best-overlapping reference face, one to one
                j = int(row.argmax())
                assert ious[:, j].argmax() == i, f"{name}: two faces match one of MediaPipe's"
                worst_iou = min(worst_iou, float(row[j]))
                worst_score = max(worst_score, abs(got[i].score - want[j].score))
                faces += 1
    finally:
        reference.close()
    assert faces > 150
    assert worst_iou >= 0.95, worst_iou
    assert worst_score <= 0.02, worst_score


def test_device_side_detection_never_loads_mediapipe():
    from edge_fixtures import run_python

    proc = run_python(
        "import sys, cv2\n"
        "from fer_edge.edge.detect import FaceDetector\n"
        "print(len(FaceDetector().detect(cv2.imread('samples/astronaut.jpg'))))\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'mediapipe'], 'mediapipe loaded'\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "1"
