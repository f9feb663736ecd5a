"""Ages and times typed by operators: `30m`, `2h`, `7d`, `1h30m`, or RFC 3339."""

import re
from datetime import datetime, timedelta

import click

from shared.alert import parse_time

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"^(?:\d+[smhdw])+$")


def parse_duration(text: str) -> timedelta:
    """A positive duration from number-unit pairs (s, m, h, d, w), e.g. `30m` or `1h30m`."""
    compact = text.strip().lower()
    if not _WHOLE.match(compact):
        raise ValueError(f"{text!r} is not a duration like 30m, 2h, 7d or 1h30m")
    duration = sum(
        (timedelta(**{_UNITS[unit]: int(amount)}) for amount, unit in _PART.findall(compact)),
        timedelta(),
    )
    if duration <= timedelta():
        raise ValueError(f"{text!r}: a duration must be more than zero")
    return duration


class Duration(click.ParamType):
    """A click parameter parsed by `parse_duration`."""

    name = "duration"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Rfc3339(click.ParamType):
    """A click parameter for an RFC 3339 time (`2026-11-20T08:15:30Z`), as Falco writes them."""

    name = "rfc3339"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
