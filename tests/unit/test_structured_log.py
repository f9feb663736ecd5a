import json
import logging
from collections.abc import Callable

import pytest

from responder import outcome
from responder.outcome import ActionResult, Decision, Outcome, OutcomeRecord
from shared.alert import MAX_RULE_CHARS
from shared.structured_log import (
    CUT_KEY,
    CUT_MARKER,
    MAX_LINE_BYTES,
    CloudLoggingFormatter,
    bind_trace,
    log,
)


def _line_of(logger: logging.Logger, write: Callable[[], None]) -> str:
    """The line the one record `write` logs to `logger` is formatted as."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        write()
    finally:
        logger.removeHandler(handler)
    return CloudLoggingFormatter().format(records[0])


def _line(level: int, message: str, **fields) -> str:
    logger = logging.getLogger("test")
    logger.setLevel(logging.DEBUG)
    return _line_of(logger, lambda: log(logger, level, message, **fields))


def _format(level: int, message: str, **fields) -> dict:
    return json.loads(_line(level, message, **fields))


def test_a_record_is_one_cloud_logging_json_line():
    entry = _format(logging.WARNING, "hello", alert_id="a1", rule="r", decision="act", count=2)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert (entry["decision"], entry["count"]) == ("act", 2)
    assert entry["logging.googleapis.com/labels"] == {"alert_id": "a1", "rule": "r"}


def test_no_labels_when_there_is_nothing_to_label():
    assert "logging.googleapis.com/labels" not in _format(logging.INFO, "plain")


def test_records_inside_bind_trace_carry_the_trace(monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "proj")
    with bind_trace("4bf92f3577b34da6a3ce929d0e0e4736"):
        entry = _format(logging.INFO, "traced")
    assert entry["logging.googleapis.com/trace"] == (
        "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert "logging.googleapis.com/trace" not in _format(logging.INFO, "untraced")


def test_a_line_under_the_bound_is_not_touched():
    entry = json.loads(_line(logging.INFO, "m", reason="r" * 100_000))
    assert entry["reason"] == "r" * 100_000
    assert CUT_KEY not in entry


@pytest.mark.parametrize(
    "text",
    ["x" * 1_000_000, "\u00e9\U0001f600" * 300_000, "\x00" * 300_000],
    ids=["ascii", "multi-byte", "escaped"],
)
def test_a_long_field_is_cut_to_fit_and_says_so(text):
    line = _line(
        logging.ERROR,
        f"alert a1: {text}",
        alert_id="a1",
        outcome="dead_lettered",
        actions=[{"action": "delete_pod", "reason": text}],
    )
    assert len(line.encode()) <= MAX_LINE_BYTES
    entry = json.loads(line)
    assert entry[CUT_KEY] is True
    assert (entry["alert_id"], entry["outcome"]) == ("a1", "dead_lettered")
    assert entry["actions"][0]["reason"].endswith(CUT_MARKER)
    assert entry["message"].startswith("alert a1: ")
    assert entry["logging.googleapis.com/labels"] == {"alert_id": "a1", "outcome": "dead_lettered"}


def test_a_line_with_too_many_fields_keeps_its_severity_message_and_labels():
    fields = {f"f{n}": "v" * 200 for n in range(5000)}
    line = _line(logging.WARNING, "many fields", alert_id="a1", **fields)
    assert len(line.encode()) <= MAX_LINE_BYTES
    entry = json.loads(line)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "many fields"
    assert entry["logging.googleapis.com/labels"] == {"alert_id": "a1"}
    assert entry[CUT_KEY] is True
    assert "f0" not in entry


def test_an_outcome_line_fits_whatever_its_reasons_quote():
    """Reasons quote Kubernetes' answers and exceptions; the fields metrics read survive."""
    text = "k8s said: " + "z" * 50_000
    record = OutcomeRecord(
        alert_id="a1",
        rule="r" * MAX_RULE_CHARS,
        decision=Decision.DEAD_LETTER,
        outcome=Outcome.DEAD_LETTERED,
        reason=text * 10,
        policy_rule="shells",
        actions=[
            ActionResult(action="delete_pod", target="pod/ns/web", outcome="failed", reason=text)
        ]
        * 40,
        error_reason="kubernetes_rejected",
        event_to_outcome_seconds=1.5,
    )
    line = _line_of(outcome.logger, lambda: outcome.log_outcome(record))
    assert len(line.encode()) <= MAX_LINE_BYTES
    entry = json.loads(line)
    assert entry[CUT_KEY] is True
    assert entry["event"] == "alert_outcome"
    assert (entry["decision"], entry["outcome"]) == ("dead_letter", "dead_lettered")
    assert (entry["policy_rule"], entry["error_reason"]) == ("shells", "kubernetes_rejected")
    assert entry["event_to_outcome_seconds"] == 1.5
    assert entry["rule"] == "r" * MAX_RULE_CHARS
    assert len(entry["actions"]) == 40
    assert entry["reason"].endswith(CUT_MARKER)
