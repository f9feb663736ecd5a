"""Pub/Sub's push contract, driven from a pull subscription on the real emulator.

The emulator's own push delivery is not Pub/Sub's: it pushes at most two messages at a
time, retries refused connections without backoff, and can drop a message whose pushes
fail concurrently. Tests that need the full contract use this driver instead: it pulls,
POSTs the push body to the endpoint as Pub/Sub does (the wrapped JSON format, with
`deliveryAttempt` since the subscription has a dead-letter policy), acks on 102, 200,
201, 202 or 204, and otherwise leaves the message to come back after an exponential
backoff (ack deadline set to the backoff). After the last attempt it publishes the
message to the dead-letter topic with the attributes Pub/Sub adds, then acks it.
Like Pub/Sub's push backoff, "too many" failures in a row (more than a whole window of
pushes) pause all deliveries (100 ms, doubling, up to 60 s), so an endpoint that is down
does not burn every message's attempts at once.
"""

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from google.api_core.exceptions import (
    AlreadyExists,
    DeadlineExceeded,
    GoogleAPICallError,
    NotFound,
)
from google.cloud import pubsub_v1
from google.protobuf import duration_pb2

from localdev.local_stack.topology import ACK_DEADLINE_SECONDS, RETENTION_SECONDS, Topology
from shared import config
from shared.envelope import rfc3339
from shared.pubsub import PUBLISH_TIMEOUT_SECONDS

# What Pub/Sub counts as an ack from a push endpoint; any other answer is a nack.
ACK_STATUSES = frozenset({102, 200, 201, 202, 204})
# Pub/Sub's push requests identify themselves so.
USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"
# Pub/Sub gives a push endpoint the subscription's ack deadline to answer.
PUSH_TIMEOUT_SECONDS = ACK_DEADLINE_SECONDS - 10
PULL_TIMEOUT_SECONDS = 1.0  # the emulator answers an empty pull at once when <= 1 s
# Pub/Sub's push backoff: the pause once failures in a row exceed the window, doubling.
FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS = 0.1, 60.0
# The attributes Pub/Sub puts on a message it dead-letters.
DEAD_LETTER_DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"


def push_body(received: Any, subscription: str, attempt: int) -> dict[str, Any]:
    """The wrapped push body: the message (ids and times in both spellings) and the
    subscription, plus the delivery attempt (set because a dead-letter policy is)."""
    message = received.message
    published = rfc3339(message.publish_time)
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "message_id": message.message_id,
            "publishTime": published,
            "publish_time": published,
        },
        "subscription": subscription,
        "deliveryAttempt": attempt,
    }


def backoff_seconds(attempt: int, minimum: int, maximum: int) -> int:
    """Exponential backoff after failed attempt `attempt` (1-based), within the bounds."""
    return min(maximum, minimum * 2 ** (attempt - 1))


def take_over_push_subscription(topology: Topology) -> None:
    """Turn the responder's push subscription into a pull subscription for the driver.

    Recreated without push config and without dead-letter policy: the driver delivers and
    dead-letters in their place, so the emulator cannot do either behind its back.
    """
    subscriber = pubsub_v1.SubscriberClient()
    try:
        with contextlib.suppress(NotFound):
            subscriber.delete_subscription(request={"subscription": topology.push_subscription})
        with contextlib.suppress(AlreadyExists):
            subscriber.create_subscription(
                request={
                    "name": topology.push_subscription,
                    "topic": topology.alerts_topic,
                    "ack_deadline_seconds": ACK_DEADLINE_SECONDS,
                    "retain_acked_messages": True,
                    "message_retention_duration": duration_pb2.Duration(seconds=RETENTION_SECONDS),
                }
            )
    finally:
        subscriber.close()


@dataclass
class PushDriver:
    """Delivers `subscription` to `endpoint` with Pub/Sub's push semantics until stopped."""

    subscription: str
    endpoint: str
    dead_letter_topic: str
    max_delivery_attempts: int = config.MAX_DELIVERY_ATTEMPTS
    min_backoff_seconds: int = 1
    max_backoff_seconds: int = 8
    concurrency: int = 8
    # Every push's outcome: the status code, or the kind of connection failure.
    answers: Counter[str] = field(default_factory=Counter)
    # Message id -> "acked" or "dead_lettered", once settled for good.
    settled: dict[str, str] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _failures_in_a_row: int = 0
    _pauses_in_a_row: int = 0
    _resume_at: float = 0.0  # time.monotonic() before which nothing is pushed
    _slots: threading.Semaphore | None = None
    _thread: threading.Thread | None = None

    def start(self) -> "PushDriver":
        """Start pulling and pushing in background threads."""
        self._subscriber = pubsub_v1.SubscriberClient()
        self._publisher = pubsub_v1.PublisherClient()
        self._http = requests.Session()
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="push")
        self._slots = threading.Semaphore(self.concurrency)
        self._thread = threading.Thread(target=self._pull_loop, name="push-driver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop pulling, let pushes under way finish, close the clients."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)
        self._subscriber.close()
        self._http.close()

    def settled_count(self) -> int:
        """How many messages are settled (acked, or dead-lettered and acked)."""
        with self._lock:
            return len(self.settled)

    def unsettled(self, message_ids: set[str]) -> set[str]:
        """Those of `message_ids` not settled yet."""
        with self._lock:
            return message_ids - self.settled.keys()

    def _pull_loop(self) -> None:
        # Pull only what can be pushed at once, so no pulled message waits out its
        # ack deadline in a queue (that would count as a failed attempt).
        while not self._stop.is_set():
            with self._lock:
                pause = self._resume_at - time.monotonic()
            if pause > 0:
                self._stop.wait(pause)
                continue
            self._slots.acquire()
            free = 1
            while free < self.concurrency and self._slots.acquire(blocking=False):
                free += 1
            try:
                response = self._subscriber.pull(
                    request={"subscription": self.subscription, "max_messages": free},
                    timeout=PULL_TIMEOUT_SECONDS,
                )
                received = list(response.received_messages)
            except DeadlineExceeded:
                received = []
            except GoogleAPICallError as exc:  # the emulator busy or going away: try again
                self._note(f"pull failed: {exc.__class__.__name__}")
                received = []
                self._stop.wait(0.1)
            for _ in range(free - len(received)):
                self._slots.release()
            for message in received:
                self._pool.submit(self._deliver, message)

    def _note(self, what: str) -> None:
        with self._lock:
            self.answers[what] += 1

    def _deliver(self, received: Any) -> None:
        try:
            self._attempt(received)
        except Exception as exc:  # unacked, so it comes back: as Pub/Sub would redeliver
            self._note(f"driver error: {exc.__class__.__name__}")
        finally:
            self._slots.release()

    def _attempt(self, received: Any) -> None:
        message_id = received.message.message_id
        with self._lock:
            self.attempts[message_id] += 1
            attempt = self.attempts[message_id]
        if self._push(received, attempt):
            self._ack(received, "acked")
        elif attempt >= self.max_delivery_attempts:
            self._dead_letter(received, attempt)
            self._ack(received, "dead_lettered")
        else:
            seconds = backoff_seconds(attempt, self.min_backoff_seconds, self.max_backoff_seconds)
            self._subscriber.modify_ack_deadline(
                request={
                    "subscription": self.subscription,
                    "ack_ids": [received.ack_id],
                    "ack_deadline_seconds": seconds,
                }
            )

    def _push(self, received: Any, attempt: int) -> bool:
        body = push_body(received, self.subscription, attempt)
        try:
            response = self._http.post(
                self.endpoint,
                data=json.dumps(body),
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
                timeout=PUSH_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            self._note(type(exc).__name__)
            self._push_backoff(failed=True)
            return False
        self._note(str(response.status_code))
        acked = response.status_code in ACK_STATUSES
        self._push_backoff(failed=not acked)
        return acked

    def _push_backoff(self, failed: bool) -> None:
        with self._lock:
            if not failed:
                self._failures_in_a_row = self._pauses_in_a_row = 0
                return
            if time.monotonic() < self._resume_at:
                return  # pushed before the pause began: already counted by it
            self._failures_in_a_row += 1
            if self._failures_in_a_row <= self.concurrency:
                return
            pause = min(MAX_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2**self._pauses_in_a_row)
            self._pauses_in_a_row += 1
            self._resume_at = time.monotonic() + pause

    def _dead_letter(self, received: Any, attempts: int) -> None:
        message = received.message
        _, project, _, subscription_id = self.subscription.split("/")
        attributes = {
            **message.attributes,
            DEAD_LETTER_DELIVERY_COUNT: str(attempts),
            "CloudPubSubDeadLetterSourceSubscription": subscription_id,
            "CloudPubSubDeadLetterSourceSubscriptionProject": project,
            "CloudPubSubDeadLetterSourceTopicPublishTime": rfc3339(message.publish_time),
        }
        future = self._publisher.publish(self.dead_letter_topic, message.data, **attributes)
        future.result(timeout=PUBLISH_TIMEOUT_SECONDS)

    def _ack(self, received: Any, how: str) -> None:
        self._subscriber.acknowledge(
            request={"subscription": self.subscription, "ack_ids": [received.ack_id]}
        )
        with self._lock:
            self.settled.setdefault(received.message.message_id, how)
