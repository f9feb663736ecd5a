"""What one alert costs in the units Google bills, measured on the local stack.

An alert Falcosidekick POSTs to ingest, which the responder acts on, is billed:
- by Pub/Sub, for throughput: the alert's publish, its push to the responder, and the
  outcome's publish, each at least PUBSUB_MIN_REQUEST_BYTES. A message's volume is its
  data, each attribute's key and value, 20 bytes for its timestamp and its message_id
  (https://cloud.google.com/pubsub/pricing). The responses topic has no subscription by
  default: one a user adds is billed a delivery of each outcome too.
- by Cloud Logging, for what the functions write to stdout and stderr: Cloud Run sends
  each line to Cloud Logging as an entry, which adds its own metadata (resource labels,
  timestamps, ids; not measured here), and for Cloud Run's own request log entry of
  each request, which no code of ours writes;
- by Cloud Run, per request (the POST to ingest and the push to the responder) and for
  instance time. With request-based billing (the functions' default) an instance is
  billed while it serves a request, rounded up to RUN_BILLING_GRANULARITY_SECONDS: an
  alert alone on its instances costs at least that on each function's, whatever its
  CPU. In a storm, requests share the instance, which is billed while any is in
  flight: at least the CPU per alert, and no more once the instance's CPU is saturated.

PRICES are the list prices these are turned into dollars with: one place, to be checked
against Google's pages, which change.
"""

import contextlib
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from google.cloud import pubsub_v1

from localdev.local_stack.functions import INGEST_MEMORY
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until

# Pub/Sub bills each publish, push or pull request at least this many bytes.
PUBSUB_MIN_REQUEST_BYTES = 1000
# What Pub/Sub counts for a message's publish time, beside its data and attributes.
PUBSUB_TIMESTAMP_BYTES = 20
# Pub/Sub's message ids are decimal numbers of 16 or 17 digits; the emulator's are a few
# digits, so every id is billed as the longest real one.
PUBSUB_MESSAGE_ID_BYTES = 17
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
INGEST_INSTANCE = Instance(vcpus=1, memory_gib=int(INGEST_MEMORY.removesuffix("Mi")) / 1024)
RESPONDER_INSTANCE = Instance(vcpus=1, memory_gib=0.5)


def message_bytes(data: bytes, attributes: Mapping[str, str]) -> int:
    """A message's volume as Pub/Sub bills it."""
    attribute_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    return len(data) + attribute_bytes + PUBSUB_TIMESTAMP_BYTES + PUBSUB_MESSAGE_ID_BYTES


def request_bytes(volumes: Iterable[int]) -> int:
    """A request's billed volume: its messages' volumes, and at least the minimum."""
    return max(PUBSUB_MIN_REQUEST_BYTES, sum(volumes))


@dataclass(frozen=True)
class AlertBill:
    """What `alerts` alerts were billed in all; per alert, `per_alert(total)`."""

    alerts: int
    pubsub_bytes: int
    pubsub_requests: int
    log_bytes: int
    ingest_requests: int
    responder_requests: int

    def per_alert(self, total: int) -> float:
        """A total of this bill, per alert."""
        return total / self.alerts

    def dollars_per_million(
        self,
        prices: Prices = PRICES,
        ingest: Instance = INGEST_INSTANCE,
        responder: Instance = RESPONDER_INSTANCE,
    ) -> dict[str, float]:
        """Dollars per million alerts, each request alone on its instance (billed the
        least instance time), by what bills them."""
        alone = RUN_BILLING_GRANULARITY_SECONDS * (
            self.ingest_requests * ingest.dollars_per_second(prices)
            + self.responder_requests * responder.dollars_per_second(prices)
        )
        requests = self.ingest_requests + self.responder_requests
        per_million = 1e6 / self.alerts
        return {
            "Cloud Run instance time": alone * per_million,
            "Cloud Run requests": requests / self.alerts * prices.run_per_million_requests,
            "Cloud Logging": self.log_bytes / GIB * prices.logging_per_gib * per_million,
            "Pub/Sub": self.pubsub_bytes / TIB * prices.pubsub_per_tib * per_million,
        }


def bill_for(
    alert_volumes: Mapping[str, int], outcomes: Sequence[tuple[str, int]], log_bytes: int
) -> AlertBill:
    """The bill of the alerts ingest published (alert id -> its message's volume), one
    per POST, and of the outcomes the responder published (alert id, volume), one per
    push it handled: each push is the alert's message again (a redelivery is a second
    push and a second outcome)."""
    published = [request_bytes([volume]) for volume in alert_volumes.values()]
    pushed = [request_bytes([alert_volumes[alert_id]]) for alert_id, _ in outcomes]
    recorded = [request_bytes([volume]) for _, volume in outcomes]
    billed = [*published, *pushed, *recorded]
    return AlertBill(
        alerts=len(alert_volumes),
        pubsub_bytes=sum(billed),
        pubsub_requests=len(billed),
        log_bytes=log_bytes,
        ingest_requests=len(published),
        responder_requests=len(outcomes),
    )


@dataclass
class BillMeter:
    """What the alerts POSTed to the stack's ingest while it runs are billed; the stack is
    otherwise quiet (its functions' logs are measured whole).

    A pull subscription of its own on the alerts topic and one on the responses topic
    read what ingest and the responder published; the functions' log files, what they
    wrote meanwhile. The subscriptions are read only at the end (not streamed, as the
    stack's Collector does), so the meter takes none of the emulator's time while the
    alerts are being timed.
    """

    stack: LocalStack
    _subscriptions: dict[str, str] = field(init=False, default_factory=dict)
    _log_sizes: dict[Path, int] = field(init=False, default_factory=dict)

    def __enter__(self) -> "BillMeter":
        stack = self.stack
        if stack.topology is None or stack.ingest is None or stack.responder is None:
            raise RuntimeError("the local stack is not started")
        logs = (stack.ingest.log_path, stack.responder.log_path)
        self._log_sizes = {path: path.stat().st_size for path in logs}
        topics = {"alerts": stack.topology.alerts_topic, "outcomes": stack.topology.responses_topic}
        with contextlib.closing(pubsub_v1.SubscriberClient()) as subscriber:
            try:
                for name, topic in topics.items():
                    path = subscriber.subscription_path(
                        stack.project, f"bench-bill-{name}-{uuid.uuid4().hex}"
                    )
                    subscriber.create_subscription(request={"name": path, "topic": topic})
                    self._subscriptions[name] = path
            except BaseException:
                self._delete(subscriber)
                raise
        return self

    def __exit__(self, *_: object) -> None:
        with contextlib.closing(pubsub_v1.SubscriberClient()) as subscriber:
            self._delete(subscriber)

    def _delete(self, subscriber: pubsub_v1.SubscriberClient) -> None:
        for path in self._subscriptions.values():
            subscriber.delete_subscription(request={"subscription": path})

    def bill(self, alerts: int) -> AlertBill:
        """The bill, once `alerts` alerts were POSTed (one per POST, as Falcosidekick's
        webhook sends them) and each has its outcome published."""
        alert_volumes = dict(
            _pull(self._subscriptions["alerts"], lambda seen: len(seen) >= alerts, "the alerts")
        )
        outcomes = [
            (alert_id, volume)
            for alert_id, volume in _pull(
                self._subscriptions["outcomes"],
                lambda seen: alert_volumes.keys() <= {a for a, _ in seen},
                "an outcome of each alert",
            )
            if alert_id in alert_volumes
        ]
        # Complete now: ingest logs an alert before it answers the POST, the responder
        # its outcome before it publishes it.
        logged = sum(path.stat().st_size - size for path, size in self._log_sizes.items())
        return bill_for(alert_volumes, outcomes, logged)


def _pull(
    subscription: str, enough: Callable[[list[tuple[str, int]]], bool], what: str
) -> list[tuple[str, int]]:
    """(alert id, volume) of each message pulled from `subscription`, acked, until
    `enough` of them."""
    seen: list[tuple[str, int]] = []

    def pulled() -> bool:
        response = subscriber.pull(
            request={"subscription": subscription, "max_messages": 1000}, timeout=10
        )
        for received in response.received_messages:
            message = received.message
            alert_id = message.attributes.get("alert_id", "")
            seen.append((alert_id, message_bytes(message.data, message.attributes)))
        if response.received_messages:
            subscriber.acknowledge(
                request={
                    "subscription": subscription,
                    "ack_ids": [r.ack_id for r in response.received_messages],
                }
            )
        return enough(seen)

    with contextlib.closing(pubsub_v1.SubscriberClient()) as subscriber:
        wait_until(pulled, 60, what)
    return seen
