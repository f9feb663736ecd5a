"""One Pub/Sub publisher per instance, and publishing that waits for confirmation."""

import functools
import time
from collections.abc import Sequence

from google.api_core import exceptions, retry
from google.cloud import pubsub_v1

from shared import config

# How long a publish may take, retries included, before the caller treats it as failed.
# Ingest answers 503 then; its request timeout (ingest_timeout_seconds, 60 s by default)
# leaves room for reading the body before and answering after.
PUBLISH_TIMEOUT_SECONDS = 30.0

# A failure that may pass is retried with backoff until the timeout, so a short Pub/Sub
# hiccup costs a slower 202, not a 503 (Falcosidekick's webhook never retries a 503).
# The errors are those the client library itself retries for Publish; its own backoff
# grows fourfold up to 60 s and would use one or two attempts of the 30 s.
PUBLISH_RETRY = retry.Retry(
    initial=0.1,
    maximum=2.0,
    multiplier=2.0,
    predicate=retry.if_exception_type(
        exceptions.Aborted,
        exceptions.Cancelled,
        exceptions.DeadlineExceeded,
        exceptions.InternalServerError,
        exceptions.ResourceExhausted,
        exceptions.ServiceUnavailable,
        exceptions.Unknown,
    ),
    timeout=PUBLISH_TIMEOUT_SECONDS,
)

# Both functions publish every message of a request, then wait for all of them: holding
# a batch open for more messages (the client's default, 10 ms) only adds that latency.
BATCH_SETTINGS = pubsub_v1.types.BatchSettings(max_latency=0)


@functools.cache
def publisher() -> pubsub_v1.PublisherClient:
    """Created on first use and kept: it holds the gRPC channel and the batching threads.

    The client library honours PUBSUB_EMULATOR_HOST by itself.
    """
    return pubsub_v1.PublisherClient(batch_settings=BATCH_SETTINGS)


def topic_path(topic: str) -> str:
    """`projects/P/topics/T` for a topic id in GOOGLE_CLOUD_PROJECT."""
    return pubsub_v1.PublisherClient.topic_path(config.project_id(), topic)


def publish_confirmed(topic: str, messages: Sequence[tuple[bytes, dict[str, str]]]) -> list[str]:
    """Publish every message, then wait until Pub/Sub confirmed each; message ids in order.

    All are sent before any is awaited, so a batch costs one round trip, not n. Transient
    failures are retried within PUBLISH_TIMEOUT_SECONDS; after that, or at once for a
    permanent one (no such topic, no permission), the first failure is raised.
    """
    path = topic_path(topic)
    client = publisher()
    give_up_at = time.monotonic() + PUBLISH_TIMEOUT_SECONDS
    futures = [
        client.publish(
            path, data, retry=PUBLISH_RETRY, timeout=PUBLISH_TIMEOUT_SECONDS, **attributes
        )
        for data, attributes in messages
    ]
    return [future.result(timeout=max(0.0, give_up_at - time.monotonic())) for future in futures]
