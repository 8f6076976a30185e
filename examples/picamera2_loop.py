"""The Raspberry Pi camera through your own picamera2 object: print each face's expression.

    python examples/picamera2_loop.py         # Ctrl-C stops

picamera2 comes with Raspberry Pi OS (`sudo apt install python3-picamera2`); the venv must see it
(`python3 -m venv --system-site-packages`). Its "RGB888" format is B, G, R bytes: OpenCV's order,
which is what fer-edge takes.
"""

import argparse

from picamera2 import Picamera2

import fer_edge

parser = argparse.ArgumentParser(description="picamera2 loop")
parser.add_argument("--max-frames", type=int, help="stop after this many frames")
args = parser.parse_args()

camera = Picamera2()
camera.configure(camera.create_video_configuration(main={"size": (640, 480), "format": "RGB888"}))
camera.start()
try:
    with fer_edge.Recognizer() as recognizer:
        frame_number = 0
        while args.max_frames is None or frame_number < args.max_frames:
            frame = camera.capture_array("main")
            for face in recognizer.recognize(frame):
                print(f"frame {frame_number}: face #{face.track_id} {face.label} {face.score:.2f} at {face.box}")
            frame_number += 1
finally:
    camera.stop()
    camera.close()
