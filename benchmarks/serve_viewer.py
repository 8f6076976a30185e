"""What a live viewer costs `fer-edge run --serve`: the run's FPS with no server, with the server
on and nobody watching, and with one viewer watching (the page's two streams: the MJPEG video and
the Server-Sent Events), on the same frames.

    python benchmarks/serve_viewer.py --source ../shared/media/video03_emotions_woman.mp4 \\
        --frames 300 --size 640x480

Each measurement is `fer-edge run`'s own frame loop (edge/runner.py: source, detector, classifier,
tracker, the server as its observer; no other output), over a video looped to --frames and
letterboxed to --size as `fer-edge bench` does. The modes alternate for --rounds rounds (A B C,
C B A, ...) so drift in the machine's load falls on all of them; the median is reported, with the
load average. The viewer is a thread of this process reading both streams as fast as they come, as
a browser on another machine would (its own CPU then costs the device nothing).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from fer_edge.edge.bench.looped import LoopedSource, parse_size  # noqa: E402
from fer_edge.edge.bench.stats import UsageMeter  # noqa: E402
from fer_edge.machine import load_average, machine  # noqa: E402
from fer_edge.edge.outputs.files import Outputs  # noqa: E402
from fer_edge.edge.recognizer import Recognizer  # noqa: E402
from fer_edge.edge.runner import run  # noqa: E402
from fer_edge.edge.serve import LiveView  # noqa: E402
from fer_edge.edge.serve.server import BOUNDARY  # noqa: E402
from fer_edge.edge.sources import open_source  # noqa: E402

MODES = ("no server", "server, no viewer", "one viewer")


class Viewer:
    """Reads /stream.mjpg and /events on its own threads and counts the frames and states."""

    def __init__(self, port: int):
        self.frames = self.states = 0
        self._socks = []
        self._threads = [threading.Thread(target=self._read, args=(port, path), daemon=True)
                         for path in ("/stream.mjpg", "/events")]
        for t in self._threads:
            t.start()

    def _read(self, port: int, path: str) -> None:
        marker = f"--{BOUNDARY}".encode() if path == "/stream.mjpg" else b"\ndata: "
        sock = socket.create_connection(("127.0.0.1", port))
        self._socks.append(sock)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        buf = bytearray(1 << 16)
        tail = b""
        while True:
            try:
                n = sock.recv_into(buf)
            except OSError:
                return
            if not n:
                return
            chunk = tail + bytes(buf[:n])
            count = chunk.count(marker)
            if path == "/stream.mjpg":
                self.frames += count
            else:
                self.states += count
            tail = chunk[-len(marker) + 1:]  # a marker split across two reads is counted once

    def close(self) -> None:
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for t in self._threads:
            t.join(2)


def measure(mode: str, args, recognizer) -> dict:
    looped = LoopedSource(lambda: open_source(None, args.source, None), args.size)
    recognizer.reset()
    outputs = Outputs(recognizer.labels)
    view = viewer = None
    try:
        if mode != "no server":
            view = LiveView("127.0.0.1", 0, recognizer.labels, looped.name, fps=args.serve_fps).start()
            outputs.add_live(view)
        if mode == "one viewer":
            viewer = Viewer(view.port)
            deadline = time.monotonic() + 5
            while view.viewers < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
        meter = UsageMeter()
        meter.start()
        with contextlib.redirect_stderr(io.StringIO()):  # the runner's summary line; ours are below
            summary = run(looped, recognizer, outputs, None, args.frames)
        usage = meter.stop()
    finally:
        if viewer is not None:
            viewer.close()
        if view is not None:
            view.close()
        looped.close()
    out = {"mode": mode, "fps": round(summary.fps, 2), "cpu_percent": round(100 * usage.cpu_s / usage.wall_s, 1),
           "cpu_ms_per_frame": round(1000 * usage.cpu_s / max(summary.frames, 1), 2)}
    if view is not None:
        out["jpegs"] = view.encoded
    if viewer is not None:
        out.update(viewer_frames=viewer.frames, viewer_states=viewer.states,
                   viewer_fps=round(viewer.frames / summary.elapsed, 2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="a video (looped to --frames), or a folder of images")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--size", default="640x480", help="letterbox every frame to WxH, as `fer-edge bench --size`")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="the expression model's threads (run's default)")
    parser.add_argument("--serve-fps", type=int, default=10, help="as `fer-edge run --serve-fps` (its default)")
    parser.add_argument("--model", default=None, help="a model choice or .tflite file [default: fast]")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    args.size = parse_size(args.size)

    started = machine()
    runs = []
    with Recognizer(args.model, threads=args.threads) as recognizer:  # run's own defaults
        warm = argparse.Namespace(**{**vars(args), "frames": 30})
        measure("no server", warm, recognizer)  # first invokes allocate; keep them out
        for r in range(args.rounds):
            for mode in (MODES if r % 2 == 0 else MODES[::-1]):
                result = measure(mode, args, recognizer)
                runs.append(result)
                print(f"round {r + 1}: {json.dumps(result)}", file=sys.stderr)
    fps = {m: statistics.median(r["fps"] for r in runs if r["mode"] == m) for m in MODES}
    cpu = {m: statistics.median(r["cpu_percent"] for r in runs if r["mode"] == m) for m in MODES}
    cpu_ms = {m: statistics.median(r["cpu_ms_per_frame"] for r in runs if r["mode"] == m) for m in MODES}
    viewer_fps = statistics.median(r["viewer_fps"] for r in runs if r["mode"] == "one viewer")
    cost = 100.0 * (1 - fps["one viewer"] / fps["no server"])
    report = {"source": args.source, "size": list(args.size), "frames": args.frames, "rounds": args.rounds,
              "threads": args.threads, "serve_fps": args.serve_fps, "fps": fps, "cpu_percent": cpu,
              "cpu_ms_per_frame": cpu_ms, "viewer_video_fps": viewer_fps, "viewer_cost_percent": round(cost, 1),
              "machine": started, "load_average_end": load_average(), "runs": runs}
    if args.json:
        print(json.dumps(report))
        return
    print(f"{Path(args.source).name} letterboxed to {args.size[0]}x{args.size[1]}, {args.frames} frames x "
          f"{args.rounds} rounds, model threads {args.threads}, --serve-fps {args.serve_fps}")
    print(f"machine: {started['cpu']}, {started['cores']} cores; load average "
          f"{' '.join(map(str, started['load_average']))} at start, {' '.join(map(str, load_average()))} at end")
    for m in MODES:
        print(f"  {m:18s} {fps[m]:7.1f} FPS  CPU {cpu_ms[m]:.2f} ms a frame ({cpu[m]:.0f}% of one core)")
    print(f"one viewer: {viewer_fps:.1f} video frames a second received; run FPS {cost:+.1f}% lower than with no "
          f"server" if cost >= 0 else f"one viewer: {viewer_fps:.1f} video frames a second received; run FPS "
          f"{-cost:.1f}% higher than with no server (noise)")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
