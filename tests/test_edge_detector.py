"""The face detector (BlazeFace on LiteRT) on real photos, its model-file and frame checks, and the
MediaPipe reference backend's import hygiene."""

import importlib.util
import shutil

import cv2
import numpy as np
import pytest
from edge_fixtures import media, run_python

from fer_edge.edge.detect import FaceDetector, expected_sha256, make_detector
from fer_edge.errors import FerEdgeError
from fer_edge.paths import default_model, face_detector_model


@pytest.fixture(scope="module")
def detector():
    det = FaceDetector(min_confidence=0.5)
    yield det
    det.close()


def centre(box):
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def test_one_face_on_a_single_face_photo(detector):
    found = detector.detect(cv2.imread(str(media("face01_single_frontal_smile.jpg"))))
    assert len(found) == 1
    cx, cy = centre(found[0].box)
    # The face (forehead to chin, ear to ear) spans about x 190..380, y 150..400 in this 572x562 photo.
    assert 240 < cx < 330 and 240 < cy < 340
    assert 140 < found[0].box[2] < 260
    assert found[0].score > 0.7


@pytest.mark.parametrize("name", ["noface01_coffee.png", "noface02_rocket_night.jpg", "noface03_cat_face.png"])
def test_no_face_on_photos_without_people(detector, name):
    assert detector.detect(cv2.imread(str(media(name)))) == []


def test_several_faces_on_a_group_photo(detector):
    found = detector.detect(cv2.imread(str(media("group3_grimace_glasses_flash.jpg"))))
    assert len(found) == 3


@pytest.mark.parametrize("cut", ["left", "top", "left and top", "right"])
def test_a_face_cut_by_the_frame_edge_keeps_its_box_past_the_edge(detector, cut):
    """The box of a face cut by the frame edge reaches past that edge, where the face would be (MediaPipe's
    own runtime clamps left and top to 0 and keeps the size, sliding such a box into the frame)."""
    image = cv2.imread(str(media("face04_surprised.jpg")))
    (whole,) = detector.detect(image)
    x0, y0, w0, _ = whole.box  # 165, 93, 182: cut 54 px (30%) of the face off on the left or top
    dx, dy = {"left": (219, 0), "top": (0, 147), "left and top": (180, 110), "right": (0, 0)}[cut]
    part = image[dy:, dx:] if cut != "right" else image[:, : int(x0 + 0.7 * w0)]
    (face,) = detector.detect(part)
    x, y, w, h = face.box
    assert abs(x - (x0 - dx)) < 12 and abs(y - (whole.box[1] - dy)) < 12 and abs(w - w0) < 15, face.box


def test_grey_and_bgra_frames_are_accepted(detector):
    bgr = cv2.imread(str(media("face02_astronaut_frontal_smile.png")))
    for frame in (cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)):
        assert len(detector.detect(frame)) == 1


def test_shipped_model_is_listed_in_sha256sums():
    assert expected_sha256(face_detector_model()) is not None


def test_damaged_detector_model_is_refused(tmp_path):
    model = tmp_path / face_detector_model().name
    shutil.copy(face_detector_model(), model)
    shutil.copy(face_detector_model().parent / "SHA256SUMS", tmp_path / "SHA256SUMS")
    with open(model, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(FerEdgeError, match="checksum .* does not match SHA256SUMS"):
        FaceDetector(model_path=model)


def test_unlisted_file_that_is_no_model_is_refused(tmp_path):
    bogus = tmp_path / "detector.tflite"
    bogus.write_bytes(b"not a flatbuffer at all" * 10)
    with pytest.raises(FerEdgeError, match="not a usable face detector model"):
        FaceDetector(model_path=bogus)


def test_a_tflite_model_that_is_not_blazeface_is_refused():
    with pytest.raises(FerEdgeError, match="not BlazeFace short-range"):
        FaceDetector(model_path=default_model())  # the expression model: a valid TFLite file


def test_confidence_out_of_range_is_refused():
    with pytest.raises(FerEdgeError, match="min-confidence"):
        FaceDetector(min_confidence=1.5)
    with pytest.raises(FerEdgeError, match="unknown detector"):
        make_detector("haar")


@pytest.mark.parametrize("frame, message", [
    (None, "numpy array"), (np.zeros((10, 10, 3), np.float32), "uint8"), (np.zeros((4, 10, 10, 3), np.uint8), "shape"),
    (np.zeros((10, 10, 2), np.uint8), "shape"), (np.zeros((0, 10, 3), np.uint8), "at least 1x1")])
def test_frames_no_detector_can_read_are_a_value_error(detector, frame, message):
    with pytest.raises(ValueError, match=message):
        detector.detect(frame)


def test_tiny_and_huge_frames_are_detected_without_error(detector):
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []
    assert detector.detect(np.zeros((3000, 40, 3), np.uint8)) == []


needs_mediapipe = pytest.mark.skipif(importlib.util.find_spec("mediapipe") is None,
                                     reason="mediapipe (the reference backend) is not installed")


@needs_mediapipe
def test_detector_import_does_not_load_tensorflow_but_leaves_it_importable():
    """mediapipe would import all of TensorFlow; edge.detector keeps it out and stays harmless to hosts."""
    code = (
        "import sys\n"
        "from fer_edge.edge.detect import make_detector\n"
        "d = make_detector('mediapipe'); d.close()\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 'TF loaded'\n"
        "assert 'tensorflow' not in sys.modules\n"
        "import importlib.util\n"
        "assert importlib.util.find_spec('tensorflow') is not None  # a host can still import it\n"
        "print('ok')\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


@needs_mediapipe
def test_detector_loads_only_face_detection_of_mediapipe_and_a_full_import_still_works():
    """Start-up on a Pi: mediapipe's package imports pull every task and matplotlib.pyplot; the
    detector loads only what face detection needs, and leaves `import mediapipe` intact for others."""
    code = (
        "import sys, numpy as np\n"
        "from fer_edge.edge.detect import make_detector\n"
        "d = make_detector('mediapipe')\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'\n"
        "assert not [m for m in sys.modules if m.startswith(('mediapipe.tasks.python.audio', "
        "'mediapipe.tasks.python.text', 'mediapipe.tasks.python.vision.pose'))], 'other tasks loaded'\n"
        "assert not [m for m in sys.modules if m.startswith('mediapipe')], 'mediapipe entries left behind'\n"
        "import mediapipe as mp\n"
        "from mediapipe.tasks.python import vision\n"
        "opts = vision.FaceDetectorOptions(base_options=mp.tasks.BaseOptions(model_asset_path=str(d.path)))\n"
        "with vision.FaceDetector.create_from_options(opts) as full:\n"
        "    full.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)))\n"
        "print(len(d.detect(np.zeros((64, 64, 3), np.uint8))))\n"
        "d.close()\n"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "0"
