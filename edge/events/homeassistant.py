"""Home Assistant MQTT discovery: retained configs under
`<discovery_prefix>/sensor/<node_id>/<object_id>/config` that make the device and its sensors
(current expression, faces in view, FPS, share of each expression) appear with no configuration.
The sensors read the retained summary topic with value templates; availability follows the
retained state topic, whose last will marks the device unavailable when its connection is lost.
"""

from __future__ import annotations

import re

from fer_edge import __version__


def discovery_messages(discovery_prefix: str, device: str, base: str, labels) -> list[tuple[str, dict]]:
    """(topic, config) for each sensor of `device`, whose topics live under `base` (PREFIX/DEVICE)."""
    node = f"fer_edge_{device}"  # node_id and object_id: [a-zA-Z0-9_-] (the device id already is)
    device_block = {"identifiers": [node], "name": f"fer-edge {device}", "manufacturer": "fer-edge",
                    "model": "facial-expression recognition", "sw_version": __version__}
    availability = [{"topic": f"{base}/state", "value_template": "{{ value_json.state }}",
                     "payload_available": "online", "payload_not_available": "offline"}]
    sensors = [("expression", "Expression", "{{ value_json.expression }}", {"icon": "mdi:emoticon-outline"}),
               ("faces", "Faces", "{{ value_json.faces }}", {"state_class": "measurement", "icon": "mdi:account-group"}),
               ("fps", "FPS", "{{ value_json.fps }}", {"state_class": "measurement", "unit_of_measurement": "fps",
                                                      "entity_category": "diagnostic"})]
    sensors += [(f"share_{re.sub(r'[^A-Za-z0-9_-]', '_', name)}", f"Share {name}", f"{{{{ (value_json.shares['{name}'] * 100) | round(1) }}}}",
                 {"state_class": "measurement", "unit_of_measurement": "%"}) for name in labels]
    messages = []
    for object_id, name, template, extra in sensors:
        config = {"name": name, "unique_id": f"{node}_{object_id}", "state_topic": f"{base}/summary",
                  "value_template": template, "availability": availability, "device": device_block,
                  "origin": {"name": "fer-edge", "sw_version": __version__}, **extra}
        messages.append((f"{discovery_prefix}/sensor/{node}/{object_id}/config", config))
    return messages
