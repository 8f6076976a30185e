"""Makes docs/serve.jpg: the `fer-edge run --serve` page in headless Chromium, on a video made here
from samples/astronaut.jpg (slowly panned and zoomed, so the face moves as in a camera's view).

    python docs/serve_screenshot.py            # needs chromium and chromium-driver (apt)

It uses the shipped model, so the label and scores are the real ones for that picture.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from webdriver import find_browser, headless_chromium  # noqa: E402

SECONDS, FPS, SIZE = 14, 24, (640, 480)


def make_video(path: Path) -> None:
    picture = cv2.imread(str(REPO / "samples" / "astronaut.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    n = SECONDS * FPS
    for i in range(n):
        t = i / (n - 1)
        scale = 0.78 + 0.12 * np.sin(np.pi * t)  # in and out again
        frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        side = int(512 * scale)
        small = cv2.resize(picture, (side, side), interpolation=cv2.INTER_AREA)
        x = int((SIZE[0] - side) * (0.15 + 0.7 * t))
        y = (SIZE[1] - side) // 2
        frame[y:y + side, x:x + side] = small
        writer.write(frame)
    writer.release()


def main() -> None:
    browser = find_browser()
    if browser is None:
        sys.exit("needs chromium and chromedriver (apt install chromium chromium-driver)")
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "astronaut_pan.mp4"
        make_video(video)
        proc = subprocess.Popen([sys.executable, "-m", "fer_edge", "run", "--source", str(video), "--realtime",
                                 "--headless", "--serve", "127.0.0.1:0"], cwd=REPO, stderr=subprocess.PIPE, text=True)
        try:
            url = next(line.split()[2] for line in proc.stderr if line.startswith("live view: "))
            with headless_chromium(*browser) as page:
                page.get(url)
                time.sleep(SECONDS - 4)  # most of the video: a timeline with some history
                png = page.screenshot()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=30)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    out = REPO / "docs" / "serve.jpg"  # as PNG, 340 KB
    cv2.imwrite(str(out), image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
