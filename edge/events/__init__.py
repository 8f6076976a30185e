"""Events out of a run (`fer-edge run --mqtt/--webhook`): what the frame loop sees as a few small JSON
messages (a face appears, its expression changes, it leaves; a periodic summary; the device's state),
sent by a thread of their own so that no broker or receiver can slow the frame loop.

schema.py builds and checks the messages (docs/events.md), tracker.py turns frames into them, sink.py
is the run's live output (it only queues on the frame loop's thread), mqtt.py, webhook.py and homeassistant.py carry them out.
"""
