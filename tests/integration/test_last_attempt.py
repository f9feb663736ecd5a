"""The last delivery attempt through the real push path: Pub/Sub's push contract (the
push driver, with `deliveryAttempt` in the body), the stack's responder under
functions-framework, the Pub/Sub emulator, and the Kubernetes API emulator refusing every
read of the pod with 403."""

from collections.abc import Iterator

import pytest
from google.cloud import pubsub_v1

from localdev.local_stack.push_driver import DEAD_LETTER_DELIVERY_COUNT, PushDriver
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.topology import ACK_DEADLINE_SECONDS
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import as_bytes, shell_alert


@pytest.fixture
def driven(stack: LocalStack, unique: str) -> Iterator[tuple[str, PushDriver]]:
    """A topic of its own, delivered by the push driver to the stack's responder, which
    knows the subscription's maximum (PUSH_MAX_DELIVERY_ATTEMPTS, as Terraform sets it).

    The stack's own subscription is the emulator's push, which sends no deliveryAttempt.
    """
    topic = f"projects/{stack.project}/topics/last-attempt-{unique}"
    subscription = f"projects/{stack.project}/subscriptions/last-attempt-{unique}"
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    publisher.create_topic(name=topic)
    subscriber.create_subscription(
        request={"name": subscription, "topic": topic, "ack_deadline_seconds": ACK_DEADLINE_SECONDS}
    )
    driver = PushDriver(
        subscription,
        f"{stack.responder_url}/",
        stack.topology.dead_letter_topic,
        max_delivery_attempts=config.MAX_DELIVERY_ATTEMPTS,
        min_backoff_seconds=1,
        max_backoff_seconds=1,
    ).start()
    try:
        yield topic, driver
    finally:
        driver.stop()
        subscriber.delete_subscription(request={"subscription": subscription})
        publisher.delete_topic(request={"topic": topic})
        subscriber.close()


def test_a_403_on_every_attempt_is_dead_lettered_once_as_kube_forbidden(stack, driven, pod):
    topic, driver = driven
    name = pod["metadata"]["name"]
    pod_path = f"/api/v1/namespaces/default/pods/{name}"
    stack.kube.inject_fault(method="GET", path=pod_path, status=403, count=None)
    alert = shell_alert(name)
    try:
        message_id = pubsub_v1.PublisherClient().publish(topic, as_bytes(alert)).result(30)
        wait_until(lambda: driver.settled.get(message_id), 60, "the alert to be settled")
    finally:
        stack.kube.clear_faults()
    # The responder dead-lettered it on the last attempt and answered 200, so the driver
    # (as Pub/Sub) acked it instead of dead-lettering it a second time.
    assert driver.settled[message_id] == "acked"
    assert driver.attempts[message_id] == config.MAX_DELIVERY_ATTEMPTS
    [dead] = wait_until(
        lambda: [m for m in stack.dead_letters.received if alert["uuid"].encode() in m.data],
        30,
        "the responder's dead letter",
    )
    assert dead.attributes["error_reason"] == "kube_forbidden"
    assert "Kubernetes answered 403" in dead.attributes["error_detail"]
    assert DEAD_LETTER_DELIVERY_COUNT not in dead.attributes
    record = stack.wait_for_outcome(alert["uuid"])
    assert record["decision"] == "dead_letter"
    assert record["error_reason"] == "kube_forbidden"
    assert record["event_to_outcome_seconds"] >= 30  # shell_alert is dated 30 s ago
    reads = [r for r in stack.kube.requests if r.method == "GET" and r.path == pod_path]
    assert len(reads) == config.MAX_DELIVERY_ATTEMPTS
    assert stack.kube.pod_running("default", name)
