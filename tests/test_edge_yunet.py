"""The room detector (YuNet through cv2.FaceDetectorYN, edge/detect/yunet.py) on the shared photos: what the
wrapper adds to OpenCV's reference (input size, frame coordinates, keypoints, thresholds, bad
frames, the checksum), the detector choices, the per-detector crop and --detect-every."""

import shutil

import cv2
import numpy as np
import pytest
from edge_fixtures import media

from fer_edge.detector_choices import BY_NAME, DEFAULT_DETECTOR, DETECTORS
from fer_edge.edge.detect import make_detector
from fer_edge.edge.detect.yunet import KEYPOINTS, MODEL_NAME, YuNetDetector, input_size
from fer_edge.errors import FerEdgeError
from fer_edge.faces import YUNET_MARGIN, YUNET_SHIFT
from fer_edge.paths import models_dir

GROUPS = ("group3_grimace_glasses_flash.jpg", "group3_obama_biden_waving.jpg", "group6_small_faces_outdoor_glasses.jpg",
          "group7_bar_lowlight.jpg", "group7_selfie_tilted_occluded.jpg", "group7_small_faces_indoor.jpg")
NO_FACE = ("noface01_coffee.png", "noface02_rocket_night.jpg", "noface03_cat_face.png")


@pytest.fixture(scope="module")
def yunet():
    with make_detector("yunet", 0.5, threads=2) as det:
        yield det


def iou(a, b):
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, iw) * max(0.0, ih)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_sees_the_group_photos_faces_and_none_on_the_no_face_pictures(yunet):
    # MANIFEST.tsv: 3 + 3 + 6 + 7 + 7 + 7 = 33 faces; BlazeFace short-range finds 10.
    counts = {name: len(yunet.detect(cv2.imread(str(media(name))))) for name in GROUPS + NO_FACE}
    expected = {name: int(name[5]) for name in GROUPS}
    assert sum(min(counts[n], expected[n]) for n in GROUPS) >= 30, counts
    assert all(counts[n] == 0 for n in NO_FACE), counts


def test_boxes_and_keypoints_in_frame_pixels_after_the_input_is_shrunk():
    # 2000x1428: the 640 px input is a third of the frame; the native input sees it whole.
    frame = cv2.imread(str(media("group3_obama_biden_waving.jpg")))
    with YuNetDetector(max_side=640) as small, YuNetDetector(max_side=None) as native:
        a, b = small.detect(frame), native.detect(frame)
    assert len(a) >= 2 and len(b) >= 2
    for det in a[:2]:  # the two big faces: the same place at either input size
        best = max(b, key=lambda d: iou(d.box, det.box))
        assert iou(best.box, det.box) > 0.7
        assert np.abs(np.subtract(best.keypoints, det.keypoints)).max() < 0.08 * det.box[2]
        assert 100 < det.box[2] < 600  # frame pixels, not the 640 px input's


def test_five_landmarks_where_a_face_has_them(yunet):
    (face,) = yunet.detect(cv2.imread(str(media("face01_single_frontal_smile.jpg"))))
    assert yunet.keypoint_names == KEYPOINTS and len(face.keypoints) == 5
    pts = dict(zip(KEYPOINTS, face.keypoints))
    x, y, w, h = face.box
    assert all(x <= px <= x + w and y <= py <= y + h for px, py in face.keypoints)
    # the person's right eye is on the image's left; eyes above the nose above the mouth
    assert pts["right_eye"][0] < pts["left_eye"][0] and pts["right_mouth_corner"][0] < pts["left_mouth_corner"][0]
    assert max(pts["right_eye"][1], pts["left_eye"][1]) < pts["nose_tip"][1] < pts["right_mouth_corner"][1]


def test_scores_best_first_and_the_threshold_keeps_the_surer_ones():
    frame = cv2.imread(str(media("group7_bar_lowlight.jpg")))
    with YuNetDetector(0.5) as loose, YuNetDetector(0.9) as strict:
        a, b = loose.detect(frame), strict.detect(frame)
    assert [d.score for d in a] == sorted((d.score for d in a), reverse=True)
    assert all(d.score >= 0.9 for d in b) and len(b) <= len(a)
    assert len(b) == sum(d.score >= 0.9 for d in a)


def test_grey_bgra_and_single_channel_frames_give_the_bgr_frames_faces(yunet):
    bgr = cv2.imread(str(media("group3_grimace_glasses_flash.jpg")))
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    from_grey = yunet.detect(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    assert [d.box for d in yunet.detect(grey)] == [d.box for d in from_grey]
    assert [d.box for d in yunet.detect(grey[:, :, None])] == [d.box for d in from_grey]
    assert [d.box for d in yunet.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))] == [d.box for d in yunet.detect(bgr)]


def test_bad_and_tiny_frames(yunet):
    for bad in (np.zeros((10, 10, 3), np.float32), np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 2), np.uint8),
                [[0, 0]]):
        with pytest.raises(ValueError):
            yunet.detect(bad)
    assert yunet.detect(np.zeros((1, 1, 3), np.uint8)) == []
    assert yunet.detect(np.full((3000, 40, 3), 128, np.uint8)) == []  # shrunk to 640x9: still no crash
    assert input_size(1280, 720, 640) == (640, 360) and input_size(500, 375, 640) == (500, 375)


def test_a_changed_or_foreign_model_file_is_refused(tmp_path):
    shutil.copy(models_dir() / MODEL_NAME, tmp_path / MODEL_NAME)
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  {MODEL_NAME}\n")
    with pytest.raises(FerEdgeError, match="checksum"):
        YuNetDetector(model_path=tmp_path / MODEL_NAME)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a network")
    with pytest.raises(FerEdgeError, match="not a usable YuNet"):
        YuNetDetector(model_path=junk)
    with pytest.raises(FerEdgeError, match="missing"):
        YuNetDetector(model_path=tmp_path / "absent.onnx")
    with pytest.raises(FerEdgeError):
        YuNetDetector(max_side=8)


def test_the_choices_one_definition():
    from fer_edge import defaults
    from fer_edge.edge import commands, detect as detector

    assert DEFAULT_DETECTOR == "yunet" and DEFAULT_DETECTOR in DETECTORS
    assert commands.DETECTORS is DETECTORS and detector.DETECTORS is DETECTORS and defaults.DETECTORS is DETECTORS
    assert BY_NAME["yunet320"].max_side == 320
    with pytest.raises(FerEdgeError, match="unknown detector"):
        make_detector("haar")


@pytest.fixture(scope="module")
def recognizer():
    import fer_edge

    with fer_edge.Recognizer(detect_every=3) as r:
        yield r


def test_the_crop_follows_the_detector_and_faces_carry_its_landmarks(recognizer):
    import fer_edge

    assert (recognizer._pipeline.margin, recognizer._pipeline.shift) == (YUNET_MARGIN, YUNET_SHIFT)
    with fer_edge.Recognizer(detector="blazeface") as close_up:
        info = close_up.classifier.info
        assert (close_up._pipeline.margin, close_up._pipeline.shift) == (info.crop_margin, info.crop_shift)
        assert close_up.detect_every == 1
    recognizer.reset()
    (face,) = recognizer.recognize(cv2.imread(str(media("face01_single_frontal_smile.jpg"))))
    assert len(face.keypoints) == 5


def test_detect_every_holds_boxes_between_detections(recognizer):
    calls = []
    det = recognizer._pipeline.detector
    real = det.detect

    def counted(frame):
        calls.append(frame.shape)
        return real(frame)

    det.detect = counted
    try:
        frame = cv2.imread(str(media("group7_bar_lowlight.jpg")))
        recognizer.reset()
        counts = [len(recognizer.recognize(frame)) for _ in range(7)]
        assert len(calls) == 3 and len(set(counts)) == 1 and counts[0] >= 6  # frames 0, 3 and 6
        assert len({f.track_id for f in recognizer.recognize(frame)}) == counts[0]
        recognizer.recognize(frame[:200])  # another frame size: detected anew, never a stale box
        recognizer.reset()
        recognizer.recognize(frame)  # reset: the next frame is detected
        assert len(calls) == 5
        other = cv2.resize(cv2.imread(str(media("group7_small_faces_indoor.jpg"))), frame.shape[1::-1])
        assert len(recognizer.recognize(other)) >= 6  # same size, another scene: detected, its own faces
        assert len(calls) == 6
        with pytest.raises(ValueError):
            recognizer.recognize(np.zeros(frame.shape, np.float64))  # a held frame is checked too
    finally:
        del det.detect
    import fer_edge

    with pytest.raises(ValueError, match="detect_every"):
        fer_edge.Recognizer(detect_every=0)
    with pytest.raises(FerEdgeError, match="unknown detector 'haar'"):
        fer_edge.Recognizer(detector="haar")


def test_the_hold_gives_back_its_detections_until_n_frames_or_a_new_scene():
    from fer_edge.edge.detect.hold import SCENE_CHANGE, DetectionHold

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    hold = DetectionHold(3)
    assert hold.get(frame) is None  # nothing held yet
    hold.put(frame, ["face"])
    noisy = np.clip(frame.astype(int) + rng.integers(-8, 9, frame.shape), 0, 255).astype(np.uint8)
    assert hold.get(noisy) == ["face"] and hold.get(frame) == ["face"]  # frames 2 and 3 of 3
    assert hold.get(frame) is None  # the 4th frame: the detector's turn
    hold.put(frame, [])
    assert hold.get(frame[:, :80]) is None  # another size
    shifted = np.clip(frame.astype(int) + int(SCENE_CHANGE) + 10, 0, 255).astype(np.uint8)
    assert hold.get(shifted) is None  # a new scene: brighter everywhere by more than SCENE_CHANGE
    hold.reset()
    assert hold.get(frame) is None
    one = DetectionHold(1)
    one.put(frame, ["face"])
    assert one.get(frame) is None  # every frame detected: nothing is ever held
