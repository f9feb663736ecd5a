"""The bench's floor of the calls does what docs/performance.md says: for each message,
the bare-calls handler reads the pod, counts it in the breaker's ConfigMap, deletes it on
its UID and publishes an outcome-sized message, through the responder's client libraries
and credentials, with nothing of ours in between."""

import json

from google.cloud import pubsub_v1

from localdev.local_stack.bench import BARE_TOPIC, start_bare_calls
from localdev.local_stack.stack import RESPONDER_USER, LocalStack
from localdev.local_stack.wait import wait_until
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from tests.conftest import as_bytes, shell_alert
from tests.integration.conftest import old_pod, responder_core_api


def _deleted(stack: LocalStack, name: str) -> bool:
    return stack.kube.get_pod("default", name) is None


def test_the_bare_calls_handler_makes_the_calls_one_delete_needs(stack: LocalStack, unique):
    # As in the bench, it starts after the responder's first delete made the ConfigMap.
    first = old_pod(stack, "default", f"bench-first-{unique}")["metadata"]["name"]
    alert = shell_alert(first)
    stack.publish(as_bytes(alert), alert_id=alert["uuid"])
    wait_until(lambda: _deleted(stack, first), 60, "the responder's delete")
    service = start_bare_calls(stack)
    try:
        target = old_pod(stack, "default", f"bench-bare-{unique}")
        name, uid = target["metadata"]["name"], target["metadata"]["uid"]
        mark = len(stack.kube.requests)
        topic = pubsub_v1.PublisherClient.topic_path(stack.project, BARE_TOPIC)
        attributes = {"alert_id": f"bare-{unique}", "pod": name, "namespace": "default"}
        pubsub_v1.PublisherClient().publish(topic, b"{}", **attributes).result(30)
        wait_until(lambda: _deleted(stack, name), 60, "the bare-calls handler's delete")
        outcome = wait_until(
            lambda: stack.outcomes.where(alert_id="bare"), 60, "the bare-calls outcome"
        )
    finally:
        service.stop()
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
    assert f"pod/{uid}" in json.loads(stored.data[DATA_KEY])
    assert len(outcome[0].data) == 600
