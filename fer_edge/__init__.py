"""fer-edge: facial-expression recognition from host training to int8 inference on the edge.

The Python API (device side: never imports TensorFlow):

    import cv2, fer_edge
    with fer_edge.Recognizer() as recognizer:              # model="fast" | "accurate" | "best" | a .tflite
        for face in recognizer.recognize(cv2.imread("photo.jpg")):
            print(face.label, face.score, face.box)        # also face.scores, face.track_id, face.to_dict()
    for image, faces in fer_edge.stream(0): ...            # camera 0, "picam", a video, a folder, a URL
    df = fer_edge.analyze("clip.mp4")                      # pandas: one row per face per frame
    fer_edge.plot_timeline(df, "timeline.png")
    events = fer_edge.read_events("mqtt://hub/fer-edge", duration=60)  # run --mqtt's events, many devices

The names in __all__ are the stable API. They load on first use, so `import fer_edge` stays instant
and the command line does not pay for what it does not run.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "Recognizer": "fer_edge.edge.recognizer", "Expression": "fer_edge.edge.recognizer",
    "Face": "fer_edge.edge.results", "FrameResult": "fer_edge.edge.results", "FrameFaces": "fer_edge.edge.results",
    "stream": "fer_edge.edge.stream",
    "Window": "fer_edge.edge.outputs.window",
    "analyze": "fer_edge.analysis", "to_dataframe": "fer_edge.analysis", "read_results": "fer_edge.analysis",
    "plot_timeline": "fer_edge.result_plots", "read_events": "fer_edge.events_data",
    "FerEdgeError": "fer_edge.errors",
    "EMOTIONS": "fer_edge.labels",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ loads them
    from fer_edge.analysis import analyze, read_results, to_dataframe  # noqa: F401
    from fer_edge.result_plots import plot_timeline  # noqa: F401
    from fer_edge.edge.outputs.window import Window  # noqa: F401
    from fer_edge.edge.results import Face, FrameFaces, FrameResult  # noqa: F401
    from fer_edge.edge.recognizer import Expression, Recognizer  # noqa: F401
    from fer_edge.edge.stream import stream  # noqa: F401
    from fer_edge.errors import FerEdgeError  # noqa: F401
    from fer_edge.events_data import read_events  # noqa: F401
    from fer_edge.labels import EMOTIONS  # noqa: F401


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fer_edge' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
