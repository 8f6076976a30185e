"""Events without a broker: the appear/change/leave logic with its debounce on synthetic faces, the
schema check, Home Assistant's discovery configs against its documented format, the options' error
lines, and `--webhook` against a local HTTP receiver, one that answers and one that hangs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from click.testing import CliRunner
from edge_fixtures import REPO, media

from fer_edge.cli import cli
from fer_edge.edge.events.homeassistant import discovery_messages
from fer_edge.edge.events.schema import check_event, state_event
from fer_edge.edge.events.tracker import EventTracker, Snapshot
from fer_edge.edge.results import Face
from fer_edge.labels import EMOTIONS

CLIP = "video01_single_face_neutral_to_smile.mp4"


def face(track: int, label: str, box=(10, 10, 50, 50)) -> Face:
    probs = np.full(len(EMOTIONS), 0.05, np.float32)
    probs[EMOTIONS.index(label)] = 0.7
    return Face(track, box, label, 0.7, probs, 0.9, tuple(EMOTIONS))


def feed(tracker: EventTracker, frames, fps: float = 10.0, mono_step: float = 0.1) -> list[dict]:
    """frames: one list of faces per frame, at `fps` of video time."""
    events = []
    for i, faces in enumerate(frames):
        events += tracker.update(Snapshot(1000.0 + i * mono_step, i * mono_step, i, i / fps, faces))
    return events


def test_a_flicker_is_not_a_change_a_held_expression_is():
    tracker = EventTracker("dev", EMOTIONS, hold=0.5, interval=1e9)
    frames = ([[face(1, "neutral")]] * 5 + [[face(1, "happy")]] * 3 + [[face(1, "neutral")]] * 3  # 0.3 s: flicker
              + [[face(1, "happy")]] * 8)  # held 0.7 s
    events = feed(tracker, frames)
    assert [e["type"] for e in events] == ["face_appeared", "expression_changed"]
    change = events[1]
    assert (change["previous"], change["label"], change["frame"], change["held"]) == ("neutral", "happy", 16, 0.5)
    for e in events:
        check_event(e)


def test_leaving_after_the_trackers_grace_and_the_end_of_a_run():
    tracker = EventTracker("dev", EMOTIONS, hold=0.5, interval=1e9)
    # face 2 misses 5 frames (the tracker keeps its id) and comes back; then misses 6: it left
    frames = ([[face(1, "sad"), face(2, "happy", (100, 10, 80, 80))]] * 3 + [[face(1, "sad")]] * 5
              + [[face(1, "sad"), face(2, "happy", (100, 10, 80, 80))]] + [[face(1, "sad")]] * 6)
    events = feed(tracker, frames)
    kinds = [(e["type"], e["track"]) for e in events]
    assert kinds == [("face_appeared", 1), ("face_appeared", 2), ("face_left", 2)]
    assert events[-1]["frame"] == 14 and events[-1]["reason"] == "out of view" and events[-1]["frames"] == 4
    end = tracker.finish("interrupted")
    assert [e["type"] for e in end] == ["summary", "face_left"] and end[1]["reason"] == "interrupted"
    assert end[0]["faces"] == 1 and end[0]["expression"] == "sad" and end[0]["frames"] == 15
    assert end[0]["shares"]["sad"] == pytest.approx(15 / 19, abs=1e-4)  # of the face-frames: 15 sad, 4 happy
    assert [e["seq"] for e in events + end] == list(range(1, 6))


def test_summaries_at_the_interval_and_still_images_unrelated():
    tracker = EventTracker("dev", EMOTIONS, interval=1.0)
    events = feed(tracker, [[face(1, "happy")]] * 25, mono_step=0.1)  # 2.5 s of wall clock
    summaries = [e for e in events if e["type"] == "summary"]
    assert [s["frames"] for s in summaries] == [11, 10] and summaries[0]["fps"] == pytest.approx(11.0, rel=0.01)
    stills = EventTracker("dev", EMOTIONS, interval=1e9)
    events = []
    for i in range(3):  # a folder of images: the runner resets the tracker, ids start again at 1
        events += stills.update(Snapshot(0.0, 0.0, i, None, [face(1, "happy")]))
    assert [e["type"] for e in events] == ["face_appeared", "face_left", "face_appeared", "face_left", "face_appeared"]
    assert all(e["video_time"] is None for e in events)


def test_the_schema_refuses_what_it_does_not_define():
    good = state_event("dev", "online", "clip.mp4", EMOTIONS)
    check_event(good)
    for change, message in [({"schema": 2}, "schema 2"), ({"type": "x"}, "type 'x'"), ({"device": "a/b"}, "device"),
                            ({"state": "maybe"}, "state 'maybe'"), ({"extra": 1}, "unknown fields"),
                            ({"time": "now"}, "'time'")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_event({**good, **change})


def test_home_assistant_discovery_follows_its_documented_format():
    """<discovery_prefix>/<component>/[<node_id>/]<object_id>/config with a device block, availability,
    state_topic, value_template and unique_id (home-assistant.io: MQTT discovery, MQTT sensor)."""
    messages = discovery_messages("homeassistant", "kiosk-1", "fer-edge/kiosk-1", EMOTIONS)
    assert len(messages) == 3 + len(EMOTIONS)
    summary = {"expression": "happy", "faces": 2, "fps": 14.5, "shares": {n: 0.125 for n in EMOTIONS}}
    unique = set()
    for topic, config in messages:
        m = re.fullmatch(r"homeassistant/sensor/([a-zA-Z0-9_-]+)/([a-zA-Z0-9_-]+)/config", topic)
        assert m and m.group(1) == "fer_edge_kiosk-1", topic
        assert config["state_topic"] == "fer-edge/kiosk-1/summary"
        assert config["unique_id"] == f"fer_edge_kiosk-1_{m.group(2)}"
        unique.add(config["unique_id"])
        assert config["device"]["identifiers"] == ["fer_edge_kiosk-1"] and config["device"]["name"]
        (avail,) = config["availability"]
        assert avail == {"topic": "fer-edge/kiosk-1/state", "value_template": "{{ value_json.state }}",
                         "payload_available": "online", "payload_not_available": "offline"}
        # The template names a field a real summary has (Jinja is not installed here: read it by pattern).
        field = re.fullmatch(r"\{\{ \(?value_json\.(\w+)(?:\['(\w+)'\])?(?: \* 100\) \| round\(1\))? \}\}",
                             config["value_template"])
        assert field and field.group(1) in summary, config["value_template"]
        if field.group(2):
            assert field.group(2) in summary["shares"] and config["unit_of_measurement"] == "%"
    assert len(unique) == len(messages)


def fer_edge(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fer_edge", "run", "--headless", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("args, message", [
    (["--mqtt", "mqtt://user:pw@host/x"], "no credentials in the address"),
    (["--mqtt", "http://host"], "give mqtt://HOST"),
    (["--mqtt", "mqtt://host/a/#"], "without + or #"),
    (["--mqtt", "mqtt://host", "--mqtt-ca", "ca.pem"], "need an mqtts:// address"),
    (["--mqtt-ca", "ca.pem", "--jsonl", "-"], "--mqtt-ca: only used with --mqtt"),
    (["--event-hold", "2", "--jsonl", "-"], "--event-hold: only used with --mqtt or --webhook"),
    (["--webhook", "ftp://x"], "http:// or https://"),
    (["--mqtt", "mqtt://host", "--device-id", "a/b"], "--device-id 'a/b'"),
    (["--mqtt", "mqtt://host", "--mqtt-credentials", "/nonexistent"], "cannot read it"),
])
def test_option_problems_are_one_error_line(tmp_path, args, message):
    """In process (CliRunner): every one is refused before a model loads or a connection is tried."""
    result = CliRunner(env={"DISPLAY": None, "WAYLAND_DISPLAY": None}).invoke(
        cli, ["run", "--headless", "--source", str(REPO / "samples/astronaut.jpg"), *args])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_without_paho_the_error_says_how_to_install_it():
    code = ("import sys; sys.modules['paho'] = None; from fer_edge.cli import main; "
            "sys.argv = ['fer-edge', 'run', '--headless', '--source', 'samples/astronaut.jpg', '--mqtt', 'mqtt://h'];"
            " main()")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    from fer_edge.install_hint import extra_hint

    assert proc.stderr == f"error: --mqtt needs paho-mqtt: {extra_hint('events')}\n"  # what works for this install


class Receiver:
    """A local HTTP receiver of the webhook's POSTs; `hang` makes it read each request and never answer."""

    def __init__(self, hang: bool = False):
        self.bodies: list[dict] = []
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append((dict(self.headers), body))
                if hang:
                    outer.release.wait(30)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_webhook_posts_every_event(tmp_path):
    receiver = Receiver()
    try:
        env = {**os.environ, "FER_EDGE_WEBHOOK_TOKEN": "t0ken-abc"}
        proc = fer_edge("--source", media(CLIP), "--jsonl", tmp_path / "f.jsonl", "--webhook", receiver.url,
                        "--device-id", "hook", "--event-hold", "0.3", env=env)
    finally:
        receiver.close()
    assert proc.returncode == 0, proc.stderr
    events = [b for _, b in receiver.bodies]
    for e in events:
        check_event(e)
    assert [e["type"] for e in events] == ["state", "face_appeared", "expression_changed", "summary", "face_left",
                                           "state"]
    assert all(h["Authorization"] == "Bearer t0ken-abc" and h["Content-Type"] == "application/json"
               for h, _ in receiver.bodies)
    assert re.search(r"webhook \S+: 6 events sent, 0 dropped, 0 failed", proc.stderr), proc.stderr
    assert "t0ken" not in proc.stderr


def test_a_webhook_that_never_answers_never_stalls_the_run(tmp_path):
    receiver = Receiver(hang=True)
    try:
        t0 = time.monotonic()
        proc = fer_edge("--source", media(CLIP), "--jsonl", tmp_path / "f.jsonl", "--webhook", receiver.url,
                        "--webhook-timeout", "0.5")
        took = time.monotonic() - t0
    finally:
        receiver.close()
    assert proc.returncode == 0, proc.stderr
    assert len({json.loads(line)["frame"] for line in (tmp_path / "f.jsonl").read_text().splitlines()}) == 72
    line = re.search(r"webhook \S+: 0 events sent, (\d+) dropped, (\d+) failed \(timed out\)", proc.stderr)
    assert line and int(line.group(1)) + int(line.group(2)) >= 5, proc.stderr
    assert took < 15  # the run, then the 2 s flush: the hanging request is left to its timeout


def test_read_events_skips_discovery_configs_and_names_a_bad_line(tmp_path):
    pytest.importorskip("pandas")
    from fer_edge import FerEdgeError, read_events

    tracker = EventTracker("cam", EMOTIONS, hold=0.2, interval=1e9)
    events = [state_event("cam", "online", None, EMOTIONS, when=999.0)]
    events += feed(tracker, [[face(1, "neutral")]] * 3 + [[face(1, "happy")]] * 5) + tracker.finish()
    config = discovery_messages("homeassistant", "cam", "fer-edge/cam", EMOTIONS)[0]
    lines = [f"{config[0]} {json.dumps(config[1])}"] + [f"fer-edge/cam/x {json.dumps(e)}" for e in events]
    path = tmp_path / "rec.txt"
    path.write_text("\n".join(lines) + "\n")
    df = read_events(path)
    assert list(df["type"]) == ["state", "face_appeared", "expression_changed", "summary", "face_left"]
    assert df.loc[3, "share_happy"] == pytest.approx(5 / 8, abs=1e-4) and df.loc[2, "previous"] == "neutral"
    path.write_text("\n".join(lines[:3] + ['{"schema": 1, "type": "face_left"}']) + "\n")
    with pytest.raises(FerEdgeError, match=r"rec.txt:4: not a fer-edge event"):
        read_events(path)


def test_the_queue_drops_the_oldest_and_counts():
    from fer_edge.edge.events.queue import EventQueue

    q = EventQueue(limit=3)
    for i in range(5):
        q.put({"seq": i})
    q.put_front({"seq": -1})  # full: a returned event is the one dropped
    assert [q.get(0)["seq"] for _ in range(3)] == [2, 3, 4] and q.get(0) is None and q.dropped == 3
    q.put({"seq": 5})
    assert q.abandon() == 1 and q.dropped == 4
