"""A request body as one alert, a JSON array of alerts, or NDJSON (one alert a line)."""

import json
from dataclasses import dataclass

from shared.alert import FalcoAlert, alert_from_document, loads_json
from shared.errors import InvalidAlertError


class BatchTooLargeError(Exception):
    """More alerts in one request than the configured cap."""


@dataclass(frozen=True)
class IncomingAlert:
    """A validated alert and the bytes to publish for it (the alert JSON as received)."""

    alert: FalcoAlert
    data: bytes


def _validated(document: object, data: bytes, where: str) -> IncomingAlert:
    try:
        return IncomingAlert(alert_from_document(document), data)
    except InvalidAlertError as exc:
        raise InvalidAlertError(exc.reason, f"{where}: {exc.detail}") from None


def _decoded(data: bytes, where: str) -> object:
    try:
        return loads_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAlertError("invalid_json", f"{where}: not valid JSON: {exc}") from None


def _check_count(count: int, max_alerts: int) -> None:
    if count > max_alerts:
        raise BatchTooLargeError(f"{count} alerts in one request; the limit is {max_alerts}")


def parse_batch(body: bytes, max_alerts: int) -> list[IncomingAlert]:
    """Every alert in the body, or InvalidAlertError naming the first bad one and why.

    All or nothing: a body with one bad alert is rejected whole, so a retry by the
    sender cannot publish the good ones twice.
    """
    stripped = body.strip()
    if not stripped:
        raise InvalidAlertError("invalid_json", "body: empty; expected a Falco alert as JSON")
    try:
        document = loads_json(stripped)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":  # a second JSON value after the first: NDJSON
            raise InvalidAlertError("invalid_json", f"body: not valid JSON: {exc}") from None
        return _parse_ndjson(stripped, max_alerts)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidAlertError("invalid_json", f"body: not valid JSON: {exc}") from None
    if not isinstance(document, list):
        return [_validated(document, stripped, "body")]
    if not document:
        raise InvalidAlertError("invalid_alert", "body: an empty JSON array holds no alert")
    _check_count(len(document), max_alerts)
    # Elements are re-encoded: the same JSON value, integers exact, unknown keys kept.
    return [
        _validated(item, json.dumps(item, ensure_ascii=False).encode(), f"alert [{i}]")
        for i, item in enumerate(document)
    ]


def _parse_ndjson(body: bytes, max_alerts: int) -> list[IncomingAlert]:
    lines = [(n, line.strip()) for n, line in enumerate(body.split(b"\n"), start=1)]
    lines = [(n, line) for n, line in lines if line]
    _check_count(len(lines), max_alerts)
    return [_validated(_decoded(line, f"line {n}"), line, f"line {n}") for n, line in lines]
