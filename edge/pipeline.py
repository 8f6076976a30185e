"""One frame through detect -> crop -> classify -> track, timing each stage.

The timings use the stage names of STAGES so `fer-edge run` and a benchmark report the same
numbers; the runner adds `capture` and `draw`, which happen outside this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from fer_edge.edge.classifier import FaceClassifier
from fer_edge.edge.detector import check_frame
from fer_edge.edge.hold import DetectionHold
from fer_edge.edge.ensemble import EnsembleClassifier
from fer_edge.edge.tracker import FaceTracker
from fer_edge.faces import crop_square, faces_batch

STAGES = ("capture", "detect", "preprocess", "classify", "draw")


@dataclass(repr=False)
class Face:
    """One face in a frame: where it is, its expression, and which track it continues."""

    track_id: int  # the same number in every frame while the face stays in view
    box: tuple[int, int, int, int]  # x, y, w, h in pixels, clipped to the frame
    label: str  # the label with the highest smoothed probability
    score: float  # its smoothed probability
    probs: np.ndarray  # smoothed probabilities, in the model's label order (`labels`)
    detection: float  # face detector confidence
    labels: tuple[str, ...] = ()  # the model's labels, the order of `probs`
    keypoints: tuple[tuple[float, float], ...] = ()  # (x, y) of the detector's keypoint_names (eyes, nose, mouth...)

    def __repr__(self) -> str:
        return (f"Face(track_id={self.track_id}, box={self.box}, label={self.label!r}, score={self.score:.3f}, "
                f"detection={self.detection:.3f})")

    @property
    def scores(self) -> dict[str, float]:
        """Every label's smoothed probability."""
        return {name: float(p) for name, p in zip(self.labels, self.probs)}

    def to_dict(self, digits: int | None = None) -> dict:
        """JSON-ready: the fields of a `fer-edge run --jsonl` record (without frame, time and image);
        `digits` rounds the scores as that file does (4)."""
        r = (lambda v: round(float(v), digits)) if digits is not None else float
        return {"track": self.track_id, "box": [int(v) for v in self.box], "label": self.label,
                "score": r(self.score), "scores": {name: r(p) for name, p in zip(self.labels, self.probs)},
                "detection": r(self.detection)}


def face_records(faces: list[Face], index: int, time: float | None, name: str | None = None,
                 digits: int | None = None) -> list[dict]:
    """One `--jsonl` record per face: where the frame is (frame, time, and image for pictures), then
    Face.to_dict. The one definition the JSONL file and the API's FrameFaces.to_records share."""
    t = None if time is None else (float(time) if digits is None else round(float(time), digits))
    where = {"frame": index, "time": t, **({"image": name} if name is not None else {})}
    return [{**where, **face.to_dict(digits)} for face in faces]


@dataclass
class FrameResult:
    faces: list[Face]
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0 = max(0, int(round(box[0]))), max(0, int(round(box[1])))
    x1, y1 = min(width, int(round(box[0] + box[2]))), min(height, int(round(box[1] + box[3])))
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


class Pipeline:
    """Detector, classifier and tracker wired together; `process(image)` handles one frame.

    `detector` is anything with `detect(frame) -> [edge.detector.Detection]` (edge.detector.make_detector)."""

    def __init__(self, detector, classifier: FaceClassifier | EnsembleClassifier, smooth: float = 0.6,
                 margin: float | None = None, detect_every: int = 1):
        self.detector = detector
        # The detector runs on every `detect_every`th frame; the frames between reuse its boxes unless
        # the scene changed (edge/hold.py; fer_edge.detector_choices says why and what it costs).
        self.detect_every = max(1, int(detect_every))
        self._hold = DetectionHold(self.detect_every)
        self.classifier = classifier
        # The crop margin and shift are part of the model's preprocessing: they come from its metadata,
        # calibrated on BlazeFace's boxes; a detector whose boxes differ brings its own (`crop`).
        own = getattr(detector, "crop", None)
        self.margin = (own[0] if own else classifier.info.crop_margin) if margin is None else margin
        self.shift = own[1] if own else classifier.info.crop_shift
        self.tracker = FaceTracker(smooth=smooth)
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
