"""Import the face-detection part of MediaPipe's tasks API, and nothing else of it.

`import mediapipe` runs package initialisers that import every task (audio, text, all of vision)
and, through vision's drawing_utils, `matplotlib.pyplot`: ~0.4 s on a 2-core x86 host (about 0.03 s
for what face detection needs), several seconds on a Raspberry Pi. The modules face detection needs
import cleanly on their own, so the parent packages are entered as bare packages (their folder as
`__path__`, initialisers not run) while those modules load; afterwards every mediapipe module entry
made on the way is removed again (the returned classes keep theirs alive), so a later plain
`import mediapipe` in the same process loads the real packages afresh: their initialisers bind
submodules by name and would fail on half-loaded entries. The native library is loaded meanwhile,
as it is otherwise looked up through the packages on first use.
If this MediaPipe lays its modules out differently, the ordinary full import is used instead.

mediapipe's optional_dependencies also does `from tensorflow.tools.docs import doc_controls` inside
`try/except ModuleNotFoundError`; with TensorFlow installed (a host) that loads all of it, ~2.4 s
and hundreds of MB, for a docs decorator. A None entry in sys.modules makes that import raise
ModuleNotFoundError, which mediapipe handles; it is removed again afterwards likewise.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from dataclasses import dataclass

from fer_edge.errors import FerEdgeError

_PARENTS = ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python", "mediapipe.tasks.python.vision")


@dataclass(frozen=True)
class FaceDetectionAPI:
    BaseOptions: type
    FaceDetector: type
    FaceDetectorOptions: type
    Image: type
    ImageFormat: type


def _lean() -> FaceDetectionAPI:
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("No module named 'mediapipe'")
    root = list(spec.submodule_search_locations)[0]
    before = set(sys.modules)
    for name in _PARENTS:
        package = types.ModuleType(name)
        package.__path__ = [root + name[len("mediapipe"):].replace(".", "/")]
        sys.modules[name] = package
    try:
        detector = importlib.import_module("mediapipe.tasks.python.vision.face_detector")
        image = importlib.import_module("mediapipe.tasks.python.vision.core.image")
        options = importlib.import_module("mediapipe.tasks.python.core.base_options")
        # The native library is otherwise loaded on the first detector's creation, through
        # importlib.resources on `mediapipe.tasks.c`, which would run the full package import then.
        importlib.import_module("mediapipe.tasks.python.core.mediapipe_c_bindings").load_raw_library()
        return FaceDetectionAPI(options.BaseOptions, detector.FaceDetector, detector.FaceDetectorOptions,
                                image.Image, image.ImageFormat)
    finally:
        for name in set(sys.modules) - before:
            if name.split(".")[0] == "mediapipe":
                del sys.modules[name]


def _full() -> FaceDetectionAPI:
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    return FaceDetectionAPI(BaseOptions, vision.FaceDetector, vision.FaceDetectorOptions, mp.Image, mp.ImageFormat)


def import_face_detection() -> FaceDetectionAPI:
    """MediaPipe's face-detection classes, imported without its other tasks, matplotlib or TensorFlow."""
    block_tf = "tensorflow" not in sys.modules
    if block_tf:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        if "mediapipe" in sys.modules:  # already imported in full by someone: nothing left to save
            return _full()
        try:
            return _lean()
        except (ImportError, AttributeError):
            return _full()
    except ImportError as exc:
        raise FerEdgeError(f"mediapipe is not usable here ({exc}); install it with `pip install mediapipe`") from None
    finally:
        if block_tf and sys.modules.get("tensorflow", 0) is None:
            del sys.modules["tensorflow"]
