"""Your own loop over a webcam: fer-edge finds the faces and their expressions, you draw them.

    python examples/webcam_loop.py            # webcam 0; q or Esc quits
    python examples/webcam_loop.py 1          # another camera, or a video file, or an rtsp:// URL
"""

import argparse

import cv2

import fer_edge

parser = argparse.ArgumentParser(description="webcam loop with your own drawing")
parser.add_argument("source", nargs="?", default="0", help="camera number, video file or URL (default: 0)")
parser.add_argument("--max-frames", type=int, help="stop after this many frames")
args = parser.parse_args()
source = int(args.source) if args.source.isdigit() else args.source

with fer_edge.Recognizer(model="fast") as recognizer, fer_edge.Window() as window:
    for image, faces in fer_edge.stream(source, recognizer, max_frames=args.max_frames):
        for face in faces:
            x, y, w, h = face.box
            colour = (0, 200, 255) if face.label == "happy" else (255, 255, 255)
            cv2.rectangle(image, (x, y), (x + w, y + h), colour, 2)
            cv2.putText(image, f"{face.label} {face.score:.0%}", (x, max(20, y - 8)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.7, colour, 2)
        if not window.show(image):  # False once q or Esc is pressed or the window is closed
            break
