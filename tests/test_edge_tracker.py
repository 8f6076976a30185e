"""IoU tracking and EMA smoothing (pure numpy; no model or detector)."""

import numpy as np
import pytest

from fer_edge.edge.tracker import FaceTracker, iou_matrix


def onehot(i, n=7):
    p = np.zeros(n, np.float32)
    p[i] = 1.0
    return p


def test_iou_matrix_values():
    a = [(0, 0, 10, 10), (100, 100, 10, 10)]
    b = [(0, 0, 10, 10), (5, 0, 10, 10), (50, 50, 5, 5)]
    m = iou_matrix(np.array(a), np.array(b))
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1.0)
    assert m[0, 1] == pytest.approx(50 / 150)
    assert m[0, 2] == 0 and m[1].max() == 0
    assert iou_matrix(np.zeros((0, 4)), np.array(b)).shape == (0, 3)


def test_ids_follow_moving_faces_even_when_detections_come_in_another_order():
    tr = FaceTracker(smooth=0.0)
    left, right = (10, 10, 50, 50), (200, 10, 50, 50)
    first = tr.update([left, right], [onehot(0), onehot(1)])
    ids = {first[0].id: "left", first[1].id: "right"}
    assert len(ids) == 2
    # Both faces move a little, and the detector lists them the other way round.
    second = tr.update([(205, 12, 50, 50), (14, 11, 50, 50)], [onehot(1), onehot(0)])
    assert ids[second[0].id] == "right" and ids[second[1].id] == "left"
    assert all(t.age == 2 for t in second)


def test_a_face_that_jumps_away_starts_a_new_track():
    tr = FaceTracker()
    a = tr.update([(0, 0, 40, 40)], [onehot(3)])[0]
    b = tr.update([(300, 300, 40, 40)], [onehot(3)])[0]
    assert b.id != a.id and b.age == 1


def test_ema_smoothing_of_probabilities():
    tr = FaceTracker(smooth=0.75)
    box = (0, 0, 40, 40)
    tr.update([box], [onehot(6)])  # neutral
    t = tr.update([box], [onehot(3)])[0]  # one frame of happy
    assert t.probs[6] == pytest.approx(0.75) and t.probs[3] == pytest.approx(0.25)
    for _ in range(10):
        t = tr.update([box], [onehot(3)])[0]
    assert int(np.argmax(t.probs)) == 3
    assert t.probs.sum() == pytest.approx(1.0)


def test_smoothing_reduces_flicker_on_noisy_scores():
    rng = np.random.default_rng(0)
    truth = np.array([0.05, 0.05, 0.05, 0.4, 0.05, 0.05, 0.35])  # happy, close to neutral
    noisy = np.clip(truth + rng.normal(0, 0.12, (200, 7)), 0, None)
    noisy /= noisy.sum(1, keepdims=True)

    def changes(smooth):
        tr = FaceTracker(smooth=smooth)
        labels = [int(np.argmax(tr.update([(0, 0, 40, 40)], [p])[0].probs)) for p in noisy]
        return sum(a != b for a, b in zip(labels, labels[1:]))

    raw, smoothed = changes(0.0), changes(0.8)
    assert raw > 20
    assert smoothed < raw / 3


def test_no_smoothing_passes_scores_through():
    tr = FaceTracker(smooth=0.0)
    tr.update([(0, 0, 40, 40)], [onehot(1)])
    assert tr.update([(0, 0, 40, 40)], [onehot(2)])[0].probs[2] == 1.0


def test_a_missed_detection_keeps_the_track_for_max_missed_frames():
    tr = FaceTracker(max_missed=2)
    first = tr.update([(0, 0, 40, 40)], [onehot(0)])[0]
    tr.update([], np.zeros((0, 7)))
    tr.update([], np.zeros((0, 7)))
    assert tr.update([(2, 0, 40, 40)], [onehot(0)])[0].id == first.id
    for _ in range(3):
        tr.update([], np.zeros((0, 7)))
    assert tr.tracks == []
    assert tr.update([(2, 0, 40, 40)], [onehot(0)])[0].id != first.id


def test_reset_forgets_tracks_but_ids_keep_counting():
    tr = FaceTracker()
    a = tr.update([(0, 0, 40, 40)], [onehot(0)])[0]
    tr.reset()
    b = tr.update([(0, 0, 40, 40)], [onehot(5)])[0]
    assert b.id != a.id and b.probs[5] == 1.0


def test_bad_smoothing_factor_is_refused():
    with pytest.raises(ValueError):
        FaceTracker(smooth=1.0)


def test_a_face_appearing_mid_stream_is_reported_once_confirmed():
    """Phantoms in dark video were one-frame tracks at detector scores of 0.50-0.52."""
    tr = FaceTracker(confirm_frames=3, start_score=0.6)
    real, phantom = (10, 10, 50, 50), (300, 200, 30, 30)
    assert tr.update([real], [onehot(3)], [0.55])[0].id == 1  # the first frame: nothing to confirm against
    two = tr.update([real, phantom], [onehot(3), onehot(0)], [0.55, 0.51])
    assert [t.id for t in two] == [1, 0]  # the newcomer waits, with no id taken
    assert [t.id for t in tr.update([real], [onehot(3)], [0.55])] == [1]  # it missed a frame: forgotten
    late = (150, 10, 50, 50)
    ids = [[t.id for t in tr.update([real, late], [onehot(3), onehot(6)], [0.55, 0.52])] for _ in range(3)]
    assert ids == [[1, 0], [1, 0], [1, 2]]  # three frames in a row: confirmed, and the next id is 2
    strong = tr.update([real, late, (400, 300, 40, 40)], [onehot(3)] * 3, [0.55, 0.52, 0.9])
    assert [t.id for t in strong] == [1, 2, 3]  # a high score to start: at once


def test_stills_are_not_held_back():
    tr = FaceTracker(confirm_frames=3, start_score=0.6)
    for _ in range(3):  # each an unrelated picture: the tracker is reset before it
        tr.reset()
        assert all(t.id for t in tr.update([(0, 0, 40, 40), (100, 0, 40, 40)], [onehot(3)] * 2, [0.5, 0.51]))
