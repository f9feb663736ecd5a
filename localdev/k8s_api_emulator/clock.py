"""Timestamps in the API's wire format: RFC 3339, UTC, whole seconds (``metav1.Time``)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(value: datetime | str) -> str:
    """Accept a datetime or an RFC 3339 string and return the canonical wire form."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_time(value)
