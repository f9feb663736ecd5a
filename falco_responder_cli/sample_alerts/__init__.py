"""Real Falco alerts (see README.md here), shipped for `send-test-alert` and used by the
demo, the benchmark and the tests."""

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SAMPLE_ALERTS = Path(__file__).parent


def sample_alert(name: str) -> dict[str, Any]:
    """A sample alert by file stem, as a fresh dict the caller may change."""
    return json.loads((SAMPLE_ALERTS / f"{name}.json").read_text())


def falco_time(moment: datetime) -> str:
    """A time as Falco writes it: UTC, nanoseconds, `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def fresh_sample_alert(name: str) -> dict[str, Any]:
    """A sample alert seen now, with a new uuid: the samples date from when they were
    captured, and the responder refuses alerts older than its `max_alert_age`."""
    alert = sample_alert(name)
    alert["uuid"] = str(uuid.uuid4())
    alert["time"] = falco_time(datetime.now(UTC))
    return alert
