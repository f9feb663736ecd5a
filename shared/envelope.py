"""The Pub/Sub envelope around an alert: attributes going out, the message coming in."""

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.alert import FalcoAlert
from shared.errors import PermanentError

# Pub/Sub limits attribute values to 1024 bytes (keys to 256).
MAX_ATTRIBUTE_VALUE_BYTES = 1024

# Dead-letter attributes (docs/architecture.md, "Dead-letter message").
ERROR_REASON = "error_reason"
ERROR_DETAIL = "error_detail"
FAILED_AT = "failed_at"


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


def dead_letter_attributes(
    original: dict[str, str], reason: str, detail: str, failed_at: datetime
) -> dict[str, str]:
    """The original attributes plus why and when the message failed for good."""
    return {
        **original,
        ERROR_REASON: clip(reason),
        ERROR_DETAIL: clip(detail),
        FAILED_AT: rfc3339(failed_at),
    }


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
