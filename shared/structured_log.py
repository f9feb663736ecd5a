"""Cloud Logging structured JSON: one line per record on stdout.

Cloud Functions forwards stdout to Cloud Logging, which reads `severity`, `message` and
`logging.googleapis.com/labels` from each JSON line and keeps every other key in
`jsonPayload`, where log-based metrics and filters find them.
"""

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

from shared import config

LABELS_KEY = "logging.googleapis.com/labels"
TRACE_KEY = "logging.googleapis.com/trace"
# Fields copied into the entry's labels, so one alert can be followed across functions.
LABEL_FIELDS = ("alert_id", "rule", "cluster", "action", "outcome")

# Cloud Logging drops an entry over 256 KB (https://cloud.google.com/logging/quotas). A
# line is kept under this, with room for what Cloud Run adds to the entry: its longest
# strings are cut, each ending in CUT_MARKER, and the entry says CUT_KEY: true.
MAX_LINE_BYTES = 200 * 1024
CUT_MARKER = "...[cut]"
CUT_KEY = "cut_to_fit"
# Strings this short are never cut (ids, outcomes, severities, what metrics extract).
_NEVER_CUT_CHARS = 128

_FIELDS_ATTR = "structured_fields"
_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)


@contextlib.contextmanager
def bind_trace(trace_id: str | None) -> Iterator[None]:
    """Every record logged inside carries this trace id (per thread and request)."""
    token = _trace_id.set(trace_id)
    try:
        yield
    finally:
        _trace_id.reset(token)


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as one Cloud Logging JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, _FIELDS_ATTR, {})
        entry: dict[str, Any] = {
            "severity": record.levelname,
            "message": record.getMessage(),
            **fields,
        }
        labels = {k: str(fields[k]) for k in LABEL_FIELDS if fields.get(k) not in (None, "")}
        if labels:
            entry[LABELS_KEY] = labels
        trace_id = _trace_id.get()
        if trace_id:
            project = config.env(config.GOOGLE_CLOUD_PROJECT, "")
            entry[TRACE_KEY] = f"projects/{project}/traces/{trace_id}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        entry.setdefault("logger", record.name)
        return _bounded_line(entry)


def _dumps(entry: dict[str, Any]) -> str:
    return json.dumps(entry, default=str, ensure_ascii=False)


def _cut(value: Any, limit: int) -> Any:
    """`value` with every string longer than `limit` characters cut to it, marked."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + CUT_MARKER
    if isinstance(value, dict):
        return {key: _cut(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(item, limit) for item in value]
    return value


def _bounded_line(entry: dict[str, Any]) -> str:
    """The entry as one JSON line of at most MAX_LINE_BYTES.

    Strings are cut to ever shorter lengths until the line fits; should a line still not
    fit (too many fields), only its severity, message, labels and trace are kept.
    """
    line = _dumps(entry)
    limit = MAX_LINE_BYTES
    while len(line.encode()) > MAX_LINE_BYTES and limit > _NEVER_CUT_CHARS:
        limit = max(limit // 4, _NEVER_CUT_CHARS)
        line = _dumps({**_cut(json.loads(line), limit), CUT_KEY: True})
    if len(line.encode()) <= MAX_LINE_BYTES:
        return line
    kept = ("severity", "message", "logger", LABELS_KEY, TRACE_KEY)
    return _dumps({**_cut({k: entry[k] for k in kept if k in entry}, limit), CUT_KEY: True})


def configure() -> None:
    """Send every logger's records to stdout as JSON (idempotent)."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    root.handlers = [handler]
    root.setLevel(logging.INFO)


def log(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log `message` with structured fields that become top-level JSON keys."""
    logger.log(level, message, extra={_FIELDS_ATTR: fields})
