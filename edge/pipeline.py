"""One frame through detect -> crop -> classify -> track, timing each stage.

The timings use the stage names of results.STAGES so `fer-edge run` and a benchmark report the
same numbers; the frame loop (edge/loop.py) adds `capture` and `draw`, which happen outside it.
"""

from __future__ import annotations

import time
import numpy as np

from fer_edge.classifier import FaceClassifier
from fer_edge.edge.detect import check_frame
from fer_edge.edge.detect.hold import DetectionHold
from fer_edge.edge.ensemble import EnsembleClassifier
from fer_edge.edge.results import Face, FrameResult
from fer_edge.edge.tracker import FaceTracker
from fer_edge.faces import crop_aligned, crop_square, faces_batch

def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(width, int(round(box[0] + box[2]))), min(height, int(round(box[1] + box[3])))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


class Pipeline:
    """Detector, classifier and tracker wired together; `process(image)` handles one frame.

    `detector` is anything with `detect(frame) -> [edge.detect.Detection]` (edge.detect.make_detector)."""

    def __init__(self, detector, classifier: FaceClassifier | EnsembleClassifier, smooth: float = 0.6,
                 detect_every: int = 1, confirm_frames: int = 1, start_score: float = 0.0, align: bool = True):
        self.detector = detector
        self.align = bool(align)  # level the eye line from the detector's keypoints before the crop
        # The detector runs on every `detect_every`th frame; the frames between reuse its boxes unless
        # the scene changed (edge/detect/hold.py; fer_edge.detector_choices says why and what it costs).
        self.detect_every = max(1, int(detect_every))
        self._hold = DetectionHold(self.detect_every)
        self.classifier = classifier
        # The crop margin and shift are part of the model's preprocessing: they come from its metadata,
        # calibrated on BlazeFace's boxes; a detector whose boxes differ brings its own (`crop`).
        own = getattr(detector, "crop", None)
        self.margin = own[0] if own else classifier.info.crop_margin
        self.shift = own[1] if own else classifier.info.crop_shift
        self.tracker = FaceTracker(smooth=smooth, confirm_frames=confirm_frames, start_score=start_score)
        self.labels = list(classifier.labels)

    def reset(self) -> None:
        """Forget tracks: the next frame does not continue the previous one."""
        self.tracker.reset()
        self._hold.reset()

    def _detect(self, image: np.ndarray) -> list:
        if self.detect_every > 1:
            check_frame(image)  # what the detector would refuse, refused on a held frame too
            held = self._hold.get(image)
            if held is not None:
                return held
        detections = self.detector.detect(image)
        self._hold.put(image, detections)
        return detections

    def process(self, image: np.ndarray) -> FrameResult:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        detections = self._detect(image)
        t1 = time.perf_counter()
        # Crops use the detector's box as it is (even where it reaches past the frame edge):
        # that is the box the margin was calibrated on.
        if self.align:
            crops = [crop_aligned(image, d.box, d.keypoints, self.margin, self.shift) for d in detections]
        else:
            crops = [crop_square(image, d.box, self.margin, self.shift) for d in detections]
        batch = faces_batch(crops, self.classifier.info.input_size, self.classifier.info.channels,
                            self.classifier.info.normalize)
        t2 = time.perf_counter()
        probs = self.classifier.predict(batch)  # all faces of the frame in one call
        tracks = self.tracker.update([d.box for d in detections], probs, [d.score for d in detections])
        t3 = time.perf_counter()  # tracking (microseconds) is counted with classify
        timings.update(detect=t1 - t0, preprocess=t2 - t1, classify=t3 - t2)
        h, w = image.shape[:2]
        labels = tuple(self.labels)
        faces = []
        for det, track in zip(detections, tracks):
            if not track.id:  # not confirmed yet (a face that appeared mid-stream): not reported
                continue
            best = int(np.argmax(track.probs))
            faces.append(Face(track.id, clip_box(det.box, w, h), self.labels[best], float(track.probs[best]),
                              track.probs.copy(), det.score, labels, det.keypoints))
        return FrameResult(faces, timings)
