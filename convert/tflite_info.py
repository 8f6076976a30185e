"""What a converted .tflite file really contains, read back through LiteRT: its input/output
quantisation, whether it is integer-only, and whether it accepts a batch of several faces."""

from __future__ import annotations

import os

import numpy as np

# Ops that would mean float arithmetic or non-builtin kernels inside an int8 file.
_NOT_INTEGER_OPS = {"DEQUANTIZE", "CUSTOM", "DELEGATE"}


def _interpreter(path: str | os.PathLike):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    # Without the default XNNPACK delegate the interpreter lists the file's own ops, not one DELEGATE node.
    return Interpreter(model_path=str(path), experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _qparams(detail: dict) -> dict:
    scale, zero_point = detail["quantization"]
    return {"dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero_point)}


def io_quantization(path: str | os.PathLike) -> dict:
    """{"input": {"dtype", "scale", "zero_point"}, "output": {...}} of a single-input, single-output file."""
    interp = _interpreter(path)
    return {"input": _qparams(interp.get_input_details()[0]), "output": _qparams(interp.get_output_details()[0])}


def integer_only_problems(path: str | os.PathLike) -> list[str]:
    """Why `path` is not a full-integer int8 model; empty when it is.

    Full integer means: int8 input and output, no float tensor anywhere, every op builtin and
    producing int8 (int32 appears only as biases and constant shape operands, which are inputs).
    """
    interp = _interpreter(path)
    interp.allocate_tensors()
    tensors = {d["index"]: d for d in interp.get_tensor_details()}
    problems = []
    for kind, details in (("input", interp.get_input_details()), ("output", interp.get_output_details())):
        for d in details:
            if d["dtype"] != np.int8:
                problems.append(f"{kind} {d['name']} is {np.dtype(d['dtype']).name}, not int8")
    for d in tensors.values():
        if d["dtype"] not in (np.int8, np.int32):
            problems.append(f"tensor {d['name']} is {np.dtype(d['dtype']).name}")
    for op in interp._get_ops_details():
        name = op["op_name"]
        if name in _NOT_INTEGER_OPS or name.startswith("Flex"):
            problems.append(f"op {name} is not an integer builtin")
        for i in op["outputs"]:
            if i >= 0 and i in tensors and tensors[i]["dtype"] != np.int8:
                problems.append(f"op {name} produces {np.dtype(tensors[i]['dtype']).name} ({tensors[i]['name']})")
    return problems


def batch_resizable(path: str | os.PathLike, batch: int = 2) -> bool:
    """Whether the file runs on `batch` faces at once (resized from its traced batch of one)."""
    interp = _interpreter(path)
    detail = interp.get_input_details()[0]
    try:
        interp.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
        interp.allocate_tensors()
        interp.set_tensor(detail["index"], np.zeros([batch, *detail["shape"][1:]], detail["dtype"]))
        interp.invoke()
    except (RuntimeError, ValueError):
        return False
    return tuple(interp.get_tensor(interp.get_output_details()[0]["index"]).shape)[:1] == (batch,)
