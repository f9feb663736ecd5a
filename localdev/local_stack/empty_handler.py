"""The benchmark's baseline: a CloudEvent function that does nothing but say it ran.

It sits behind the same push subscription as the responder, so the difference between
the two latencies is what the responder itself costs.
"""

import os
from pathlib import Path

import functions_framework
from cloudevents.http import CloudEvent

MARKER_DIR = Path(os.environ.get("BENCH_MARKER_DIR", "/tmp"))  # noqa: S108 (bench only)


@functions_framework.cloud_event
def empty(event: CloudEvent) -> None:
    """Leave a marker named after the alert id, and return (ack)."""
    attributes = event.data.get("message", {}).get("attributes", {})
    (MARKER_DIR / attributes.get("alert_id", event["id"])).touch()
