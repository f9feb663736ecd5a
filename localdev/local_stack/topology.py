"""Topics and subscriptions: the same names and policies as terraform/pubsub.tf."""

import contextlib
from dataclasses import dataclass

from google.api_core.exceptions import AlreadyExists
from google.cloud import pubsub_v1
from google.protobuf import duration_pb2

from shared import config

# Only the local stack reads outcome records back; on Google Cloud that is up to users.
RESPONSES_SUBSCRIPTION = "falco-responses-local"
ACK_DEADLINE_SECONDS = 60
# Dead letters, and handled alerts (for `seek`), are kept 7 days, as in Terraform.
RETENTION_SECONDS = 7 * 24 * 3600
# Short backoff so the local stack retries quickly; Terraform uses 10 s to 600 s.
MIN_BACKOFF_SECONDS = 1
MAX_BACKOFF_SECONDS = 2


@dataclass(frozen=True)
class Topology:
    """Fully qualified names of everything created."""

    project: str
    alerts_topic: str
    dead_letter_topic: str
    responses_topic: str
    push_subscription: str
    dead_letter_subscription: str
    responses_subscription: str


def _create(create: object, **request: object) -> None:
    with contextlib.suppress(AlreadyExists):
        create(request=request)  # type: ignore[operator]


def create_topology(project: str, push_endpoint: str) -> Topology:
    """Create (or keep) the topics and subscriptions; the push goes to `push_endpoint`."""
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topics = {
        name: publisher.topic_path(project, name)
        for name in (
            config.DEFAULT_ALERTS_TOPIC,
            config.DEFAULT_DEAD_LETTER_TOPIC,
            config.DEFAULT_RESPONSES_TOPIC,
        )
    }
    for path in topics.values():
        _create(publisher.create_topic, name=path)
    topology = Topology(
        project=project,
        alerts_topic=topics[config.DEFAULT_ALERTS_TOPIC],
        dead_letter_topic=topics[config.DEFAULT_DEAD_LETTER_TOPIC],
        responses_topic=topics[config.DEFAULT_RESPONSES_TOPIC],
        push_subscription=subscriber.subscription_path(project, config.RESPONDER_PUSH_SUBSCRIPTION),
        dead_letter_subscription=subscriber.subscription_path(
            project, config.DEAD_LETTER_SUBSCRIPTION
        ),
        responses_subscription=subscriber.subscription_path(project, RESPONSES_SUBSCRIPTION),
    )
    _create(
        subscriber.create_subscription,
        name=topology.push_subscription,
        topic=topology.alerts_topic,
        push_config={"push_endpoint": push_endpoint},
        ack_deadline_seconds=ACK_DEADLINE_SECONDS,
        retain_acked_messages=True,
        message_retention_duration=duration_pb2.Duration(seconds=RETENTION_SECONDS),
        retry_policy={
            "minimum_backoff": duration_pb2.Duration(seconds=MIN_BACKOFF_SECONDS),
            "maximum_backoff": duration_pb2.Duration(seconds=MAX_BACKOFF_SECONDS),
        },
        dead_letter_policy={
            "dead_letter_topic": topology.dead_letter_topic,
            "max_delivery_attempts": config.MAX_DELIVERY_ATTEMPTS,
        },
    )
    _create(
        subscriber.create_subscription,
        name=topology.dead_letter_subscription,
        topic=topology.dead_letter_topic,
        message_retention_duration=duration_pb2.Duration(seconds=RETENTION_SECONDS),
    )
    _create(
        subscriber.create_subscription,
        name=topology.responses_subscription,
        topic=topology.responses_topic,
    )
    return topology
