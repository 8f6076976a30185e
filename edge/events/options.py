"""The event options of `fer-edge run` (--mqtt, --webhook and theirs) and the sink they make: kept
here so edge/commands.py gains one decorator and two calls."""

from __future__ import annotations

import re
import socket

import click

from fer_edge.errors import FerEdgeError

HOLD = 1.0  # s: an expression held this long is a change (a smile, not a flicker between two labels)
INTERVAL = 5.0  # s between summaries: Home Assistant's sensors update at this rate
NAMES = ("mqtt", "mqtt_ca", "mqtt_cert", "mqtt_key", "mqtt_credentials", "ha_discovery", "webhook",
         "webhook_timeout", "device_id", "event_hold", "event_interval")


def default_device_id() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:64] or "fer-edge"


def event_options(command):
    """Adds the options to a click command; they arrive as keyword arguments named in NAMES."""
    options = [
        click.option("--mqtt", metavar="mqtt[s]://HOST[:PORT][/PREFIX]",
                     help="Publish events (a face appears, its expression changes, it leaves; a summary every "
                          "--event-interval; the device's state) to an MQTT broker, under PREFIX/DEVICE "
                          "(docs/events.md). Needs paho-mqtt (the events extra)."),
        click.option("--mqtt-ca", metavar="FILE", help="CA certificate(s) that signed the broker's (mqtts://).  "
                     "[default: the system's]"),
        click.option("--mqtt-cert", metavar="FILE", help="Client certificate for the broker (mqtts://)."),
        click.option("--mqtt-key", metavar="FILE", help="The client certificate's private key, if not in --mqtt-cert."),
        click.option("--mqtt-credentials", metavar="FILE",
                     help="A file of username=NAME and password=SECRET lines for the broker.  [default: "
                          "FER_EDGE_MQTT_USERNAME and FER_EDGE_MQTT_PASSWORD from the environment, if set]"),
        click.option("--ha-discovery/--no-ha-discovery", default=True, show_default=True,
                     help="With --mqtt, announce the device and its sensors to Home Assistant (MQTT discovery "
                          "under homeassistant/)."),
        click.option("--webhook", metavar="URL",
                     help="POST the same events as JSON to this http(s) address (token: FER_EDGE_WEBHOOK_TOKEN)."),
        click.option("--webhook-timeout", default=2.0, show_default=True, type=click.FloatRange(0.1, 60),
                     help="Seconds to wait for each POST; two retries follow a failure."),
        click.option("--device-id", metavar="NAME", help="The device's name in events and topics (A-Z a-z 0-9 _ -).  "
                     "[default: the host name]"),
        click.option("--event-hold", default=HOLD, show_default=True, type=click.FloatRange(0, 600),
                     help="Seconds a new expression must hold before it is reported as a change."),
        click.option("--event-interval", default=INTERVAL, show_default=True, type=click.FloatRange(0.01, 86400),
                     help="Seconds between summaries (faces, share of each expression, FPS)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def check(opts: dict, given: dict) -> None:
    """Refuse bad event options before any model loads."""
    from fer_edge.edge.events.schema import DEVICE_PATTERN

    wants = opts.get("mqtt") or opts.get("webhook")
    used = [option for name, option in given.items() if name in NAMES and name not in ("mqtt", "webhook")]
    if used and not wants:
        raise FerEdgeError(f"{', '.join(used)}: only used with --mqtt or --webhook")
    mqtt_only = [option for name, option in given.items() if name.startswith(("mqtt_", "ha_"))]
    if mqtt_only and not opts.get("mqtt"):
        raise FerEdgeError(f"{', '.join(mqtt_only)}: only used with --mqtt")
    device = opts.get("device_id")
    if device is not None and not DEVICE_PATTERN.fullmatch(device):
        raise FerEdgeError(f"--device-id {device!r}: 1-64 of A-Z a-z 0-9 _ - (it is an MQTT topic level)")
    if opts.get("mqtt"):
        from fer_edge.edge.events.mqtt import import_paho, parse_url, read_credentials

        tls = parse_url(opts["mqtt"])[0]
        if (opts.get("mqtt_ca") or opts.get("mqtt_cert") or opts.get("mqtt_key")) and not tls:
            raise FerEdgeError("--mqtt-ca, --mqtt-cert and --mqtt-key need an mqtts:// address")
        import_paho()
        read_credentials(opts.get("mqtt_credentials"))
    if opts.get("webhook"):
        from fer_edge.edge.events.webhook import check_url

        check_url(opts["webhook"])


def make_sink(opts: dict, labels, source: str | None):
    """The started EventSink for the given options, or None when neither --mqtt nor --webhook is."""
    if not (opts.get("mqtt") or opts.get("webhook")):
        return None
    from fer_edge.edge.events.sink import EventSink
    from fer_edge.edge.serve.access import shown_name

    source = shown_name(source) if source else None  # a stream's user, password and query stay on the device
    device = opts.get("device_id") or default_device_id()
    transports = []
    if opts.get("mqtt"):
        from fer_edge.edge.events.mqtt import MqttTransport

        transports.append(MqttTransport(opts["mqtt"], device, source, labels, ca=opts.get("mqtt_ca"),
                                        cert=opts.get("mqtt_cert"), key=opts.get("mqtt_key"),
                                        credentials=opts.get("mqtt_credentials"),
                                        discovery_prefix="homeassistant" if opts.get("ha_discovery", True) else None))
    if opts.get("webhook"):
        from fer_edge.edge.events.webhook import WebhookTransport

        transports.append(WebhookTransport(opts["webhook"], device, source, labels,
                                           timeout=opts.get("webhook_timeout") or 2.0))
    return EventSink(device, labels, transports, hold=opts.get("event_hold", HOLD),
                     interval=opts.get("event_interval", INTERVAL)).start()


def ended_reason(exc: BaseException) -> str:
    """How a run ended, for the offline state and the last face_left events."""
    from fer_edge.edge.sources import SourceLost
    from fer_edge.errors import Terminated

    if isinstance(exc, Terminated):
        return f"terminated ({exc})"  # SIGTERM: systemd stopping the service
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SourceLost):
        return "source lost"
    return "failed"
