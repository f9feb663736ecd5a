"""Shared test fixtures: alerts built from the real fixtures, with names unique per test."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_stack.fixtures import fixture


def rfc3339(moment: datetime) -> str:
    """Falco's time format: nanoseconds and `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


@pytest.fixture
def unique() -> str:
    """A short name no other test uses, for pods and alert ids."""
    return uuid.uuid4().hex[:10]


def shell_alert(
    pod: str,
    namespace: str = "default",
    pod_uid: str | None = None,
    time: datetime | None = None,
    alert_uuid: str | None = None,
) -> dict[str, Any]:
    """Falco's `Terminal shell in container` example, aimed at the given pod."""
    alert = fixture("terminal_shell_in_container")
    alert["uuid"] = alert_uuid or str(uuid.uuid4())
    alert["time"] = rfc3339(time or datetime.now(UTC) - timedelta(seconds=30))
    alert["output_fields"]["k8s.ns.name"] = namespace
    alert["output_fields"]["k8s.pod.name"] = pod
    if pod_uid is not None:
        alert["output_fields"]["k8s.pod.uid"] = pod_uid
    return alert


def as_bytes(alert: dict[str, Any]) -> bytes:
    """The alert as Falcosidekick sends it."""
    return json.dumps(alert).encode()
