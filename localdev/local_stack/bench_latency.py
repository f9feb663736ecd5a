"""The latencies `make bench` measures, each beside its floor in the same run.

- First action from cold: from starting a responder process to the DELETE of the pod its
  first push is about, as the Kubernetes API emulator timed the answer (the outcome's
  publish comes after), beside starting the empty CloudEvent function to its first
  answer. Both are pushed the same wrapped body as soon as their port accepts, so both
  include the interpreter, the imports, the framework and the first request.
- Event to kill, warm: from the POST of one alert to ingest to the DELETE of its pod, as
  the Kubernetes API emulator timed the answer, beside the same POST to a second ingest
  whose topic is pushed to the empty handler, timed when the handler ran. Alerts go one
  at a time, ours and the floor's interleaved, so both see the same machine. Beside each
  alert of ours, the emulator's own time answering the responder's calls for it.
"""

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from localdev.local_stack.bench_pods import create_bench_pod
from localdev.local_stack.fixtures import aimed_at
from localdev.local_stack.functions import responder_service
from localdev.local_stack.processes import Service
from localdev.local_stack.push_driver import push_body
from localdev.local_stack.stack import INGEST_TOKEN, RESPONDER_USER, LocalStack
from localdev.local_stack.wait import wait_until

COLD_ROUNDS = 5
EVENT_TO_KILL_ALERTS = 200
EVENT_TO_KILL_WARM_UP = 10
# How often a cold process's port is tried: fine enough not to add to what is measured.
COLD_POLL_SECONDS = 0.005
_HEADERS = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}


@dataclass(frozen=True)
class Medians:
    """Median seconds of ours and of the floor over the same rounds."""

    ours: float
    floor: float


def percentile(samples: list[float], percent: int) -> float:
    """The `percent`-th percentile (1..99) of at least two samples, interpolated."""
    return statistics.quantiles(samples, n=100, method="inclusive")[percent - 1]


def delete_alert(namespace: str, pod: str) -> dict[str, Any]:
    """A shell-in-container alert about the pod, which the default policy deletes."""
    return aimed_at("terminal_shell_in_container", namespace, pod)


def _wrapped_push(alert: dict[str, Any]) -> dict[str, Any]:
    """The body Pub/Sub would push for the alert, as the push driver builds it."""
    message = SimpleNamespace(
        data=json.dumps(alert).encode(),
        attributes={"alert_id": alert["uuid"]},
        message_id=str(uuid.uuid4().int % 10**16),
        publish_time=datetime.now(UTC),
    )
    subscription = "projects/bench/subscriptions/cold-start"
    return push_body(SimpleNamespace(message=message), subscription, 1)


def _answered(url: str, body: dict[str, Any]) -> bool:
    """Whether the function took the push: False while nothing listens yet."""
    try:
        response = requests.post(f"{url}/", json=body, timeout=60)
    except requests.ConnectionError:
        return False
    if response.status_code not in (200, 204):
        raise RuntimeError(f"the cold function answered {response.status_code}: {response.text}")
    return True


def _cold_start(service: Service, url: str, body: dict[str, Any]) -> tuple[float, float]:
    """When `service` was started (time.time()) and the seconds to its answer to `body`;
    the service is stopped."""
    started, start = time.time(), time.perf_counter()
    try:
        service.start(lambda: _answered(url, body), interval=COLD_POLL_SECONDS)
        return started, time.perf_counter() - start
    finally:
        service.stop()


def first_action_from_cold(
    stack: LocalStack, empty_handler: Callable[[], tuple[Service, str]]
) -> Medians:
    """Medians over COLD_ROUNDS of a new responder's first pod deleted, and of a new empty
    handler's first answer, started alternately. `empty_handler()` makes one, not started,
    and gives its URL."""
    ours: list[float] = []
    floors: list[float] = []
    created = datetime.now(UTC) - timedelta(minutes=5)
    for round_ in range(COLD_ROUNDS):
        pod = f"cold-{round_}"
        create_bench_pod(stack.kube, pod, created)
        alert = delete_alert("default", pod)
        service, url = responder_service(stack.responder_env)
        mark = len(stack.kube.requests)
        started, _ = _cold_start(service, url, _wrapped_push(alert))
        # It answers once the pod is deleted: the DELETE is in the log, or it failed.
        deleted_at, _ = _pod_deleted_at(stack, mark, pod, timeout=0)
        ours.append(deleted_at - started)
        floor, floor_url = empty_handler()
        floors.append(_cold_start(floor, floor_url, _wrapped_push(alert))[1])
    return Medians(statistics.median(ours), statistics.median(floors))


def _pod_deleted_at(
    stack: LocalStack, mark: int, pod: str, timeout: float = 60
) -> tuple[float, float]:
    """When the emulator answered the DELETE of `pod` (a request after `mark`), and how
    long it spent answering the responder's requests until then, that one included."""
    suffix = f"/pods/{pod}"

    def deleted() -> tuple[float, float] | None:
        records = stack.kube.requests_since(mark)
        for position, record in enumerate(records):
            if record.method == "DELETE" and record.status == 200 and record.path.endswith(suffix):
                answering = records[: position + 1]
                return record.at, sum(r.seconds for r in answering if r.user == RESPONDER_USER)
        return None

    return wait_until(deleted, timeout, f"the DELETE of pod {pod}", interval=0.002)


def _marker_time(markers: Path, alert_id: str, timeout: float = 60) -> float:
    """When the empty handler ran for the alert (the time it wrote in its marker)."""
    marker = markers / alert_id

    def ran() -> float | None:
        try:
            text = marker.read_text()
        except FileNotFoundError:
            return None
        return float(text) if text else None

    return wait_until(ran, timeout, f"the empty handler to take alert {alert_id}", interval=0.002)


@dataclass(frozen=True)
class EventToKill:
    """Seconds per alert: ours (POST to DELETE), of which the emulator answering the
    responder's calls; and the floor's (POST to the empty handler's run)."""

    ours: list[float]
    emulator: list[float]
    floors: list[float]


def event_to_kill(stack: LocalStack, floor_ingest_url: str, markers: Path) -> EventToKill:
    """Seconds from each POST to ingest to its pod's DELETE, and from each POST to the
    floor's ingest to the empty handler's run, EVENT_TO_KILL_ALERTS of each, interleaved."""
    session = requests.Session()  # Falcosidekick keeps its connection too
    created = datetime.now(UTC) - timedelta(minutes=5)
    measured = EventToKill([], [], [])

    def post(url: str, alert: dict[str, Any]) -> float:
        # Cloud Run gives every request a trace, which ingest carries on to the responder.
        trace = {"traceparent": f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"}
        sent = time.time()
        response = session.post(
            f"{url}/", data=json.dumps(alert), headers={**_HEADERS, **trace}, timeout=30
        )
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
        return sent

    for i in range(EVENT_TO_KILL_WARM_UP + EVENT_TO_KILL_ALERTS):
        pod = f"e2k-{i}"
        create_bench_pod(stack.kube, pod, created)
        mark = len(stack.kube.requests)
        sent = post(stack.ingest_url, delete_alert("default", pod))
        deleted_at, emulator_seconds = _pod_deleted_at(stack, mark, pod)
        ours_seconds = deleted_at - sent
        floor_alert = delete_alert("default", f"floor-{pod}")
        sent = post(floor_ingest_url, floor_alert)
        floor_seconds = _marker_time(markers, floor_alert["uuid"]) - sent
        if i >= EVENT_TO_KILL_WARM_UP:
            measured.ours.append(ours_seconds)
            measured.emulator.append(emulator_seconds)
            measured.floors.append(floor_seconds)
    return measured
