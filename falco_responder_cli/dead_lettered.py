"""What a dead-lettered message says about itself, and what goes back when it is replayed."""

from typing import Any

from shared.alert import loads_json
from shared.envelope import ERROR_DETAIL, ERROR_REASON, FAILED_AT

# Set by `replay` on every message it sends back: 0 (absent) on the first failure.
REPLAY_COUNT = "replay_count"
# Pub/Sub adds these when it dead-letters a message after the maximum delivery attempts.
PUBSUB_DEAD_LETTER_PREFIX = "CloudPubSubDeadLetterSource"
# Reason shown for a message Pub/Sub dead-lettered by itself (transient failures exhausted).
DELIVERY_ATTEMPTS_EXHAUSTED = "delivery_attempts_exhausted"
# Reason shown for a message with neither the responder's nor Pub/Sub's bookkeeping.
UNKNOWN_REASON = "unknown"

_BOOKKEEPING = frozenset({ERROR_REASON, ERROR_DETAIL, FAILED_AT})


def reason_of(attributes: dict[str, str]) -> str:
    """The responder's error_reason, else why Pub/Sub dead-lettered it, else `unknown`."""
    if attributes.get(ERROR_REASON):
        return attributes[ERROR_REASON]
    if any(key.startswith(PUBSUB_DEAD_LETTER_PREFIX) for key in attributes):
        return DELIVERY_ATTEMPTS_EXHAUSTED
    return UNKNOWN_REASON


def rule_of(data: bytes, attributes: dict[str, str]) -> str | None:
    """The `rule` attribute, else the rule in the data (Falcosidekick sets no attributes).

    The data may be the very thing that failed (invalid JSON or alert), so it is read
    leniently: anything that is not an object with a string `rule` gives None.
    """
    if attributes.get("rule"):
        return attributes["rule"]
    try:
        document: Any = loads_json(data)
    except (ValueError, UnicodeDecodeError):
        return None
    rule = document.get("rule") if isinstance(document, dict) else None
    return rule if isinstance(rule, str) and rule else None


def replay_count_of(attributes: dict[str, str]) -> int:
    """How many times `replay` sent this message back; a value that is not a count is 0."""
    try:
        return max(int(attributes.get(REPLAY_COUNT, "0")), 0)
    except ValueError:
        return 0


def republish_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """The original attributes, without dead-letter bookkeeping, with replay_count + 1."""
    kept = {
        key: value
        for key, value in attributes.items()
        if key not in _BOOKKEEPING and not key.startswith(PUBSUB_DEAD_LETTER_PREFIX)
    }
    kept[REPLAY_COUNT] = str(replay_count_of(attributes) + 1)
    return kept
