"""Events (docs/events.md) as a pandas DataFrame: `read_events(SOURCE)` from recorded files (what
`mosquitto_sub -t 'fer-edge/#'` prints, with or without -v, or a webhook receiver's log: one JSON
event a line) or from a live broker subscription for a while; and the per-device summary that
`fer-edge report` makes of several devices' events. pandas comes with the `analysis` extra."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from fer_edge.analysis import UNREADABLE, import_pandas, unreadable
from fer_edge.errors import FerEdgeError

if TYPE_CHECKING:
    import pandas

COLUMNS = ("device", "type", "seq", "time", "frame", "video_time", "track", "label", "previous", "score", "held",
           "duration", "frames", "reason", "faces", "fps", "expression", "interval", "dropped", "state", "source")
SHARE = "share_"  # a summary's shares become columns share_<label>


def _row(event: dict) -> dict:
    row = {k: event.get(k) for k in COLUMNS}
    for name, value in (event.get("shares") or {}).items():
        row[SHARE + name] = value
    return row


def parse_lines(lines: Iterable[str], where: str) -> list[dict]:
    """The events among lines of JSON (a `mosquitto_sub -v` topic before each is skipped); other JSON
    objects without a schema field (Home Assistant's discovery configs) are left out."""
    from fer_edge.edge.events.schema import check_event

    events = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        start = line.find("{")
        try:
            if start < 0:
                raise ValueError("no JSON object")
            obj = json.loads(line[start:])
            if isinstance(obj, dict) and "schema" not in obj:
                continue
            events.append(check_event(obj))
        except ValueError as exc:
            raise FerEdgeError(f"{where}:{number}: not a fer-edge event ({exc})") from None
    return events


def events_dataframe(events: list[dict]) -> "pandas.DataFrame":
    pd = import_pandas()
    rows = [_row(e) for e in events]
    shares = list(dict.fromkeys(k for r in rows for k in r if k.startswith(SHARE)))  # labels in their order
    df = pd.DataFrame(rows, columns=[*COLUMNS, *shares])
    if len(df):
        df = df.sort_values(["device", "time", "seq"], kind="stable").reset_index(drop=True)
    return df


def _subscribe(url: str, duration: float, max_events: int | None, credentials: str | None, ca: str | None,
               cert: str | None, key: str | None) -> list[dict]:
    from fer_edge.edge.events.mqtt import import_paho, parse_url, read_credentials

    mqtt = import_paho()
    tls, host, port, prefix = parse_url(url)
    lines: list[str] = []
    done, subscribed = threading.Event(), threading.Event()
    problem: list[str] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if tls:
        client.tls_set(ca_certs=ca, certfile=cert, keyfile=key)
    login = read_credentials(credentials)
    if login:
        client.username_pw_set(*login)

    def on_connect(c, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            problem.append(str(reason_code))
            done.set()
        else:
            c.subscribe(f"{prefix}/+/#", qos=1)

    def on_message(c, userdata, msg):
        lines.append(msg.topic + " " + msg.payload.decode("utf-8", "replace"))
        if max_events is not None and len(lines) >= max_events:
            done.set()

    client.on_connect, client.on_message = on_connect, on_message
    client.on_subscribe = lambda *args: subscribed.set()
    try:
        client.connect(host, port, 30)
    except OSError as exc:
        raise FerEdgeError(f"{url}: cannot connect ({exc})") from None
    client.loop_start()
    try:
        done.wait(duration)
    finally:
        client.disconnect()
        client.loop_stop()
    if problem:
        raise FerEdgeError(f"{url}: the broker refused the connection: {problem[0]}")
    if not subscribed.is_set():
        raise FerEdgeError(f"{url}: no subscription within {duration} s")
    return parse_lines(lines[:max_events] if max_events else lines, url)


def read_events(source: str | os.PathLike | Iterable[str | os.PathLike], *, duration: float = 10.0,
                max_events: int | None = None, credentials: str | None = None, ca: str | None = None,
                cert: str | None = None, key: str | None = None) -> "pandas.DataFrame":
    """One row per event (columns COLUMNS, then share_<label> of summaries), sorted by device and time.

    SOURCE: a recorded events file, or several (one per device, or one for many); or a broker,
    mqtt[s]://HOST[:PORT][/PREFIX], subscribed to PREFIX/+/# for `duration` seconds or until
    `max_events` (retained states and summaries arrive first). Credentials as for `run --mqtt`:
    a file of username=/password= lines, else FER_EDGE_MQTT_USERNAME/FER_EDGE_MQTT_PASSWORD."""
    import_pandas()
    if isinstance(source, str) and source.startswith(("mqtt://", "mqtts://")):
        return events_dataframe(_subscribe(source, duration, max_events, credentials, ca, cert, key))
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    events = []
    for path in paths:
        p = Path(path)
        try:
            with open(p, encoding="utf-8") as fh:
                events += parse_lines(fh, str(p))
        except UNREADABLE as exc:
            raise unreadable(p, exc, "an events file") from None
    return events_dataframe(events)


def is_events_file(path: str | os.PathLike, lines: int = 1000) -> bool:
    """Whether the file holds events (a line with a schema field, before any `--jsonl` face record;
    Home Assistant's configs in a `mosquitto_sub -t '#'` recording are passed over)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for _, line in zip(range(lines), fh):
                start = line.find("{")
                if start < 0:
                    if line.strip():
                        return False  # a CSV header, or something else
                    continue
                try:
                    obj = json.loads(line[start:])
                except ValueError:
                    return False
                if isinstance(obj, dict) and "schema" in obj:
                    return True
                if isinstance(obj, dict) and "track" in obj:
                    return False
    except (OSError, UnicodeDecodeError):
        return False
    return False


def device_table(df: "pandas.DataFrame") -> "pandas.DataFrame":
    """Per device: its time span, faces that appeared, expression changes, mean faces in view and FPS
    (from the summaries), events dropped, and the share of each expression over the summaries'
    face-frames (each summary weighted by its frames x faces) with the most shown one."""
    pd = import_pandas()
    shares = [c for c in df.columns if c.startswith(SHARE)]
    rows = []
    for device, part in df.groupby("device", sort=True):
        summaries = part[part["type"] == "summary"]
        weight = (summaries["frames"].astype(float) * summaries["faces"].clip(lower=1).astype(float))
        row = {"device": device, "from": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(part["time"].min())),
               "seconds": round(float(part["time"].max() - part["time"].min()), 1),
               "faces": int((part["type"] == "face_appeared").sum()),
               "changes": int((part["type"] == "expression_changed").sum()),
               "mean_faces": round(float(summaries["faces"].mean()), 2) if len(summaries) else 0.0,
               "fps": round(float(summaries["fps"].mean()), 1) if len(summaries) else 0.0,
               "dropped": int(summaries["dropped"].max()) if len(summaries) else 0}
        total = float(weight.sum())
        values = {c[len(SHARE):]: (float((summaries[c].fillna(0) * weight).sum()) / total if total else 0.0)
                  for c in shares}
        row["most"] = max(values, key=values.get) if values and total else "none"
        row.update({name: round(v, 3) for name, v in values.items()})
        rows.append(row)
    return pd.DataFrame(rows)
