"""What one alert costs in the units Google bills, measured on the local stack.

An alert Falcosidekick POSTs to ingest, which the responder acts on, is billed:
- by Pub/Sub, for throughput: the alert's publish, its push to the responder, and the
  outcome's publish, each at least PUBSUB_MIN_REQUEST_BYTES. A message's volume is its
  data, each attribute's key and value, 20 bytes for its timestamp and its message_id
  (https://cloud.google.com/pubsub/pricing). The responses topic has no subscription by
  default: one a user adds is billed a delivery of each outcome too.
- by Cloud Logging, for what the functions write to stdout and stderr (Cloud Run sends
  each line to Cloud Logging as an entry, a little larger than the line), and for Cloud
  Run's own request log entry of each request, which no code of ours writes;
- by Cloud Run, per request (the POST to ingest and the push to the responder) and for
  instance time. With request-based billing (the functions' default) an instance is
  billed while it serves a request, rounded up to RUN_BILLING_GRANULARITY_SECONDS: an
  alert alone on its instances costs at least that on each function's, whatever its
  CPU. In a storm, requests share the instance, which is then busy for as long as its
  CPU is, so the CPU per alert is what is billed.

PRICES are the list prices these are turned into dollars with: one place, to be checked
against Google's pages, which change.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud import pubsub_v1

from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until

# Pub/Sub bills each publish, push or pull request at least this many bytes.
PUBSUB_MIN_REQUEST_BYTES = 1000
# What Pub/Sub counts for a message's publish time, beside its data and attributes.
PUBSUB_TIMESTAMP_BYTES = 20
# Cloud Run rounds billed instance time up to this.
RUN_BILLING_GRANULARITY_SECONDS = 0.1
TIB = 2**40
GIB = 2**30


@dataclass(frozen=True)
class Prices:
    """List prices in US dollars, beyond each free tier (Tier 1 regions, request-based
    billing), as cloud.google.com lists them for Pub/Sub, Cloud Logging and Cloud Run."""

    pubsub_per_tib: float = 40.0
    logging_per_gib: float = 0.50
    run_per_million_requests: float = 0.40
    run_per_vcpu_second: float = 0.000024
    run_per_gib_second: float = 0.0000025


PRICES = Prices()


@dataclass(frozen=True)
class Instance:
    """What Cloud Run gives one function's instance: vCPUs and memory in GiB."""

    vcpus: float
    memory_gib: float

    def dollars_per_second(self, prices: Prices) -> float:
        """What a second of this instance serving costs."""
        return self.vcpus * prices.run_per_vcpu_second + self.memory_gib * prices.run_per_gib_second


# terraform/variables.tf's defaults (tests/unit/test_terraform.py keeps them equal).
INGEST_INSTANCE = Instance(vcpus=1, memory_gib=0.5)
RESPONDER_INSTANCE = Instance(vcpus=1, memory_gib=0.5)


def message_bytes(data: bytes, attributes: Mapping[str, str], message_id: str) -> int:
    """A message's volume as Pub/Sub bills it."""
    attribute_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    return len(data) + attribute_bytes + PUBSUB_TIMESTAMP_BYTES + len(message_id.encode())


def request_bytes(messages: Iterable[int]) -> int:
    """A request's billed volume: its messages' volumes, and at least the minimum."""
    return max(PUBSUB_MIN_REQUEST_BYTES, sum(messages))


@dataclass(frozen=True)
class AlertBill:
    """Billed units per alert, averaged over the alerts measured."""

    pubsub_bytes: float
    pubsub_requests: float
    log_bytes: float
    ingest_requests: float
    responder_requests: float

    def dollars_per_million(self, prices: Prices = PRICES) -> dict[str, float]:
        """Dollars per million alerts, each alone on its instances (each request billed
        the least instance time), by what bills them."""
        alone = RUN_BILLING_GRANULARITY_SECONDS * (
            self.ingest_requests * INGEST_INSTANCE.dollars_per_second(prices)
            + self.responder_requests * RESPONDER_INSTANCE.dollars_per_second(prices)
        )
        requests = self.ingest_requests + self.responder_requests
        return {
            "Cloud Run instance time": alone * 1e6,
            "Cloud Run requests": requests * prices.run_per_million_requests,
            "Cloud Logging": self.log_bytes / GIB * prices.logging_per_gib * 1e6,
            "Pub/Sub": self.pubsub_bytes / TIB * prices.pubsub_per_tib * 1e6,
        }


@dataclass
class BillMeter:
    """What the alerts POSTed to the stack's ingest while it runs are billed.

    A pull subscription of its own on the alerts topic and one on the responses topic
    read what ingest and the responder published (the push of each alert is the same
    message again); the functions' log files, what they wrote meanwhile.
    """

    stack: LocalStack
    _subscriptions: dict[str, str] = field(default_factory=dict)
    _log_sizes: dict[Path, int] = field(default_factory=dict)

    def __enter__(self) -> "BillMeter":
        stack = self.stack
        if stack.topology is None or stack.ingest is None or stack.responder is None:
            raise RuntimeError("the local stack is not started")
        subscriber = pubsub_v1.SubscriberClient()
        for name, topic in (
            ("alerts", stack.topology.alerts_topic),
            ("outcomes", stack.topology.responses_topic),
        ):
            path = subscriber.subscription_path(
                stack.project, f"bench-bill-{name}-{uuid.uuid4().hex}"
            )
            subscriber.create_subscription(request={"name": path, "topic": topic})
            self._subscriptions[name] = path
        subscriber.close()
        logs = (stack.ingest.log_path, stack.responder.log_path)
        self._log_sizes = {path: path.stat().st_size for path in logs}
        return self

    def __exit__(self, *_: object) -> None:
        subscriber = pubsub_v1.SubscriberClient()
        for path in self._subscriptions.values():
            subscriber.delete_subscription(request={"subscription": path})
        subscriber.close()

    def bill(self, alerts: int) -> AlertBill:
        """Billed units per alert, once each of the `alerts` POSTed (one per POST, as
        Falcosidekick's webhook sends them) has its outcome published."""
        alert_messages = _pull(self._subscriptions["alerts"], alerts, "the alerts published")
        outcomes = _pull(self._subscriptions["outcomes"], alerts, "an outcome of each alert")
        logged = sum(path.stat().st_size - size for path, size in self._log_sizes.items())
        published = [request_bytes([m]) for m in alert_messages]
        pushed = published  # each alert pushed once, alone, as it was published
        recorded = [request_bytes([m]) for m in outcomes]
        billed = [*published, *pushed, *recorded]
        return AlertBill(
            pubsub_bytes=sum(billed) / alerts,
            pubsub_requests=len(billed) / alerts,
            log_bytes=logged / alerts,
            ingest_requests=len(alert_messages) / alerts,
            responder_requests=len(outcomes) / alerts,
        )


def _pull(subscription: str, count: int, what: str) -> list[int]:
    """The volumes of the messages pulled from `subscription`, each acked, until they
    name `count` alerts (a message published twice counts twice)."""
    subscriber = pubsub_v1.SubscriberClient()
    volumes: list[int] = []
    alert_ids: set[str] = set()

    def pulled() -> bool:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 1000}, timeout=10
        )
        for received in response.received_messages:
            message = received.message
            volumes.append(message_bytes(message.data, message.attributes, message.message_id))
            alert_ids.add(message.attributes["alert_id"])
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": subscription,
                    "ack_ids": [r.ack_id for r in response.received_messages],
                }
            )
        return len(alert_ids) >= count

    try:
        wait_until(pulled, 60, what)
    finally:
        subscriber.close()
    return volumes
