"""Frame sources: the Raspberry Pi camera, an OpenCV webcam, a video file or network stream, one
image, or a folder of images, each yielding Frame(image, index, time, name) with a BGR uint8 image.

frame.py     Frame, the Source base, SourceLost, the file kinds
open.py      open_source: --camera / --source to a source
camera.py    cv2.VideoCapture sources and picamera2;  capture_open.py: opening a URL or FIFO with a deadline
images.py    one picture or a folder, each checked against a memory budget before decoding
threaded.py  reading on a thread of its own (newest frame for live sources, decoded ahead for files)
pacing.py    a file played at its own frame rate (--realtime)
"""

from fer_edge.edge.sources.camera import CaptureSource, PicamSource
from fer_edge.edge.sources.frame import (IMAGE_SUFFIXES, PICAM_NAMES, VIDEO_SUFFIXES, Frame, Source, SourceLost,
                                         as_bgr, letterbox, quiet_opencv)
from fer_edge.edge.sources.images import ImageSource, read_image
from fer_edge.edge.sources.open import open_source, parse_wxh
from fer_edge.edge.sources.threaded import LatestFrameReader, PrefetchReader, capture_reader, with_capture_thread

__all__ = ["CaptureSource", "Frame", "IMAGE_SUFFIXES", "ImageSource", "LatestFrameReader", "PICAM_NAMES",
           "PicamSource", "PrefetchReader", "Source", "SourceLost", "VIDEO_SUFFIXES", "as_bgr", "capture_reader", "letterbox",
           "open_source", "parse_wxh", "quiet_opencv", "read_image", "with_capture_thread"]
