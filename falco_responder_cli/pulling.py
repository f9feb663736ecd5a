"""Synchronous pull that never loses a message: whatever is not acked is released on exit.

Messages pulled are held (ack deadline extended) until the command ends, so later pulls
in the same run do not return them again; on exit, success or not, every message still
held gets ack deadline 0 and is at once available to the next reader. A message seen
again anyway (its hold expired in a long run) is recognised by its id and not counted twice.
A run killed before its exit leaves its messages held for up to HOLD_SECONDS: its lease
marker lets the next run say how many it cannot see, and until when.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType

from google.api_core.exceptions import DeadlineExceeded
from google.cloud import pubsub_v1

from falco_responder_cli.lease_marker import ForeignLease, LeaseMarker

# How long one pull may wait; an empty subscription answers with nothing or a timeout.
PULL_TIMEOUT_SECONDS = 3.0
# Long enough for a run to move on, short enough that a killed run's messages soon return.
HOLD_SECONDS = 60
BATCH_SIZE = 100
# Ack ids per acknowledge / modify_ack_deadline request, well under the 512 KiB request limit.
ACK_CHUNK = 1000


@dataclass(frozen=True)
class Pulled:
    """One message as pulled; acking goes through the Lease, which knows its latest ack id."""

    message_id: str
    data: bytes
    attributes: dict[str, str]
    publish_time: datetime


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), ACK_CHUNK):
        yield items[start : start + ACK_CHUNK]


@dataclass
class Lease:
    """Pulls `subscription` batch by batch and releases everything not acked when closed."""

    subscriber: pubsub_v1.SubscriberClient
    subscription: str
    marker: LeaseMarker | None = None
    # Other runs' holds on this subscription when this one started: messages it cannot see.
    others: list[ForeignLease] = field(default_factory=list, init=False)
    _ack_ids: dict[str, str] = field(default_factory=dict, init=False)
    _seen: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        if self.marker is None:
            self.marker = LeaseMarker(self.subscription)

    def __enter__(self) -> "Lease":
        self.others = self.marker.others(datetime.now(UTC))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release_all()

    def pull(self, max_messages: int = BATCH_SIZE) -> list[Pulled]:
        """Messages not seen before in this lease; [] means there are no more.

        The emulator and Pub/Sub may return fewer than `max_messages`; a pull that
        returns only messages already seen also counts as the end.
        """
        # Marked before pulling, so a kill during the pull leaves a true upper bound.
        self._mark(len(self._ack_ids) + max_messages, HOLD_SECONDS + 2 * PULL_TIMEOUT_SECONDS)
        try:
            response = self.subscriber.pull(
                request={"subscription": self.subscription, "max_messages": max_messages},
                timeout=PULL_TIMEOUT_SECONDS,
            )
        except DeadlineExceeded:
            return []
        fresh = []
        for received in response.received_messages:
            message = received.message
            self._ack_ids[message.message_id] = received.ack_id
            if message.message_id in self._seen:
                continue
            self._seen.add(message.message_id)
            fresh.append(
                Pulled(
                    message_id=message.message_id,
                    data=bytes(message.data),
                    attributes=dict(message.attributes),
                    publish_time=message.publish_time,
                )
            )
        self._modify([r.ack_id for r in response.received_messages], HOLD_SECONDS)
        self._mark(len(self._ack_ids), HOLD_SECONDS)
        return fresh

    def batches(self, max_messages: int = BATCH_SIZE) -> Iterator[list[Pulled]]:
        """Pull until the subscription has nothing new."""
        while batch := self.pull(max_messages):
            yield batch

    def ack(self, messages: Iterable[Pulled]) -> None:
        """Acknowledge for good: only for messages whose work is confirmed done."""
        ack_ids = [self._ack_ids.pop(m.message_id) for m in messages]
        for chunk in _chunks(ack_ids):
            self.subscriber.acknowledge(
                request={"subscription": self.subscription, "ack_ids": chunk}
            )
        self._mark(len(self._ack_ids), 0)

    def release_all(self) -> None:
        """Ack deadline 0 for every message still held: redelivered at once, never lost."""
        ack_ids = list(self._ack_ids.values())
        self._ack_ids.clear()
        self._modify(ack_ids, 0)
        self.marker.remove()  # only once released: a failed release leaves the marker

    def _mark(self, count: int, seconds: float) -> None:
        self.marker.mark(count, datetime.now(UTC) + timedelta(seconds=seconds))

    def _modify(self, ack_ids: list[str], seconds: int) -> None:
        for chunk in _chunks(ack_ids):
            self.subscriber.modify_ack_deadline(
                request={
                    "subscription": self.subscription,
                    "ack_ids": chunk,
                    "ack_deadline_seconds": seconds,
                }
            )
