"""The trace id of a request, so one alert can be followed from ingest to the responder.

Cloud Run puts the trace of every request in `traceparent` (W3C) and in
`X-Cloud-Trace-Context`; ingest carries it on to the responder in a message attribute.
"""

import re
from collections.abc import Mapping

# The Pub/Sub attribute ingest sets, read back by the responder.
TRACE_ATTRIBUTE = "trace_id"

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/\d+)?(?:;o=\d)?$")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def trace_id_from_headers(headers: Mapping[str, str]) -> str | None:
    """The 32-hex-digit trace id from `traceparent`, else `X-Cloud-Trace-Context`."""
    match = _TRACEPARENT.match(headers.get("traceparent", "").strip().lower())
    if match is None:
        match = _CLOUD_TRACE.match(headers.get("X-Cloud-Trace-Context", "").strip())
    if match is None or set(match.group(1)) == {"0"}:
        return None
    return match.group(1).lower()


def trace_id_from_attribute(value: str | None) -> str | None:
    """The message's trace id as ingest wrote it (32 lowercase hex digits), else None.

    Anyone who can publish may set the attribute: anything else is not a trace of ours,
    and would go into every log line of the alert as it came.
    """
    if value is None or not _TRACE_ID.fullmatch(value) or set(value) == {"0"}:
        return None
    return value
