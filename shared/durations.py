"""Durations as people write them in policies and commands: `30m`, `2h`, `7d`, `1h30m`."""

import re
from datetime import timedelta

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
