"""One frame through detect -> crop -> classify -> track, timing each stage.

The timings use the stage names of results.STAGES so `fer-edge run` and a benchmark report the
same numbers; the frame loop (edge/loop.py) adds `capture` and `draw`, which happen outside it.
"""

from __future__ import annotations

import time
import numpy as np

from fer_edge.classifier import FaceClassifier
from fer_edge.edge.ensemble import EnsembleClassifier
from fer_edge.edge.results import Face, FrameResult
from fer_edge.edge.tracker import FaceTracker
from fer_edge.faces import crop_square, faces_batch

def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(width, int(round(box[0] + box[2]))), min(height, int(round(box[1] + box[3])))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


class Pipeline:
    """Detector, classifier and tracker wired together; `process(image)` handles one frame.

    `detector` is anything with `detect(frame) -> [edge.detector.Detection]` (edge.detector.make_detector)."""

    def __init__(self, detector, classifier: FaceClassifier | EnsembleClassifier, smooth: float = 0.6):
        self.detector = detector
        self.classifier = classifier
        # The crop margin and shift are part of the model's preprocessing: they come from its metadata.
        self.margin = classifier.info.crop_margin
        self.shift = classifier.info.crop_shift
        self.tracker = FaceTracker(smooth=smooth)
        self.labels = list(classifier.labels)

    def reset(self) -> None:
        """Forget tracks: the next frame does not continue the previous one."""
        self.tracker.reset()

    def process(self, image: np.ndarray) -> FrameResult:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        detections = self.detector.detect(image)
        t1 = time.perf_counter()
        # Crops use the detector's box as it is (even where it reaches past the frame edge):
        # that is the box the margin was calibrated on.
        crops = [crop_square(image, d.box, self.margin, self.shift) for d in detections]
        batch = faces_batch(crops, self.classifier.info.input_size, self.classifier.info.channels)
        t2 = time.perf_counter()
        probs = self.classifier.predict(batch)  # all faces of the frame in one call
        tracks = self.tracker.update([d.box for d in detections], probs, [d.score for d in detections])
        t3 = time.perf_counter()  # tracking (microseconds) is counted with classify
        timings.update(detect=t1 - t0, preprocess=t2 - t1, classify=t3 - t2)
        h, w = image.shape[:2]
        labels = tuple(self.labels)
        faces = []
        for det, track in zip(detections, tracks):
            best = int(np.argmax(track.probs))
            faces.append(Face(track.id, clip_box(det.box, w, h), self.labels[best], float(track.probs[best]),
                              track.probs.copy(), det.score, labels, det.keypoints))
        return FrameResult(faces, timings)
