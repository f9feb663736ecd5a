"""Ages and times typed by operators, as click parameters: `30m`, `2h`, or RFC 3339."""

from datetime import datetime, timedelta

import click

from shared.alert import parse_time
from shared.durations import parse_duration


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
