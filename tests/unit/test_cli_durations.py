from datetime import UTC, datetime, timedelta

import click
import pytest

from falco_responder_cli.durations import Duration, Rfc3339
from shared.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_durations_are_number_unit_pairs(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "m", "2 h", "1.5h", "-2h", "2y", "h2"])
def test_anything_else_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match="not a duration like 30m, 2h, 7d"):
        parse_duration(text)


def test_a_zero_duration_is_refused():
    with pytest.raises(ValueError, match="more than zero"):
        parse_duration("0m")


def test_the_click_types_report_bad_values_as_usage_errors():
    with pytest.raises(click.BadParameter, match="not a duration"):
        Duration().convert("soon", None, None)
    with pytest.raises(click.BadParameter, match="not an RFC 3339 time"):
        Rfc3339().convert("yesterday", None, None)


def test_rfc3339_times_are_utc_like_falcos():
    assert Rfc3339().convert("2026-11-20T09:15:30.5+01:00", None, None) == datetime(
        2026, 11, 20, 8, 15, 30, 500000, tzinfo=UTC
    )
