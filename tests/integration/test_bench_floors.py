"""The bench's floor of the calls does what docs/performance.md says: for each message,
the bare-calls handler reads the pod, counts it in the breaker's ConfigMap, deletes it on
its UID and publishes an outcome-sized message, through the responder's client libraries
and credentials, each call with the responder's deadline, with nothing of ours in
between. And its bill counts what Google bills for each alert."""

import json
import uuid
from collections.abc import Iterator

import pytest
from google.cloud import pubsub_v1

from localdev.local_stack.bench import BARE_TOPIC, start_bare_calls
from localdev.local_stack.bench_billing import BillMeter, message_bytes, request_bytes
from localdev.local_stack.processes import Service
from localdev.local_stack.stack import (
    KUBE_TIMEOUT_SECONDS,
    RESPONDER_USER,
    Collector,
    LocalStack,
    Received,
)
from localdev.local_stack.wait import wait_until
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from tests.conftest import as_bytes, shell_alert
from tests.integration.conftest import old_pod, responder_core_api


def _deleted(stack: LocalStack, name: str) -> bool:
    return stack.kube.get_pod("default", name) is None


@pytest.fixture(scope="module")
def bare_calls(stack: LocalStack) -> Iterator[Service]:
    """The bare-calls handler, started as in the bench (once: its topic is fixed): after
    the responder's first delete made the breaker's ConfigMap."""
    first = old_pod(stack, "default", f"bench-first-{uuid.uuid4().hex[:8]}")["metadata"]["name"]
    alert = shell_alert(first)
    stack.publish(as_bytes(alert), alert_id=alert["uuid"])
    wait_until(lambda: _deleted(stack, first), 60, "the responder's delete")
    service = start_bare_calls(stack)
    try:
        yield service
    finally:
        service.stop()


def _push_bare(stack: LocalStack, name: str, alert_id: str) -> None:
    topic = pubsub_v1.PublisherClient.topic_path(stack.project, BARE_TOPIC)
    attributes = {"alert_id": alert_id, "pod": name, "namespace": "default"}
    pubsub_v1.PublisherClient().publish(topic, b"{}", **attributes).result(30)


def test_the_bare_calls_handler_makes_the_calls_one_delete_needs(
    stack: LocalStack, unique, bare_calls: Service
):
    target = old_pod(stack, "default", f"bench-bare-{unique}")
    name, uid = target["metadata"]["name"], target["metadata"]["uid"]
    mark = len(stack.kube.requests)
    _push_bare(stack, name, f"bare-{unique}")
    wait_until(lambda: _deleted(stack, name), 60, "the bare-calls handler's delete")
    outcome = wait_until(lambda: stack.outcomes.where(alert_id="bare"), 60, "its outcome")
    calls = [
        (r.method, r.path, r.status)
        for r in stack.kube.requests_since(mark)
        if r.user == RESPONDER_USER
    ]
    assert calls == [
        ("GET", f"/api/v1/namespaces/default/pods/{name}", 200),
        ("PUT", f"/api/v1/namespaces/falco-responder/configmaps/{CONFIGMAP}", 200),
        ("DELETE", f"/api/v1/namespaces/default/pods/{name}", 200),
    ]
    with responder_core_api(stack) as core:
        stored = core.read_namespaced_config_map(CONFIGMAP, "falco-responder")
    assert f"default:pod/{uid}" in json.loads(stored.data[DATA_KEY])
    assert len(outcome[0].data) == 600


def test_the_bare_calls_have_the_responders_deadline(
    stack: LocalStack, unique, bare_calls: Service
):
    # A read that hangs far longer than the responder's deadline: the call gives up at
    # the deadline, the message is pushed again, and the second read finds the pod.
    name = old_pod(stack, "default", f"bench-hung-{unique}")["metadata"]["name"]
    hang = 60
    stack.kube.inject_fault(
        method="GET", path=f"/api/v1/namespaces/default/pods/{name}", hang_seconds=hang
    )
    _push_bare(stack, name, f"bare-hung-{unique}")
    wait_until(
        lambda: _deleted(stack, name),
        hang / 2,
        f"the delete after the first read gave up at its {KUBE_TIMEOUT_SECONDS} s deadline",
    )


def test_the_bill_counts_each_alerts_publish_push_outcome_and_log_lines(
    stack: LocalStack, unique, published
):
    # A first alert, so lines written once (credentials loaded) are not in the bill.
    first = old_pod(stack, "default", f"bench-bill-first-{unique}")["metadata"]["name"]
    first_alert = shell_alert(first)
    assert stack.post(first_alert).status_code == 202
    stack.wait_for_outcome(first_alert["uuid"])
    alerts = [
        shell_alert(old_pod(stack, "default", f"bench-bill-{unique}-{i}")["metadata"]["name"])
        for i in range(3)
    ]
    with BillMeter(stack) as meter:
        for alert in alerts:
            assert stack.post(alert).status_code == 202
        bill = meter.bill(len(alerts))
    ids = {alert["uuid"] for alert in alerts}

    def every(collector: Collector) -> list[Received]:
        found = [m for alert_id in ids for m in collector.where(alert_id=alert_id)]
        return found if len(found) == len(alerts) else []

    sent = wait_until(lambda: every(published), 60, "the collector to see each alert")
    recorded = wait_until(lambda: every(stack.outcomes), 60, "the collector to see each outcome")

    def billed(message: Received) -> int:
        return request_bytes([message_bytes(message.data, message.attributes)])

    # Each alert: published by ingest, pushed to the responder, its outcome published.
    assert (bill.alerts, bill.pubsub_requests) == (len(alerts), 3 * len(alerts))
    assert bill.pubsub_bytes == sum(2 * billed(m) for m in sent) + sum(billed(m) for m in recorded)
    assert bill.ingest_requests == bill.responder_requests == len(alerts)
    # What the functions logged meanwhile: ingest's line and the responder's per alert.
    lines = [
        line
        for service in (stack.ingest, stack.responder)
        for line in service.log_text().splitlines(keepends=True)
        if any(alert_id in line for alert_id in ids)
    ]
    assert len(lines) == 2 * len(alerts)
    assert bill.log_bytes == sum(len(line.encode()) for line in lines)
