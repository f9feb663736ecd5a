"""The benchmark's floor: a CloudEvent function that does nothing but say it ran.

It runs under functions-framework behind a push subscription of the same emulator, as
the responder does, so the gap between the two is what the responder itself costs.
"""

import os
import time
from pathlib import Path

import functions_framework
from cloudevents.http import CloudEvent

MARKER_DIR = Path(os.environ.get("BENCH_MARKER_DIR", "/tmp"))  # noqa: S108 (bench only)


@functions_framework.cloud_event
def empty(event: CloudEvent) -> None:
    """Leave a marker named after the alert id, holding when it ran, and return (ack)."""
    attributes = event.data.get("message", {}).get("attributes", {})
    (MARKER_DIR / attributes.get("alert_id", event["id"])).write_text(repr(time.time()))
