"""Losses that are saved with a checkpoint (registered, so `--resume` restores them)."""

from __future__ import annotations

import keras
from keras import ops

from fer_edge.labels import NUM_CLASSES


@keras.saving.register_keras_serializable(package="fer_edge")
class DistillationLoss(keras.losses.Loss):
    """(1 - alpha) * cross-entropy with the true label + alpha * T^2 * KL(teacher_T || student_T).

    The teacher's probabilities come either precomputed in y_true, beside the one-hot label (14
    columns), or, with an online teacher, from the model itself beside the student's (14 columns of
    y_pred; see `OnlineTeachers`). The student outputs probabilities, so its tempered distribution
    is softmax(log(p) / T).
    """

    def __init__(self, alpha: float = 0.5, temperature: float = 4.0, label_smoothing: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha, self.temperature, self.label_smoothing = alpha, temperature, label_smoothing

    def call(self, y_true, y_pred):
        if y_pred.shape[-1] == 2 * NUM_CLASSES:  # online teacher: student and teacher side by side
            y_pred, teacher = y_pred[:, :NUM_CLASSES], y_pred[:, NUM_CLASSES:]
            labels = y_true[:, :NUM_CLASSES]
        else:
            labels, teacher = y_true[:, :NUM_CLASSES], y_true[:, NUM_CLASSES:]
        hard = keras.losses.categorical_crossentropy(labels, y_pred, label_smoothing=self.label_smoothing)
        t = self.temperature
        eps = 1e-7
        student_t = ops.softmax(ops.log(ops.clip(y_pred, eps, 1.0)) / t, axis=-1)
        teacher_t = ops.softmax(ops.log(ops.clip(teacher, eps, 1.0)) / t, axis=-1)
        kl = ops.sum(teacher_t * (ops.log(ops.clip(teacher_t, eps, 1.0)) - ops.log(ops.clip(student_t, eps, 1.0))), axis=-1)
        return (1.0 - self.alpha) * hard + self.alpha * (t * t) * kl

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "temperature": self.temperature,
                "label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="fer_edge")
class LabelAccuracy(keras.metrics.Metric):
    """Top-1 accuracy of the student's columns against the one-hot part of y_true (either may carry
    teacher columns after them)."""

    def __init__(self, name: str = "accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        hit = ops.cast(ops.argmax(y_true[:, :NUM_CLASSES], axis=-1) == ops.argmax(y_pred[:, :NUM_CLASSES], axis=-1), "float32")
        if sample_weight is None:
            counted = ops.ones_like(hit)
        else:  # a mask, not a weight: class weights must not skew the accuracy; weight 0 marks padding
            counted = ops.cast(ops.reshape(sample_weight, ops.shape(hit)) > 0, "float32")
        self.correct.assign(self.correct + ops.sum(hit * counted))
        self.total.assign(self.total + ops.sum(counted))

    def result(self):
        return self.correct / ops.maximum(self.total, 1.0)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)
