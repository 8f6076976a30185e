"""What `fer-edge run --mqtt` costs and how quickly its events arrive, with a local Mosquitto.

1. Latency: a run of a shared clip at its own frame rate (--realtime, as a camera delivers frames)
   publishes a summary every --interval seconds besides its face events; a paho subscriber on the
   same machine takes each message's arrival time minus its `time` field (the wall clock when the
   frame loop finished the frame): frame done -> queued -> published -> broker -> subscriber.
2. FPS cost, in one process: the pipeline over the clip's first --block frames, in --rounds
   alternating blocks without and with the MQTT sink observing every frame (default event
   settings, connected to the broker); the median FPS and CPU ms a frame (all threads) of each, and
   what one publish() call costs the frame loop. On a shared machine these are the figures to trust.
3. FPS cost, whole CLI: `fer-edge run` as fast as the pipeline goes, alternately without and with
   --mqtt, --pairs times; the median of each run's mean FPS (its own summary line). Separate
   processes: the machine's load drifts between them.

    .venv/bin/python benchmarks/events_latency.py [--clip PATH] [--pairs 5] [--interval 0.1] [--rounds 10]

Prints one JSON object. Needs mosquitto (Debian: apt-get install mosquitto) and paho-mqtt.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "media" / "video03_emotions_woman.mp4"
FPS = re.compile(r"mean ([0-9.]+) FPS")


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import getpass

    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser {getpass.getuser()}\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.02)
    raise SystemExit("mosquitto did not start")


def fer_edge(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "fer_edge", "run", "--headless", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stderr


def latency(port: int, clip: Path, interval: float, max_frames: int | None) -> dict:
    import paho.mqtt.client as mqtt

    delays: dict[str, list[float]] = {"event": [], "summary": []}
    ready = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

    def on_message(c, userdata, msg):
        arrived = time.time()
        kind = msg.topic.rsplit("/", 1)[-1]
        if kind in delays and not msg.retain:
            delays[kind].append(arrived - json.loads(msg.payload)["time"])

    client.on_connect = lambda c, *a: c.subscribe("bench/+/#", qos=1)
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    ready.wait(10)
    args = ["--source", clip, "--realtime", "--mqtt", f"mqtt://127.0.0.1:{port}/bench", "--device-id", "bench",
            "--event-interval", interval, "--no-ha-discovery"]
    summary = fer_edge(*args, *(["--max-frames", max_frames] if max_frames else []))
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    every = sorted(delays["event"] + delays["summary"])
    ms = lambda v: round(1000 * v, 2)  # noqa: E731
    return {"messages": len(every), "face_events": len(delays["event"]), "median_ms": ms(statistics.median(every)),
            "p99_ms": ms(every[min(len(every) - 1, int(0.99 * len(every)))]), "max_ms": ms(every[-1]),
            "run": summary.strip().splitlines()[-1]}


def fps_cost(port: int, clip: Path, pairs: int) -> dict:
    without, with_mqtt = [], []
    for _ in range(pairs):
        without.append(float(FPS.search(fer_edge("--source", clip, "--jsonl", os.devnull)).group(1)))
        with_mqtt.append(float(FPS.search(fer_edge("--source", clip, "--jsonl", os.devnull, "--mqtt",
                                                   f"mqtt://127.0.0.1:{port}/bench", "--device-id", "cost"))
                               .group(1)))
    a, b = statistics.median(without), statistics.median(with_mqtt)
    return {"fps_without": without, "fps_with_mqtt": with_mqtt, "median_without": a, "median_with_mqtt": b,
            "cost_percent": round(100 * (a - b) / a, 2)}


def fps_cost_interleaved(port: int, clip: Path, rounds: int, frames: int) -> dict:
    """In one process, the pipeline over the same decoded frames in alternating blocks without and
    with the --mqtt sink observing each frame (connected to the broker all along): the load of a
    shared machine drifts between blocks far less than between processes."""
    from itertools import islice

    from fer_edge.edge.events.options import make_sink
    from fer_edge.edge.recognizer import Recognizer
    from fer_edge.edge.sources import Frame, open_source

    with open_source(source=str(clip)) as source:
        images = [f.image for f in islice(source, frames)]
    recognizer = Recognizer()
    sink = make_sink({"mqtt": f"mqtt://127.0.0.1:{port}/bench", "device_id": "inproc", "ha_discovery": True,
                      "event_hold": 1.0, "event_interval": 5.0}, recognizer.labels, clip.name)
    import psutil

    def sink_threads_cpu() -> float:
        """CPU seconds of the threads the sink added (its event thread, the sender, paho's loop)."""
        ids = {t.native_id for t in threading.enumerate() if t.name.startswith(("fer-edge-", "paho-mqtt"))}
        return sum(t.user_time + t.system_time for t in psutil.Process().threads() if t.id in ids)

    threads_cpu0 = sink_threads_cpu()
    fps = {"without": [], "with": []}
    cpu = {"without": [], "with": []}  # CPU ms a frame: far less sensitive to the machine's load than FPS
    observe_us: list[float] = []
    try:
        for r in range(rounds):
            for mode in (("without", "with") if r % 2 == 0 else ("with", "without")):
                recognizer.reset()
                c0 = time.process_time()  # every thread of the process: the sink's and paho's included
                t0 = time.perf_counter()
                for i, image in enumerate(images):
                    result = recognizer.process(image)
                    if mode == "with":
                        t1 = time.perf_counter()
                        sink.publish(Frame(image, i, i / 24.0), None, result, None)
                        observe_us.append(1e6 * (time.perf_counter() - t1))
                fps[mode].append(len(images) / (time.perf_counter() - t0))
                cpu[mode].append(1000 * (time.process_time() - c0) / len(images))
        threads_cpu = sink_threads_cpu() - threads_cpu0
    finally:
        lines = sink.close()
        recognizer.close()
    a, b = statistics.median(fps["without"]), statistics.median(fps["with"])
    observe_us.sort()
    return {"frames": len(images), "rounds": rounds, "median_without": round(a, 1), "median_with_mqtt": round(b, 1),
            "cost_percent": round(100 * (a - b) / a, 2),
            "cpu_ms_without": round(statistics.median(cpu["without"]), 3),
            "cpu_ms_with_mqtt": round(statistics.median(cpu["with"]), 3),
            "cpu_cost_percent": round(100 * (statistics.median(cpu["with"]) / statistics.median(cpu["without"]) - 1), 2),
            "sink_threads_us_per_frame": round(1e6 * threads_cpu / (rounds * len(images)), 1),
            "observe_median_us": round(statistics.median(observe_us), 1),
            "observe_p99_us": round(observe_us[int(0.99 * len(observe_us))], 1), "sink": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.1, help="summary interval of the latency run (s)")
    parser.add_argument("--max-frames", type=int, default=None, help="frames of the latency run")
    parser.add_argument("--rounds", type=int, default=10, help="alternating blocks of the in-process FPS cost")
    parser.add_argument("--block", type=int, default=200, help="frames per block of the in-process FPS cost")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker, port = start_broker(Path(tmp))
        try:
            result = {"clip": opts.clip.name, "cpus": os.cpu_count(), "load_before": os.getloadavg()[0],
                      "latency": latency(port, opts.clip, opts.interval, opts.max_frames),
                      "fps_in_process": fps_cost_interleaved(port, opts.clip, opts.rounds, opts.block),
                      "fps_cli": fps_cost(port, opts.clip, opts.pairs)}
        finally:
            broker.terminate()
            broker.wait(10)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
