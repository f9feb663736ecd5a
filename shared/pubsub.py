"""One Pub/Sub publisher per instance, and publishing that waits for confirmation.

Both functions publish every message of a request and answer only once Pub/Sub has
confirmed them all. For that, the generated client's Publish call is the whole job: one
round trip per request, made on the request's own thread. The batching client in
`google.cloud.pubsub_v1` adds a commit thread, a batch thread and a future per message to
gather messages across callers, which a request/response function never has; measured on
the emulator, it doubled the CPU and the wait of every publish.
"""

import functools
import time
from collections.abc import Iterator, Sequence

from google.api_core import exceptions, retry
from google.pubsub_v1 import PublisherClient, PubsubMessage

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

# Pub/Sub's limits on one Publish request (https://cloud.google.com/pubsub/quotas):
# larger requests are split, so a request never fails for its size alone.
MAX_MESSAGES_PER_REQUEST = 1000
MAX_BYTES_PER_REQUEST = 10_000_000
# What a message costs in the request beyond its data and attributes (protobuf framing),
# counted generously so an estimate never passes the limit.
MESSAGE_OVERHEAD_BYTES = 64


@functools.cache
def publisher() -> PublisherClient:
    """Created on first use and kept: it holds the gRPC channel.

    The generated client honours PUBSUB_EMULATOR_HOST by itself.
    """
    return PublisherClient()


def topic_path(topic: str) -> str:
    """`projects/P/topics/T` for a topic id in GOOGLE_CLOUD_PROJECT."""
    return PublisherClient.topic_path(config.project_id(), topic)


# One message to publish: its data and its attributes.
Message = tuple[bytes, dict[str, str]]


def _request_size(message: Message) -> int:
    data, attributes = message
    size = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    return len(data) + size + MESSAGE_OVERHEAD_BYTES * (1 + len(attributes))


def requests_within_limits(messages: Sequence[Message]) -> Iterator[list[Message]]:
    """The messages in order, cut into as few Publish requests as Pub/Sub's limits allow.

    Sized as plain bytes and strings, before any becomes a request's message (reading
    them back from one costs more than the sizing). A single message over the byte limit
    goes alone: Pub/Sub refuses it with its own reason (InvalidArgument), which is
    permanent.
    """
    chunk: list[Message] = []
    size = 0
    for message in messages:
        cost = _request_size(message)
        full = len(chunk) == MAX_MESSAGES_PER_REQUEST or size + cost > MAX_BYTES_PER_REQUEST
        if chunk and full:
            yield chunk
            chunk, size = [], 0
        chunk.append(message)
        size += cost
    if chunk:
        yield chunk


def publish_confirmed(topic: str, messages: Sequence[Message]) -> list[str]:
    """Publish every message and return once Pub/Sub confirmed each; message ids in order.

    All go in one Publish request (more only past Pub/Sub's request limits). Transient
    failures are retried within PUBLISH_TIMEOUT_SECONDS in all; after that, or at once for a
    permanent one (no such topic, no permission), the failure is raised. A retried request
    may have been stored the first time: Pub/Sub is at-least-once, and so are we.
    """
    path = topic_path(topic)
    client = publisher()
    give_up_at = time.monotonic() + PUBLISH_TIMEOUT_SECONDS
    ids: list[str] = []
    for chunk in requests_within_limits(messages):
        left = max(0.0, give_up_at - time.monotonic())
        response = client.publish(
            topic=path,
            messages=[
                PubsubMessage(data=data, attributes=attributes) for data, attributes in chunk
            ],
            retry=PUBLISH_RETRY.with_timeout(left),
            timeout=left,
        )
        ids += response.message_ids
    return ids
