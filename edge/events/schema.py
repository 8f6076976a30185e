"""The one JSON schema of fer-edge's events (docs/events.md): builders, and `check_event`, which
tests and `read_events` use to refuse anything else.

Every message is an object with the envelope fields below, then the fields of its type. Times are
Unix seconds (wall clock of the device) of the frame that caused the event; `video_time` is the
frame's position in a video file, or seconds since the start for a camera, null for still images.
"""

from __future__ import annotations

import re
import time

SCHEMA_VERSION = 1
DEVICE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # an MQTT topic level and a Home Assistant node_id alike

FACE_TYPES = ("face_appeared", "expression_changed", "face_left")
TYPES = (*FACE_TYPES, "summary", "state")
STATES = ("online", "offline")

_NUMBER = (int, float)
_ENVELOPE = {"schema": int, "type": str, "device": str, "seq": int, "time": _NUMBER}
# per type: field -> type(s); None in a tuple allows null
_FIELDS: dict[str, dict[str, object]] = {
    "face_appeared": {"frame": int, "video_time": (*_NUMBER, type(None)), "track": int, "label": str,
                      "score": _NUMBER, "box": list, "detection": _NUMBER},
    "expression_changed": {"frame": int, "video_time": (*_NUMBER, type(None)), "track": int, "label": str,
                           "previous": str, "score": _NUMBER, "held": _NUMBER},
    "face_left": {"frame": int, "video_time": (*_NUMBER, type(None)), "track": int, "label": str,
                  "duration": _NUMBER, "frames": int, "reason": str},
    "summary": {"frame": int, "video_time": (*_NUMBER, type(None)), "interval": _NUMBER, "frames": int,
                "fps": _NUMBER, "faces": int, "expression": str, "shares": dict, "dropped": int},
    "state": {"state": str, "source": (str, type(None)), "labels": list, "reason": (str, type(None))},
}


def envelope(kind: str, device: str, seq: int, when: float | None = None) -> dict:
    return {"schema": SCHEMA_VERSION, "type": kind, "device": device, "seq": seq,
            "time": round(time.time() if when is None else when, 3)}


def state_event(device: str, state: str, source: str | None, labels, seq: int = 0, reason: str | None = None,
                when: float | None = None) -> dict:
    return {**envelope("state", device, seq, when), "state": state, "source": source, "labels": list(labels),
            "reason": reason}


def check_event(event: object) -> dict:
    """The event itself when it follows the schema; else ValueError saying what is wrong."""
    if not isinstance(event, dict):
        raise ValueError(f"an event is a JSON object, not {type(event).__name__}")
    for name, kind in _ENVELOPE.items():
        if not isinstance(event.get(name), kind) or isinstance(event.get(name), bool):
            raise ValueError(f"{name!r} missing or not {getattr(kind, '__name__', 'a number')}")
    if event["schema"] != SCHEMA_VERSION:
        raise ValueError(f"schema {event['schema']}: this fer-edge reads schema {SCHEMA_VERSION}")
    fields = _FIELDS.get(event["type"])
    if fields is None:
        raise ValueError(f"type {event['type']!r}: not one of {', '.join(TYPES)}")
    if not DEVICE_PATTERN.fullmatch(event["device"]):
        raise ValueError(f"device {event['device']!r}: 1-64 of A-Z a-z 0-9 _ -")
    for name, kind in fields.items():
        if name not in event or not isinstance(event[name], kind) or isinstance(event[name], bool):
            raise ValueError(f"{event['type']}: {name!r} missing or of the wrong type")
    extra = set(event) - set(_ENVELOPE) - set(fields)
    if extra:
        raise ValueError(f"{event['type']}: unknown fields {', '.join(sorted(extra))}")
    if event["type"] == "state" and event["state"] not in STATES:
        raise ValueError(f"state {event['state']!r}: not one of {', '.join(STATES)}")
    if event["type"] == "face_appeared" and (len(event["box"]) != 4 or not all(isinstance(v, int) for v in event["box"])):
        raise ValueError("face_appeared: 'box' is [x, y, w, h] in pixels")
    if event["type"] == "summary" and not all(isinstance(v, _NUMBER) for v in event["shares"].values()):
        raise ValueError("summary: 'shares' maps each label to a number")
    return event
