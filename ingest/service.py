"""The ingest request, as plain values in and a status with a JSON body out.

Order of checks: method, token, content type, size, memory to parse it, alerts, publish.
The token comes before the body is read, so an unauthenticated sender cannot make us
parse anything.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.auth import expected_tokens, is_authorized
from ingest.batch import BatchTooLargeError, parse_batch
from ingest.body import BodyTooLargeError, BodyTooSlowError, BodyUnreadableError
from ingest.memory import MemoryBusyError, ParseBudget
from shared import config
from shared.envelope import alert_attributes
from shared.errors import InvalidAlertError
from shared.pubsub import publish_confirmed
from shared.structured_log import log
from shared.tracing import TRACE_ATTRIBUTE

logger = logging.getLogger("falco_responder.ingest")

JSON_MEDIA_TYPES = frozenset(
    {"application/json", "application/x-ndjson", "application/ndjson", "application/jsonl"}
)


@dataclass(frozen=True)
class Settings:
    """Ingest configuration, read once when the instance starts."""

    topic: str
    max_body_bytes: int
    max_alerts: int
    body_timeout_seconds: float = config.DEFAULT_BODY_TIMEOUT_SECONDS
    # The instance's, shared by its requests (unbounded without INGEST_MEMORY).
    parse_budget: ParseBudget = field(default_factory=lambda: ParseBudget(None, 0))

    @classmethod
    def from_env(cls) -> "Settings":
        """From ALERTS_TOPIC, INGEST_MAX_BODY_BYTES, INGEST_MAX_ALERTS,
        INGEST_BODY_TIMEOUT_SECONDS and INGEST_MEMORY."""
        max_body_bytes = config.env_int(config.INGEST_MAX_BODY_BYTES, config.DEFAULT_MAX_BODY_BYTES)
        return cls(
            topic=config.env(config.ALERTS_TOPIC, config.DEFAULT_ALERTS_TOPIC) or "",
            max_body_bytes=max_body_bytes,
            max_alerts=config.env_int(config.INGEST_MAX_ALERTS, config.DEFAULT_MAX_ALERTS),
            body_timeout_seconds=config.env_float(
                config.INGEST_BODY_TIMEOUT_SECONDS, config.DEFAULT_BODY_TIMEOUT_SECONDS
            ),
            parse_budget=ParseBudget(config.env_memory_bytes(config.INGEST_MEMORY), max_body_bytes),
        )


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, **headers: str) -> Reply:
    return Reply(status, {"error": message}, headers)


def _is_json(media_type: str) -> bool:
    media_type = media_type.lower()
    return media_type in JSON_MEDIA_TYPES or media_type.endswith("+json")


def handle(
    method: str,
    authorization: str | None,
    media_type: str,
    read_body: Callable[[], bytes],
    settings: Settings,
    trace_id: str | None = None,
) -> Reply:
    """Validate, authenticate and publish; 202 only once Pub/Sub confirmed every alert.

    `trace_id` (the request's) goes along as a message attribute for the responder's logs.
    """
    if method != "POST":
        return _error(405, f"method {method} not allowed; POST alerts to /", Allow="POST")
    try:
        expected = expected_tokens()
    except Exception as exc:  # any failure to read the secret: refuse, the sender retries
        log(logger, logging.ERROR, "cannot read the ingest token", error=repr(exc))
        return _error(503, "authentication is unavailable: the ingest token cannot be read")
    if expected is not None and not is_authorized(authorization, expected):
        return _error(
            401,
            "missing or invalid bearer token in the Authorization header",
            **{"WWW-Authenticate": "Bearer"},
        )
    if not _is_json(media_type):
        shown = media_type or "none"
        return _error(415, f"Content-Type {shown}: send application/json or NDJSON")
    try:
        body = read_body()
    except BodyTooLargeError:
        return _error(413, f"body is over {settings.max_body_bytes} bytes")
    except BodyTooSlowError:
        return _error(
            408, f"the body did not arrive within {settings.body_timeout_seconds:g} seconds"
        )
    except BodyUnreadableError as exc:
        return Reply(400, {"error": f"body: cannot be read: {exc}", "reason": "unreadable_body"})
    try:
        with settings.parse_budget.hold(len(body), settings.body_timeout_seconds):
            incoming = parse_batch(body, settings.max_alerts)
    except MemoryBusyError as exc:
        log(logger, logging.WARNING, "no memory to parse the body yet", error=str(exc))
        return _error(
            503, "other large bodies are being parsed; retry later", **{"Retry-After": "1"}
        )
    except InvalidAlertError as exc:
        return Reply(400, {"error": exc.detail, "reason": exc.reason})
    except BatchTooLargeError as exc:
        return _error(413, str(exc))
    trace = {TRACE_ATTRIBUTE: trace_id} if trace_id else {}
    messages = [(item.data, {**alert_attributes(item.alert), **trace}) for item in incoming]
    try:
        message_ids = publish_confirmed(settings.topic, messages)
    except Exception as exc:  # unconfirmed is not accepted: 503 makes the sender retry
        log(
            logger,
            logging.ERROR,
            "publish failed",
            topic=settings.topic,
            error=repr(exc),
            alerts=len(messages),
        )
        return _error(503, f"publishing to topic {settings.topic} failed; retry later")
    for item, message_id in zip(incoming, message_ids, strict=True):
        log(
            logger,
            logging.INFO,
            "alert accepted",
            alert_id=item.alert.alert_id,
            rule=item.alert.rule,
            priority=item.alert.priority.label,
            message_id=message_id,
        )
    return Reply(202, {"accepted": len(message_ids), "message_ids": message_ids})
