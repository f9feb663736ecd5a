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
        return json.dumps(entry, default=str, ensure_ascii=False)


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
