import json
from datetime import UTC, datetime, timedelta

from falco_responder_cli.lease_marker import ForeignLease
from falco_responder_cli.pulling import Pulled
from falco_responder_cli.replay import ReplayFilter, ReplaySummary

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _message(reason="kube_error", rule="Terminal shell in container", age=timedelta(hours=1)):
    return Pulled(
        message_id="1",
        data=json.dumps({"rule": rule}).encode(),
        attributes={"error_reason": reason},
        publish_time=NOW - age,
    )


def test_an_empty_filter_takes_everything():
    assert ReplayFilter().matches(_message(), NOW)


def test_reasons_are_any_of():
    select = ReplayFilter(reasons=frozenset({"kube_error", "timeout"}))
    assert select.matches(_message("timeout"), NOW)
    assert not select.matches(_message("invalid_alert"), NOW)


def test_rules_are_globs_on_the_rule_in_the_data():
    select = ReplayFilter(rules=("Terminal shell*",))
    assert select.matches(_message(), NOW)
    assert not select.matches(_message(rule="Read sensitive file untrusted"), NOW)
    unreadable = Pulled("2", b"{not json", {"error_reason": "invalid_json"}, NOW)
    assert not select.matches(unreadable, NOW)


def test_age_bounds_are_inclusive():
    older = ReplayFilter(older_than=timedelta(hours=1))
    assert older.matches(_message(age=timedelta(hours=1)), NOW)
    assert not older.matches(_message(age=timedelta(minutes=59)), NOW)
    newer = ReplayFilter(newer_than=timedelta(hours=1))
    assert newer.matches(_message(age=timedelta(hours=1)), NOW)
    assert not newer.matches(_message(age=timedelta(hours=2)), NOW)


def test_all_conditions_must_hold():
    select = ReplayFilter(frozenset({"kube_error"}), ("Terminal*",), timedelta(minutes=30))
    assert select.matches(_message(), NOW)
    assert not select.matches(_message(age=timedelta(minutes=5)), NOW)


def test_the_summary_says_what_was_done_or_would_be():
    summary = ReplaySummary(replayed=[_message()], skipped=2)
    assert summary.line(False) == "replayed 1, skipped (filtered) 2, left (too many replays) 0"
    assert summary.line(True).startswith("would replay 1,")


def test_the_summary_counts_what_other_runs_may_hold():
    held = [
        ForeignLease(120, NOW + timedelta(seconds=30), 1),
        ForeignLease(5, NOW + timedelta(seconds=60), 2),
    ]
    summary = ReplaySummary(held_elsewhere=held)
    assert summary.line(False).endswith(
        ", not seen (held by another run until 2026-11-20T12:01:00.000Z) up to 125"
    )
