"""`fer-edge run --mqtt` against a real Mosquitto on loopback: the messages of a run on a shared clip
against the schema, the retained state and Home Assistant configs, the last will, reconnection after
the broker restarts mid-run, a broker that stops acknowledging (SIGSTOP), TLS with a client
certificate, and a password file. Every run is the real CLI in its own process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from edge_fixtures import REPO, media
from mqtt_broker import Broker, Subscriber, make_certificates

from fer_edge.edge.events.schema import check_event

pytest.importorskip("paho.mqtt.client")

CLIP = "video01_single_face_neutral_to_smile.mp4"  # 72 frames: neutral, then a smile from frame ~24
LONG_CLIP = "video03_emotions_woman.mp4"  # 472 frames, 19.7 s at its own speed
FPS = re.compile(r"mean ([0-9.]+) FPS")


def fer_edge(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fer_edge", "run", "--headless", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=env)


def start_run(*args, env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fer_edge", "run", "--headless", *map(str, args)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def jsonl_frames(path) -> int:
    return len({json.loads(line)["frame"] for line in path.read_text().splitlines()})


def state_is(state):
    return lambda topic, p, retained: topic.endswith("/state") and isinstance(p, dict) and p.get("state") == state


@pytest.fixture
def broker(tmp_path):
    with Broker(tmp_path / "broker") as b:
        yield b


def test_a_run_publishes_schema_events_state_and_discovery(tmp_path, broker):
    out = tmp_path / "faces.jsonl"
    with Subscriber(broker.port) as sub:
        proc = fer_edge("--source", media(CLIP), "--jsonl", out, "--mqtt", broker.url("site/kiosks"),
                        "--device-id", "kiosk-1", "--event-hold", "0.3", "--event-interval", "0.5")
        assert proc.returncode == 0, proc.stderr
        sub.wait_for(state_is("offline"))
    assert jsonl_frames(out) == 72  # the file output is complete beside the events
    assert re.search(r"mqtt mqtt://127.0.0.1:\d+/site/kiosks: \d+ events sent, 0 dropped", proc.stderr)
    base = "site/kiosks/kiosk-1/"
    events = [p for t, p, _ in sub.messages if t.startswith(base)]
    for event in events:
        check_event(event)
        assert event["device"] == "kiosk-1" and "image" not in event  # no picture leaves the device
    kinds = [e["type"] for e in events]
    assert kinds[0] == "state" and events[0]["state"] == "online" and events[0]["source"] == CLIP
    assert kinds[-1] == "state" and events[-1]["state"] == "offline" and events[-1]["reason"] == "end of run"
    faces = [e for e in events if e["type"] != "state"]
    assert [e["seq"] for e in faces] == list(range(1, len(faces) + 1))  # none lost on a healthy broker
    appeared = [e for e in faces if e["type"] == "face_appeared"]
    changed = [e for e in faces if e["type"] == "expression_changed"]
    left = [e for e in faces if e["type"] == "face_left"]
    assert len(appeared) == 1 and appeared[0]["label"] == "neutral" and appeared[0]["frame"] == 0
    # the smile, reported once it held 0.3 s of video time; the same label as the JSONL's frames
    assert [(e["previous"], e["label"]) for e in changed] == [("neutral", "happy")]
    rows = {r["frame"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows[changed[0]["frame"]]["label"] == "happy" and changed[0]["held"] >= 0.3
    assert len(left) == 1 and left[0]["reason"] == "end of run" and left[0]["frames"] == 72
    summaries = [e for e in faces if e["type"] == "summary"]
    assert summaries and sum(s["frames"] for s in summaries) == 72
    assert abs(sum(summaries[-1]["shares"].values()) - 1.0) < 1e-3
    for t, p, _ in sub.messages:
        if t.endswith("/state") or t.endswith("/summary"):
            assert t.startswith(base)

    # A client arriving later gets the retained state (offline, with why), the last summary and the configs.
    with Subscriber(broker.port) as late:
        late.wait_for(lambda t, p, r: t == base + "state" and r and p["state"] == "offline")
        late.wait_for(lambda t, p, r: t == base + "summary" and r)
        late.wait_for(lambda t, p, r: t.startswith("homeassistant/sensor/fer_edge_kiosk-1/") and r)
        assert not [t for t, _, r in late.messages if t.endswith("/event")]  # events are not retained


def test_reconnects_after_a_broker_restart_and_the_will_says_offline(tmp_path, broker):
    """Mid-run the broker restarts: the run reconnects (backoff) and goes on publishing; then the
    process is killed, and the broker publishes its last will: the retained state turns offline."""
    with Subscriber(broker.port) as sub:
        run = start_run("--source", media(LONG_CLIP), "--realtime", "--jsonl", tmp_path / "f.jsonl",
                        "--mqtt", broker.url(), "--device-id", "pi", "--event-interval", "0.2")
        try:
            sub.wait_for(state_is("online"))
            sub.wait_for(lambda t, p, r: t.endswith("/summary"))
            broker.stop()
            time.sleep(0.3)
            broker.start()  # the same port and config; the subscriber reconnects too
            mark = len(sub.messages)
            sub.wait_for(state_is("online"), 10, since=mark)
            sub.wait_for(lambda t, p, r: t.endswith("/summary"), 5, since=mark)
            mark = len(sub.messages)
            assert run.poll() is None
            run.kill()  # no clean disconnect: the broker sends the will
            run.wait(10)
            will = sub.wait_for(state_is("offline"), since=mark)
        finally:
            if run.poll() is None:
                run.kill()
            run.wait(10)
            run.stdout.close()
            run.stderr.close()
    check_event(will[1])
    assert will[1]["reason"] == "connection lost"


def test_sigterm_as_systemd_stops_a_service_sends_the_offline_state(tmp_path, broker):
    with Subscriber(broker.port) as sub:
        run = start_run("--source", media(CLIP), "--realtime", "--jsonl", tmp_path / "f.jsonl", "--mqtt",
                        broker.url(), "--device-id", "svc")
        sub.wait_for(lambda t, p, r: t == "test/svc/event")
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
        state = sub.wait_for(state_is("offline"))[1]
    assert run.returncode == 128 + signal.SIGTERM, err
    assert state["reason"] == "terminated (SIGTERM)" and "0 dropped" in err
    left = [p for t, p, _ in sub.messages if t == "test/svc/event" and p["type"] == "face_left"]
    assert len(left) == 1 and left[0]["reason"] == "terminated (SIGTERM)"
    # the file kept what was seen (the signal may land between a frame's JSONL line and its observers)
    assert jsonl_frames(tmp_path / "f.jsonl") - left[0]["frames"] in (0, 1)


def test_a_broker_that_stops_reading_never_stalls_the_run(tmp_path, broker):
    """SIGSTOP: the broker keeps its connections but reads and acknowledges nothing. The frame loop
    keeps its pace, the JSONL is complete, the run ends within the flush time and counts the drops."""
    clip, frames = media(LONG_CLIP), 200
    base = fer_edge("--source", clip, "--max-frames", frames, "--jsonl", tmp_path / "base.jsonl")
    assert base.returncode == 0, base.stderr
    args = ["--source", clip, "--max-frames", frames, "--jsonl", tmp_path / "f.jsonl", "--mqtt", broker.url(),
            "--event-interval", "0.01"]  # a summary every 10 ms: some 50 messages to pile up
    with Subscriber(broker.port) as sub:
        run = start_run(*args)
        sub.wait_for(lambda t, p, r: t.endswith("/summary"))
        broker.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        out, err = run.communicate(timeout=60)
    took = time.monotonic() - t0
    assert run.returncode == 0, err
    assert jsonl_frames(tmp_path / "f.jsonl") == frames
    line = re.search(r"mqtt \S+: (\d+) events sent, (\d+) dropped", err)
    assert line and int(line.group(2)) > 0, err
    # Lenient on a shared 2-core machine: the cost itself is measured by benchmarks/events_latency.py.
    assert float(FPS.search(err).group(1)) > 0.5 * float(FPS.search(base.stderr).group(1))
    assert took < 20  # the rest of the frames (~1 s here), the flush (0.5 s without acks) and paho's stop

    # Stopped before the run connects: TCP is accepted (the kernel's backlog), the CONNACK never comes.
    proc = fer_edge(*args[:-2], "--max-frames", "50", "--event-interval", "0.1")
    broker.proc.send_signal(signal.SIGCONT)
    assert proc.returncode == 0 and jsonl_frames(tmp_path / "f.jsonl") == 50, proc.stderr
    assert re.search(r"0 events sent, \d+ dropped \(never connected", proc.stderr), proc.stderr


def test_tls_with_a_client_certificate(tmp_path):
    certs = make_certificates(tmp_path / "pki")
    settings = (f"cafile {certs['ca.crt']}\ncertfile {certs['server.crt']}\nkeyfile {certs['server.key']}\n"
                "require_certificate true\nallow_anonymous true")
    tls = {"ca_certs": str(certs["ca.crt"]), "certfile": str(certs["client.crt"]), "keyfile": str(certs["client.key"])}
    with Broker(tmp_path / "broker", settings) as broker, Subscriber(broker.port, tls=tls) as sub:
        url = broker.url(scheme="mqtts", host="localhost")
        proc = fer_edge("--source", media(CLIP), "--max-frames", "10", "--jsonl", tmp_path / "a.jsonl", "--mqtt", url,
                        "--mqtt-ca", certs["ca.crt"], "--mqtt-cert", certs["client.crt"], "--mqtt-key",
                        certs["client.key"], "--device-id", "tls")
        assert proc.returncode == 0, proc.stderr
        sub.wait_for(lambda t, p, r: t == "test/tls/event" and p["type"] == "face_appeared")
        # Without the client certificate the broker refuses the handshake: the run still ends, outputs whole.
        proc = fer_edge("--source", media(CLIP), "--max-frames", "10", "--jsonl", tmp_path / "b.jsonl", "--mqtt", url,
                        "--mqtt-ca", certs["ca.crt"], "--device-id", "nocert")
        assert proc.returncode == 0, proc.stderr
        assert "never connected" in proc.stderr and jsonl_frames(tmp_path / "b.jsonl") == 10
        assert not [t for t, _, _ in sub.messages if "/nocert/" in t]


def test_username_and_password_from_the_environment_or_a_file(tmp_path):
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "kiosk", "s3cret pass"], check=True,
                   capture_output=True, timeout=30)
    with Broker(tmp_path / "broker", f"allow_anonymous false\npassword_file {passwd}") as broker, \
            Subscriber(broker.port, login=("kiosk", "s3cret pass")) as sub:
        env = dict(os.environ, FER_EDGE_MQTT_USERNAME="kiosk", FER_EDGE_MQTT_PASSWORD="s3cret pass")
        proc = fer_edge("--source", media(CLIP), "--max-frames", "5", "--mqtt", broker.url(), "--device-id", "env",
                        env=env)
        assert proc.returncode == 0 and "5 events sent" not in proc.stderr and "0 dropped" in proc.stderr, proc.stderr
        sub.wait_for(lambda t, p, r: t == "test/env/event")
        wrong = tmp_path / "creds"
        wrong.write_text("# the broker's account for this kiosk\nusername=kiosk\npassword=wrong\n")
        proc = fer_edge("--source", media(CLIP), "--max-frames", "5", "--mqtt", broker.url(), "--device-id", "file",
                        "--mqtt-credentials", wrong)
        assert proc.returncode == 0, proc.stderr
        assert re.search(r"never connected: the broker refused the connection: Not authorized", proc.stderr), proc.stderr
        assert "wrong" not in proc.stderr


def test_read_events_from_a_broker_and_a_report_of_two_devices(tmp_path, broker):
    """Two devices publish to one broker; read_events subscribes to it, and `fer-edge report` takes the
    recorded events (as `mosquitto_sub -v` writes them) of both."""
    pytest.importorskip("pandas")
    from click.testing import CliRunner

    from fer_edge import read_events
    from fer_edge.cli import cli

    files = []
    for device, clip in (("door", CLIP), ("hall", "video04_lowlight_night_smile.mp4")):
        # recorded as `mosquitto_sub -v -t shop/DEVICE/#` would print them (one file per device here)
        with Subscriber(broker.port, topics=(f"shop/{device}/#",)) as sub:
            proc = fer_edge("--source", media(clip), "--mqtt", broker.url("shop"), "--device-id", device,
                            "--event-hold", "0.3", "--max-frames", "72", "--no-ha-discovery")
            assert proc.returncode == 0, proc.stderr
            sub.wait_for(lambda t, p, r: not r and state_is("offline")(t, p, r))
        files.append(tmp_path / f"{device}.txt")
        files[-1].write_text("".join(f"{t} {json.dumps(p)}\n" for t, p, r in sub.messages if not r))
    # From the broker: the retained last state and summary of each device, at once.
    live = read_events(broker.url("shop"), duration=5, max_events=4)
    assert sorted(zip(live["device"], live["type"])) == [("door", "state"), ("door", "summary"), ("hall", "state"),
                                                         ("hall", "summary")]
    assert set(live.loc[live["type"] == "state", "state"]) == {"offline"}
    df = read_events(files)
    assert set(df["device"]) == {"door", "hall"} and "share_happy" in df.columns
    door = df[df["device"] == "door"]
    assert list(door["type"])[:2] == ["state", "face_appeared"] and list(door["type"])[-1] == "state"
    assert list(door.loc[door["type"] == "expression_changed", "label"]) == ["happy"]

    r = CliRunner().invoke(cli, ["report", *map(str, files), "-o", str(tmp_path / "devices.html")])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["device", "from", "seconds"]
    header = lines[0].split()
    door_row = next(line.split() for line in lines if line.startswith("door"))
    shift = len(door_row) - len(header)  # 1 where the start time stays on one line as two words, 0 where it wraps
    faces = header.index("faces") + shift
    assert door_row[faces:faces + 2] == ["1", "1"]  # one face appeared, one expression change
    assert (tmp_path / "devices.html").read_text().count("<tr") == 3  # header and the two devices
