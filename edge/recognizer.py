"""`Recognizer`: the library's entry point, and the one path from a frame to its faces.

`fer-edge run` and `fer-edge bench` drive the same object (its `process`, which also times each
stage), so an app that calls `recognize(frame)` in its own loop gets what the CLI measures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fer_edge.detector_choices import BY_NAME
from fer_edge.edge.detect import check_frame, make_detector
from fer_edge.edge.ensemble import load_classifier
from fer_edge.edge.pipeline import Pipeline
from fer_edge.edge.results import Face, FrameResult
from fer_edge.faces import faces_batch
from fer_edge.model_choices import ModelChoice, resolve_models
from fer_edge import defaults

ModelSpec = str | os.PathLike | Sequence[str | os.PathLike] | None


@dataclass(frozen=True)
class Expression:
    """The classifier's verdict on one face crop (`Recognizer.classify`): not smoothed, no track."""

    label: str
    score: float
    scores: dict[str, float]

    def to_dict(self) -> dict:
        return {"label": self.label, "score": self.score, "scores": dict(self.scores)}


class Recognizer:
    """Finds faces in BGR frames and classifies their expressions, tracking faces across calls.

    >>> with Recognizer() as recognizer:                 # doctest: +SKIP
    ...     for face in recognizer.recognize(frame):     # a BGR uint8 array, as OpenCV reads it
    ...         print(face.track_id, face.box, face.label, face.score)

    model: a shipped choice ("fast", the default; "accurate"; "best"), a .tflite file (with its
        .meta.json), or several files (an ensemble: mean probabilities).
    threads: CPU threads for the face detector and the expression model (each runs in turn).
    min_confidence: least face-detector confidence for a face to count.
    smooth: per-frame weight of a face's past scores along its track (0 = none); consecutive calls
        are taken as frames of one video: call `reset()` between unrelated pictures.
    tta: "flip" averages each face with its mirror image (twice the classifier time); None keeps the
        model choice's own.
    detector: a fer_edge.detector_choices name: "yunet" (the default: a room, several faces at 1-5 m),
        "yunet320" (the same at a quarter of the cost, faces within ~3 m), "blazeface" (one face within
        ~2 m, the fastest), "blazeface-full" (BlazeFace full-range) or "mediapipe" (BlazeFace through
        MediaPipe's runtime, if installed).
    detect_every: run the detector on every Nth frame and keep its boxes for the frames between
        (consecutive calls are a video's frames; a new scene, a new frame size or `reset()` makes the
        next call detect). None: the detector choice's own (yunet: 4, the others: 1).
    align: turn a face whose eye line (the detector's eye keypoints) tilts more than FER2013's own
        faces do (12 degrees) back to that before cropping it (fer_edge.faces.crop_aligned); False
        crops the detector's square as it is.

    Never imports TensorFlow. Bad arguments raise ValueError (frames) or FerEdgeError (models).
    """

    def __init__(self, model: ModelSpec = None, threads: int = defaults.THREADS,
                 min_confidence: float = defaults.MIN_CONFIDENCE, smooth: float = defaults.SMOOTH,
                 tta: str | None = None, detector: str = defaults.DETECTOR, detect_every: int | None = None,
                 align: bool = True):
        from fer_edge.console import quiet_native_stderr

        if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 64:
            raise ValueError(f"threads must be an int in 1..64, got {threads!r}")
        if not 0.0 <= float(smooth) < 1.0:
            raise ValueError(f"smooth must lie in [0, 1), got {smooth!r}")
        if detect_every is None:  # an unknown detector is refused by make_detector, below
            every = BY_NAME[detector].every if detector in BY_NAME else 1
        else:
            every = detect_every
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"detect_every must be an int >= 1, got {detect_every!r}")
        self.model: ModelChoice = resolve_models(model, tta)
        with quiet_native_stderr():  # LiteRT's start-up lines
            self._classifier = load_classifier(self.model.paths, threads, tta=self.model.tta)
        self._detector = make_detector(detector, min_confidence, threads=threads)
        self._pipeline = Pipeline(self._detector, self._classifier, smooth=float(smooth), detect_every=every,
                                  confirm_frames=defaults.CONFIRM_FRAMES,
                                  start_score=float(min_confidence) + defaults.START_MARGIN, align=align)
        self.threads = threads

    @property
    def labels(self) -> list[str]:
        """The model's labels, in the order of every Face's `probs`."""
        return list(self._pipeline.labels)

    @property
    def detect_every(self) -> int:
        """The detector runs on every this-many-th frame of a video."""
        return self._pipeline.detect_every

    @property
    def classifier(self):
        return self._classifier

    def recognize(self, frame: np.ndarray) -> list[Face]:
        """The faces in `frame` (BGR or grey uint8, as OpenCV and picamera2's RGB888 deliver), best
        detection first, each with its box, label, score, all scores, track id and detector score."""
        return self.process(frame).faces

    def process(self, frame: np.ndarray) -> FrameResult:
        """`recognize`, with the seconds each stage took (detect, preprocess, classify)."""
        self._require_open()
        return self._pipeline.process(frame)  # the detector, its first step, refuses a frame it cannot read

    def classify(self, face: np.ndarray) -> Expression:
        """The expression of a face crop the caller already has (any size, grey or BGR uint8): the
        square from forehead to chin, as FER2013 frames a face. No detection, tracking or smoothing."""
        self._require_open()
        check_frame(face)
        info = self._classifier.info
        probs = self._classifier.predict(faces_batch([face], info.input_size, info.channels, info.normalize))[0]
        best = int(np.argmax(probs))
        labels = self.labels
        return Expression(labels[best], float(probs[best]), {n: float(p) for n, p in zip(labels, probs)})

    def reset(self) -> None:
        """Forget the tracks: the next frame starts new ones (e.g. between unrelated pictures)."""
        self._pipeline.reset()

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def _require_open(self) -> None:
        if self._detector is None:
            raise RuntimeError("Recognizer used after close()")

    def __enter__(self) -> "Recognizer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        name = self.model.name or ", ".join(str(p) for p in self.model.paths)
        return f"Recognizer(model={name!r}, threads={self.threads}, tta={self.model.tta!r})"
