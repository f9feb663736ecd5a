"""`publish_confirmed` through the real client on the emulator: every message, in order,
however many a request brings (ingest takes up to INGEST_MAX_ALERTS per POST)."""

import pytest
from google.cloud import pubsub_v1

from localdev.local_stack.wait import wait_until
from shared import config
from shared.pubsub import MAX_MESSAGES_PER_REQUEST, publish_confirmed


@pytest.fixture
def topic(stack, unique, monkeypatch):
    """A topic of its own with a pull subscription, in the stack's project."""
    monkeypatch.setenv(config.GOOGLE_CLOUD_PROJECT, stack.project)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    name = f"publish-confirmed-{unique}"
    path = publisher.topic_path(stack.project, name)
    subscription = subscriber.subscription_path(stack.project, name)
    publisher.create_topic(request={"name": path})
    subscriber.create_subscription(request={"name": subscription, "topic": path})
    yield name, subscription, subscriber
    subscriber.delete_subscription(request={"subscription": subscription})
    publisher.delete_topic(request={"topic": path})
    subscriber.close()


def test_more_messages_than_one_request_holds_are_all_confirmed_in_order(topic):
    name, subscription, subscriber = topic
    count = MAX_MESSAGES_PER_REQUEST + 5
    messages = [(f"message {i}".encode(), {"index": str(i)}) for i in range(count)]

    ids = publish_confirmed(name, messages)

    assert len(ids) == len(set(ids)) == count
    received: dict[str, bytes] = {}

    def pull_all() -> bool:
        answer = subscriber.pull(
            request={"subscription": subscription, "max_messages": 1000}, timeout=10
        )
        for message in answer.received_messages:
            received[message.message.message_id] = message.message.data
        if answer.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": subscription,
                    "ack_ids": [m.ack_id for m in answer.received_messages],
                }
            )
        return len(received) >= count

    wait_until(pull_all, 60, f"all {count} messages on the subscription", interval=0)
    # Each id names the message published at its position.
    assert [received[i] for i in ids] == [data for data, _ in messages]
