"""The pipeline end to end: ingest and responder under functions-framework, the real
Pub/Sub emulator with the push subscription and dead-letter policy, and the Kubernetes
API emulator, all through the real client libraries."""

import base64
import json
from datetime import UTC, datetime, timedelta

import requests
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent

from localdev.local_stack.fixtures import fixture
from localdev.local_stack.functions import start_ingest
from localdev.local_stack.stack import INGEST_TOKEN, LocalStack
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import as_bytes, shell_alert
from tests.integration.conftest import dead_lettered_by_pubsub


def pod_path(namespace: str, name: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods/{name}"


def wait_pod_gone(stack: LocalStack, namespace: str, name: str) -> None:
    wait_until(lambda: stack.kube.get_pod(namespace, name) is None, 60, f"pod {name} deleted")


def deletes_of(stack: LocalStack, namespace: str, name: str) -> list:
    return [
        r
        for r in stack.kube.requests
        if r.method == "DELETE" and r.path == pod_path(namespace, name)
    ]


def wait_published(published, marker: str) -> None:
    """Wait until a message containing `marker` went through the alerts topic."""
    wait_until(
        lambda: any(marker.encode() in m.data for m in published.received),
        30,
        f"the marker {marker} on the alerts topic",
    )


# The happy paths.


def test_shell_alert_posted_to_ingest_deletes_the_pod(stack, pod):
    name = pod["metadata"]["name"]
    alert = shell_alert(name)
    response = stack.post(alert)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 1
    assert len(body["message_ids"]) == 1
    wait_pod_gone(stack, "default", name)
    record = stack.wait_for_outcome(alert["uuid"])
    assert record["decision"] == "act"
    assert record["outcome"] == "acted"
    assert record["policy_rule"] == "kill-interactive-compromise"
    assert record["actions"] == [
        {
            "action": "delete_pod",
            "target": f"pod/default/{name}",
            "outcome": "done",
            "reason": "deleted, grace period 1s",
        }
    ]


def test_ingest_publishes_the_alert_as_received_with_attributes(stack, pod, published):
    alert = shell_alert(pod["metadata"]["name"])
    body = json.dumps(alert, indent=1).encode()
    assert stack.post(body).status_code == 202
    [message] = wait_until(
        lambda: [m for m in published.received if m.attributes.get("alert_id") == alert["uuid"]],
        30,
        "the published alert",
    )
    assert message.data == body
    assert message.attributes == {
        "alert_id": alert["uuid"],
        "rule": "Terminal shell in container",
        "priority": "Critical",
        "source": "syscall",
        "hostname": "falco-xczjd",
        "k8s_ns": "default",
        "k8s_pod": pod["metadata"]["name"],
    }


def test_alert_published_directly_without_attributes_deletes_the_pod(stack, pod):
    # Falcosidekick's gcppubsub output: data only, no per-alert attributes.
    name = pod["metadata"]["name"]
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    assert stack.wait_for_outcome(alert["uuid"])["outcome"] == "acted"


def test_a_batch_is_accepted_whole(stack, unique):
    pods = [
        stack.kube.create_pod(
            "default",
            f"batch-{unique}-{i}",
            creation_timestamp=datetime.now(UTC) - timedelta(minutes=5),
        )
        for i in range(3)
    ]
    alerts = [shell_alert(p["metadata"]["name"]) for p in pods]
    response = stack.post(
        "\n".join(json.dumps(a) for a in alerts), content_type="application/x-ndjson"
    )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 3
    for p in pods:
        wait_pod_gone(stack, "default", p["metadata"]["name"])


# Idempotence.


def test_the_same_message_twice_deletes_once_and_says_so(stack, pod):
    name = pod["metadata"]["name"]
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    stack.publish(as_bytes(alert))
    records = wait_until(
        lambda: len(stack.outcomes_for(alert["uuid"])) == 2 and stack.outcomes_for(alert["uuid"]),
        60,
        "two outcome records",
    )
    assert sorted(r["outcome"] for r in records) == ["acted", "already_handled"]
    assert len([r for r in deletes_of(stack, "default", name) if r.status == 200]) == 1


def test_replay_after_the_pod_was_recreated_leaves_the_new_pod(stack, pod):
    # The alert carries the pod's UID (k8s.pod.uid): the UID decides.
    name = pod["metadata"]["name"]
    alert = shell_alert(name, pod_uid=pod["metadata"]["uid"])
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    stack.wait_for_outcome(alert["uuid"])
    replacement = stack.kube.create_pod(
        "default", name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
    )
    stack.publish(as_bytes(alert))
    wait_until(lambda: len(stack.outcomes_for(alert["uuid"])) == 2, 60, "the replay's outcome")
    replay = stack.outcomes_for(alert["uuid"])[1]
    assert (replay["decision"], replay["outcome"]) == ("refuse", "skipped")
    assert "a replacement, left alone" in replay["actions"][0]["reason"]
    assert stack.kube.get_pod("default", name)["metadata"]["uid"] == replacement["metadata"]["uid"]


def test_replay_without_a_uid_leaves_a_pod_created_after_the_alert(stack, pod):
    name = pod["metadata"]["name"]
    alert = shell_alert(name, time=datetime.now(UTC) - timedelta(minutes=1))
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    stack.wait_for_outcome(alert["uuid"])
    stack.kube.create_pod("default", name)  # created now: after the alert
    stack.publish(as_bytes(alert))
    wait_until(lambda: len(stack.outcomes_for(alert["uuid"])) == 2, 60, "the replay's outcome")
    replay = stack.outcomes_for(alert["uuid"])[1]
    assert (replay["decision"], replay["outcome"]) == ("refuse", "skipped")
    assert stack.kube.pod_running("default", name)


# Bad input.


def test_malformed_body_at_ingest_is_400_naming_the_problem_and_publishes_nothing(
    stack, published, unique
):
    response = stack.post(f'{{"rule": "Terminal shell in container", "uuid": "{unique}", ')
    assert response.status_code == 400
    assert response.json()["error"].startswith("body: not valid JSON:")
    # Whatever ingest published would be on the topic before its answer; a marker sent
    # after it arriving proves the topic has seen everything from that request.
    marker = {**fixture("sidekick_test_event"), "output": f"marker {unique}-after"}
    assert stack.post(marker).status_code == 202
    wait_published(published, f"{unique}-after")
    assert not [
        m for m in published.received if unique.encode() in m.data and b"-after" not in m.data
    ]


def test_partly_invalid_batch_is_rejected_whole(stack, published, unique):
    good = shell_alert(f"nowhere-{unique}")
    bad = {**fixture("sidekick_test_event"), "priority": "Severe"}
    response = stack.post([good, bad])
    assert response.status_code == 400
    assert "alert [1]: field 'priority': unknown priority 'Severe'" in response.json()["error"]
    marker = {**fixture("sidekick_test_event"), "output": f"marker {unique}-after"}
    assert stack.post(marker).status_code == 202
    wait_published(published, f"{unique}-after")
    assert not [m for m in published.received if m.attributes.get("alert_id") == good["uuid"]]


def test_garbage_published_to_the_topic_is_dead_lettered_once_with_a_reason(stack, unique):
    data = f"not an alert {unique}".encode()
    stack.publish(data, alert_id=unique)
    [dead] = wait_until(lambda: stack.dead_letters.where(alert_id=unique), 60, "the dead letter")
    assert dead.data == data
    assert dead.attributes["error_reason"] == "invalid_json"
    assert "not valid JSON" in dead.attributes["error_detail"]
    assert datetime.fromisoformat(dead.attributes["failed_at"]) <= datetime.now(UTC)
    # Dead-lettered by the responder on the first delivery, not by Pub/Sub after five.
    assert "CloudPubSubDeadLetterSourceDeliveryCount" not in dead.attributes
    record = stack.wait_for_outcome(unique)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_json")
    # The outcome comes after the dead-letter publish: by now a second delivery would show.
    assert len(stack.outcomes_for(unique)) == 1
    assert len(stack.dead_letters.where(alert_id=unique)) == 1


def test_a_message_with_the_most_attributes_pubsub_allows_is_still_dead_lettered(stack, unique):
    extras = {f"extra_{i:02}": "x" * 1024 for i in range(99)}
    stack.publish(f"not an alert {unique}".encode(), alert_id=unique, **extras)
    [dead] = wait_until(lambda: stack.dead_letters.where(alert_id=unique), 60, "the dead letter")
    assert len(dead.attributes) == 100
    assert dead.attributes["error_reason"] == "invalid_json"
    assert dead.attributes["dropped_attributes"] == "4: extra_95, extra_96, extra_97, extra_98"
    assert {k: v for k, v in dead.attributes.items() if k.startswith("extra_")} == {
        f"extra_{i:02}": "x" * 1024 for i in range(95)
    }


def test_json_that_is_not_an_alert_is_dead_lettered_with_the_field(stack, unique):
    stack.publish(json.dumps({"rule": "x", "uuid": unique}).encode(), alert_id=unique)
    [dead] = wait_until(lambda: stack.dead_letters.where(alert_id=unique), 60, "the dead letter")
    assert dead.attributes["error_reason"] == "invalid_alert"
    assert "field 'priority': Field required" in dead.attributes["error_detail"]


# Kubernetes failing.


def test_kubernetes_failing_every_time_dead_letters_after_five_deliveries(stack, pod):
    name = pod["metadata"]["name"]
    stack.kube.inject_fault(method="GET", path=pod_path("default", name), status=500, count=None)
    try:
        alert = shell_alert(name)
        stack.publish(as_bytes(alert))
        dead = dead_lettered_by_pubsub(stack, alert)
    finally:
        stack.kube.clear_faults()
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscription"] == (
        config.RESPONDER_PUSH_SUBSCRIPTION
    )
    assert json.loads(dead.data) == alert
    assert stack.kube.pod_running("default", name)
    assert deletes_of(stack, "default", name) == []
    reads = [
        r for r in stack.kube.requests if r.method == "GET" and r.path == pod_path("default", name)
    ]
    assert len(reads) == config.MAX_DELIVERY_ATTEMPTS


def test_kubernetes_failing_twice_then_working_deletes_the_pod(stack, pod):
    name = pod["metadata"]["name"]
    stack.kube.inject_fault(method="GET", path=pod_path("default", name), status=500, count=2)
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    assert stack.wait_for_outcome(alert["uuid"])["outcome"] == "acted"
    assert not [m for m in stack.dead_letters.received if alert["uuid"].encode() in m.data]


def test_kubernetes_throttling_and_a_hung_call_are_retried(stack, pod):
    name = pod["metadata"]["name"]
    stack.kube.inject_fault(method="DELETE", path=pod_path("default", name), status=429, count=1)
    stack.kube.inject_fault(method="GET", path=pod_path("default", name), hang_seconds=6, count=1)
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    assert stack.wait_for_outcome(alert["uuid"])["outcome"] == "acted"


def test_a_delete_done_but_its_answer_lost_is_already_handled_on_redelivery(stack, pod):
    # The API server deletes the pod, then the answer never reaches the responder (its
    # call times out): the alert is redelivered and finds the pod gone.
    name = pod["metadata"]["name"]
    stack.kube.inject_fault(
        method="DELETE", path=pod_path("default", name), hang_seconds=6, after_performing=True
    )
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    record = stack.wait_for_outcome(alert["uuid"])
    assert record["outcome"] == "already_handled", record
    assert stack.kube.pod_deleted("default", name)
    [delete] = deletes_of(stack, "default", name)  # one delete: no double action
    assert delete.status == 504
    assert [r["outcome"] for r in stack.outcomes_for(alert["uuid"])] == ["already_handled"]
    assert not [m for m in stack.dead_letters.received if alert["uuid"].encode() in m.data]


def test_forbidden_is_logged_loudly_and_retried(stack, pod):
    name = pod["metadata"]["name"]
    stack.kube.inject_fault(method="DELETE", path=pod_path("default", name), status=403, count=1)
    alert = shell_alert(name)
    stack.publish(as_bytes(alert))
    wait_pod_gone(stack, "default", name)
    assert '"severity": "CRITICAL"' in stack.responder.log_text()


# Nothing to act on.


def test_protected_namespace_is_never_touched(stack, unique):
    name = f"coredns-{unique}"
    stack.kube.create_pod(
        "kube-system", name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
    )
    alert = shell_alert(name, namespace="kube-system")
    assert stack.post(alert).status_code == 202
    record = stack.wait_for_outcome(alert["uuid"])
    assert (record["decision"], record["outcome"], record["reason"]) == (
        "refuse",
        "skipped",
        "namespace kube-system is protected",
    )
    assert stack.kube.pod_running("kube-system", name)
    assert not [r for r in stack.kube.requests if r.path == pod_path("kube-system", name)]


def test_alert_with_null_pod_fields_acts_on_nothing(stack, unique):
    alert = {**fixture("host_process_no_k8s"), "uuid": unique}
    alert["rule"] = "Terminal shell in container"  # even a rule the policy acts on
    before = len(stack.kube.requests)
    assert stack.post(alert).status_code == 202
    record = stack.wait_for_outcome(unique)
    assert record["outcome"] == "skipped"
    assert record["reason"].startswith("no pod in the alert")
    assert [r for r in stack.kube.requests[before:] if r.method == "DELETE"] == []


def test_falcosidekick_test_event_is_skipped(stack, unique):
    alert = {**fixture("sidekick_test_event"), "uuid": unique}
    assert stack.post(alert).status_code == 202
    record = stack.wait_for_outcome(unique)
    assert (record["decision"], record["outcome"], record["reason"]) == (
        "skip",
        "skipped",
        "Falcosidekick test event: the wiring works",
    )


# Authentication.


def test_wrong_or_missing_token_is_401_and_publishes_nothing(stack, published, unique):
    alert = shell_alert(f"nowhere-{unique}")
    for token in (None, "wrong-token"):
        response = stack.post(alert, token=token)
        assert response.status_code == 401
        assert "bearer token" in response.json()["error"]
    marker = {**fixture("sidekick_test_event"), "output": f"marker {unique}-after"}
    assert stack.post(marker).status_code == 202
    wait_published(published, f"{unique}-after")
    assert not [m for m in published.received if m.attributes.get("alert_id") == alert["uuid"]]


def test_other_methods_and_media_types_are_refused(stack):
    assert requests.get(f"{stack.ingest_url}/", timeout=10).status_code == 405
    response = stack.post("rule=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert stack.post("{}" * 3_000_000).status_code == 413


# Eventarc delivers the same messagePublished CloudEvent in binary or structured mode.


def _eventarc_event(stack: LocalStack, alert: dict):
    return CloudEvent(
        {
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/{stack.topology.alerts_topic}",
            "id": alert["uuid"],
        },
        {
            "message": {
                "data": base64.b64encode(as_bytes(alert)).decode(),
                "messageId": alert["uuid"],
                "attributes": {},
            },
            "subscription": "projects/p/subscriptions/eventarc-trigger",
        },
    )


def test_responder_accepts_eventarc_binary_and_structured_events(stack, unique):
    for mode, convert in (("binary", to_binary), ("structured", to_structured)):
        name = f"eventarc-{mode}-{unique}"
        stack.kube.create_pod(
            "default", name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
        )
        headers, body = convert(_eventarc_event(stack, shell_alert(name)))
        response = requests.post(f"{stack.responder_url}/", data=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        assert stack.kube.pod_deleted("default", name)


def test_ingest_answers_503_when_pubsub_cannot_confirm(stack):
    service, url = start_ingest(
        {
            config.GOOGLE_CLOUD_PROJECT: stack.project,
            config.PUBSUB_EMULATOR_HOST: stack.pubsub_host,
            config.ALERTS_TOPIC: "no-such-topic",
            config.INGEST_TOKEN: INGEST_TOKEN,
        }
    )
    try:
        response = requests.post(
            f"{url}/",
            json=fixture("sidekick_test_event"),
            timeout=60,
            headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
        )
    finally:
        service.stop()
    assert response.status_code == 503
    assert response.json()["error"] == "publishing to topic no-such-topic failed; retry later"


def test_one_trace_follows_an_alert_from_ingest_to_the_responder(stack, pod, published):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    alert = shell_alert(pod["metadata"]["name"])
    response = requests.post(
        f"{stack.ingest_url}/",
        json=alert,
        timeout=30,
        headers={
            "Authorization": f"Bearer {INGEST_TOKEN}",
            "traceparent": f"00-{trace}-00f067aa0ba902b7-01",
        },
    )
    assert response.status_code == 202
    [message] = wait_until(
        lambda: [m for m in published.received if m.attributes.get("alert_id") == alert["uuid"]],
        30,
        "the published alert",
    )
    assert message.attributes["trace_id"] == trace
    stack.wait_for_outcome(alert["uuid"])
    trace_path = f"projects/{stack.project}/traces/{trace}"
    for service in (stack.ingest, stack.responder):
        lines = [
            json.loads(line)
            for line in service.log_text().splitlines()
            if line.startswith("{") and alert["uuid"] in line
        ]
        assert lines, f"no log line of {service.name} names the alert"
        assert all(line["logging.googleapis.com/trace"] == trace_path for line in lines)
        assert lines[-1]["logging.googleapis.com/labels"]["alert_id"] == alert["uuid"]
