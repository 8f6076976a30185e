"""Expression classifier on a TFLite model through LiteRT (ai-edge-litert), without TensorFlow.

Everything it needs (input size, channels, labels) comes from the model's metadata sidecar and
the interpreter's own tensor details; int8 models are fed quantised grey levels and their int8
scores are dequantised here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fer_edge.errors import FerEdgeError
from fer_edge.faces import faces_batch
from fer_edge.modelinfo import ModelInfo, read_info
from fer_edge import defaults


def _quantize(x: np.ndarray, detail: dict) -> np.ndarray:
    dtype = detail["dtype"]
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    scale, zero_point = detail["quantization"]
    if scale == 0:
        raise FerEdgeError("model input is integer but carries no quantisation scale")
    info = np.iinfo(dtype)
    q = np.round(x.astype(np.float32) / scale + zero_point)
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(y: np.ndarray, detail: dict) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer):
        return y.astype(np.float32)
    scale, zero_point = detail["quantization"]
    return (y.astype(np.float32) - zero_point) * scale


def _first_line(exc: BaseException) -> str:
    """LiteRT's messages run over several lines (one per failing node); the first says what failed."""
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


def require_model_file(model_path: str | os.PathLike) -> Path:
    path = Path(model_path)
    if not path.is_file():
        raise FerEdgeError(f"{path}: {'a folder, not a model file' if path.is_dir() else 'no such model file'}")
    return path


class FaceClassifier:
    """Batched classification of face crops: `predict(uint8 (N, S, S, C)) -> (N, classes) probabilities`."""

    def __init__(self, model_path: str | os.PathLike, threads: int = defaults.THREADS, info: ModelInfo | None = None):
        path = require_model_file(model_path)
        self.path = path
        self.info = info or read_info(path)
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._interp = Interpreter(model_path=str(path), num_threads=max(1, int(threads)))
            # A damaged file can pass the format check and fail here (a tensor index out of range,
            # a zero point XNNPACK refuses).
            self._interp.allocate_tensors()
            inputs, outputs = self._interp.get_input_details(), self._interp.get_output_details()
        except (ValueError, RuntimeError) as exc:
            raise FerEdgeError(f"{path}: not a usable TFLite model ({_first_line(exc)})") from None
        if len(inputs) != 1 or len(outputs) != 1:
            raise FerEdgeError(f"{path}: {len(inputs)} inputs and {len(outputs)} outputs; an expression model "
                               "has one of each")
        self._in, self._out = inputs[0], outputs[0]
        shape = tuple(int(s) for s in self._in["shape"])
        expected = (self.info.input_size, self.info.input_size, self.info.channels)
        if len(shape) != 4 or shape[1:] != expected:
            raise FerEdgeError(f"{path}: input shape {shape} does not match its metadata {expected}")
        if len(self._out["shape"]) != 2:
            raise FerEdgeError(f"{path}: output shape {tuple(self._out['shape'])}; expected (batch, classes)")
        n_out = int(self._out["shape"][-1])
        if n_out != len(self.info.labels):
            raise FerEdgeError(f"{path}: {n_out} outputs but metadata lists {len(self.info.labels)} labels")
        if np.dtype(self._in["dtype"]) not in (np.int8, np.uint8, np.float32):
            raise FerEdgeError(f"{path}: input type {np.dtype(self._in['dtype']).name}; expected int8, uint8 or float32")
        self._batch = shape[0]
        self._resizable = True  # False once the model has refused a new batch size

    @property
    def labels(self) -> list[str]:
        return self.info.labels

    def _ensure_batch(self, n: int) -> bool:
        """Make the interpreter take n faces at once; False where the model cannot be resized."""
        if n != self._batch and self._resizable:
            size, ch = self.info.input_size, self.info.channels
            try:
                self._interp.resize_tensor_input(self._in["index"], [n, size, size, ch])
                self._interp.allocate_tensors()
                self._batch = n
            except (RuntimeError, ValueError):
                # e.g. a layer that fixed the batch at export: go back to one face per call
                self._resizable = False
                try:
                    self._interp.resize_tensor_input(self._in["index"], [1, size, size, ch])
                    self._interp.allocate_tensors()
                except (RuntimeError, ValueError) as exc:
                    raise FerEdgeError(f"{self.path}: not a usable TFLite model ({_first_line(exc)})") from None
                self._batch = 1
            self._in = self._interp.get_input_details()[0]
            self._out = self._interp.get_output_details()[0]
        return n == self._batch

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities for a uint8 batch prepared by fer_edge.faces (raw grey levels)."""
        if batch.ndim != 4:
            raise ValueError(f"expected a (N, H, W, C) batch, got shape {batch.shape}")
        n = batch.shape[0]
        if n == 0:
            return np.zeros((0, len(self.labels)), np.float32)
        if not self._ensure_batch(n):
            return np.concatenate([self.predict(batch[i : i + 1]) for i in range(n)])
        try:
            self._interp.set_tensor(self._in["index"], _quantize(batch, self._in))
            self._interp.invoke()
        except (RuntimeError, ValueError) as exc:  # a damaged model can load and still fail to run
            raise FerEdgeError(f"{self.path}: the model failed to run ({_first_line(exc)})") from None
        probs = _dequantize(self._interp.get_tensor(self._out["index"]), self._out)
        probs = np.clip(probs, 0.0, None)
        return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-12)

    def predict_faces(self, faces: list[np.ndarray]) -> np.ndarray:
        """Probabilities for face crops of any size (grey or BGR), preprocessed the shared way."""
        return self.predict(faces_batch(faces, self.info.input_size, self.info.channels, self.info.normalize))

    def predict_dataset(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for an (N, 48, 48) FER2013 array, in batches."""
        out = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            out.append(self.predict(faces_batch(chunk, self.info.input_size, self.info.channels, self.info.normalize)))
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)
