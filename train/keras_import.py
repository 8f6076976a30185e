"""Keras for the host commands, without TensorFlow's native start-up lines on the terminal."""

from __future__ import annotations

from fer_edge.edge.console import quiet_native_stderr


def import_keras():
    """The `keras` module, imported with what TensorFlow's C++ side writes straight to fd 2 held back:
    the absl "before InitializeLog" banner, oneDNN and CUDA-probe INFO lines (TF_CPP_MIN_LOG_LEVEL
    does not reach them in TF 2.21) and, on a machine without a GPU, an "E0000 failed call to cuInit"
    line that reads like a failure and is not one. They are replayed if the import fails, and shown
    with FER_EDGE_NATIVE_LOGS=1."""
    with quiet_native_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            keras.ops.zeros(1)  # the first op sets up devices, which is where the cuInit line comes from
    return keras
