"""The Pub/Sub envelope around an alert: attributes going out, the message coming in."""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.alert import FalcoAlert
from shared.errors import PermanentError
from shared.tracing import TRACE_ATTRIBUTE

# Pub/Sub's limits on a message's attributes (https://cloud.google.com/pubsub/quotas).
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY_BYTES = 256
MAX_ATTRIBUTE_VALUE_BYTES = 1024
# Keys Pub/Sub keeps for itself: a publish carrying one is refused.
RESERVED_KEY_PREFIX = "goog"

# Dead-letter attributes (docs/architecture.md, "Dead-letter message").
ERROR_REASON = "error_reason"
ERROR_DETAIL = "error_detail"
FAILED_AT = "failed_at"
# Set only when original attributes had to go to stay within Pub/Sub's limits.
DROPPED_ATTRIBUTES = "dropped_attributes"
# Kept first when not every original attribute fits: what the operator command and
# the logs look for (ingest's routing attributes and the trace).
FIRST_KEPT = (
    "alert_id",
    "rule",
    "priority",
    "source",
    "hostname",
    "k8s_ns",
    "k8s_pod",
    TRACE_ATTRIBUTE,
)


def clip(value: str, limit: int = MAX_ATTRIBUTE_VALUE_BYTES) -> str:
    """Cut a string to `limit` UTF-8 bytes without splitting a character."""
    encoded = value.encode()
    if len(encoded) <= limit:
        return value
    return encoded[:limit].decode(errors="ignore")


def alert_attributes(alert: FalcoAlert) -> dict[str, str]:
    """The attributes ingest sets: routing and filtering hints, never the source of truth."""
    pod = alert.pod
    candidates = {
        "alert_id": alert.alert_id,
        "rule": alert.rule,
        "priority": alert.priority.label,
        "source": alert.source,
        "hostname": alert.hostname,
        "k8s_ns": pod.namespace if pod else None,
        "k8s_pod": pod.name if pod else None,
    }
    return {key: clip(value) for key, value in candidates.items() if value}


def rfc3339(moment: datetime) -> str:
    """UTC, `Z`, millisecond precision: what Cloud Logging and Pub/Sub print."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _publishable_key(key: str) -> bool:
    return 0 < len(key.encode()) <= MAX_ATTRIBUTE_KEY_BYTES and not key.startswith(
        RESERVED_KEY_PREFIX
    )


def _dropped_note(dropped: list[str]) -> str:
    """`n: key, key, ...`, cut to fit one attribute value (then ending in `...`)."""
    note = f"{len(dropped)}: " + ", ".join(dropped)
    if len(note.encode()) <= MAX_ATTRIBUTE_VALUE_BYTES:
        return note
    return clip(note, MAX_ATTRIBUTE_VALUE_BYTES - len(" ...")) + " ..."


def dead_letter_attributes(
    original: dict[str, str], reason: str, detail: str, failed_at: datetime
) -> dict[str, str]:
    """The original attributes plus why and when the message failed for good.

    Always publishable: ours are kept; of the original ones, those Pub/Sub would refuse
    (a key too long, empty or reserved) and those past the 100-attribute limit are
    dropped (ingest's routing attributes and the trace are kept first), and values are clipped
    to 1024 bytes. Anything dropped is named in `dropped_attributes`.
    """
    ours = {
        ERROR_REASON: clip(reason),
        ERROR_DETAIL: clip(detail),
        FAILED_AT: rfc3339(failed_at),
    }
    candidates = [k for k in FIRST_KEPT if k in original]
    # Then by name: what is dropped must not depend on the order attributes arrived in.
    candidates += sorted(k for k in original if k not in FIRST_KEPT and k not in ours)
    fits = [k for k in candidates if _publishable_key(k)]
    dropped = [k for k in candidates if not _publishable_key(k)]
    room = MAX_ATTRIBUTES - len(ours)
    if dropped or len(fits) > room:
        room -= 1  # for DROPPED_ATTRIBUTES itself
        dropped += fits[room:]
        fits = fits[:room]
    kept = {k: clip(original[k]) for k in fits}
    if dropped:
        ours[DROPPED_ATTRIBUTES] = _dropped_note(dropped)
    return {**kept, **ours}


@dataclass(frozen=True)
class ReceivedMessage:
    """A Pub/Sub message as the responder receives it, whatever the delivery path."""

    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = ""


def message_from_event_data(event_data: Any) -> ReceivedMessage:
    """Unwrap a `messagePublished` CloudEvent's data: {"message": {"data": base64, ...}}.

    Eventarc (binary or structured mode) and push bodies converted by functions-framework
    all carry this shape. Anything else can never be processed: a permanent failure.
    """
    message = event_data.get("message") if isinstance(event_data, dict) else None
    if not isinstance(message, dict):
        raise PermanentError("invalid_message", "CloudEvent data has no Pub/Sub 'message' object")
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise PermanentError("invalid_message", "message 'attributes' is not an object")
    encoded = message.get("data") or ""
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise PermanentError("invalid_message", "message 'data' is not valid base64") from None
    return ReceivedMessage(
        data=data,
        attributes={str(k): str(v) for k, v in attributes.items()},
        message_id=str(message.get("messageId") or message.get("message_id") or ""),
    )


def delivery_attempt(push_body: Any) -> int | None:
    """The `deliveryAttempt` of a Pub/Sub push body, or None where there is none.

    Pub/Sub sets it, counting from 1, when the subscription has a dead-letter policy;
    functions-framework's CloudEvent leaves it out, so it is read from the request body.
    Eventarc events and anything unexpected give None: the responder then never decides
    an attempt is the last one, and Pub/Sub dead-letters after the last attempt itself.
    """
    value = push_body.get("deliveryAttempt") if isinstance(push_body, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None
