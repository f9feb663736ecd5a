"""One Pub/Sub publisher per instance, and publishing that waits for confirmation."""

import functools
from collections.abc import Sequence

from google.cloud import pubsub_v1

from shared import config

# How long a publish may take before the caller treats it as failed.
PUBLISH_TIMEOUT_SECONDS = 30.0


@functools.cache
def publisher() -> pubsub_v1.PublisherClient:
    """Created on first use and kept: it holds the gRPC channel and the batching threads.

    The client library honours PUBSUB_EMULATOR_HOST by itself.
    """
    return pubsub_v1.PublisherClient()


def topic_path(topic: str) -> str:
    """`projects/P/topics/T` for a topic id in GOOGLE_CLOUD_PROJECT."""
    return pubsub_v1.PublisherClient.topic_path(config.project_id(), topic)


def publish_confirmed(topic: str, messages: Sequence[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Publish every message, then wait until Pub/Sub confirmed each; message ids in order.

    All are sent before any is awaited, so a batch costs one round trip, not n.
    Raises the first failure (the client's own exception) if any publish failed.
    """
    path = topic_path(topic)
    client = publisher()
    futures = [client.publish(path, data, **attributes) for data, attributes in messages]
    return [future.result(timeout=PUBLISH_TIMEOUT_SECONDS) for future in futures]
