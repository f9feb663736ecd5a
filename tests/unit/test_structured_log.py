import json
import logging

from shared.structured_log import CloudLoggingFormatter, bind_trace, log


def _format(level: int, message: str, **fields) -> dict:
    logger = logging.getLogger("test")
    logger.setLevel(logging.DEBUG)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        log(logger, level, message, **fields)
    finally:
        logger.removeHandler(handler)
    return json.loads(CloudLoggingFormatter().format(records[0]))


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
