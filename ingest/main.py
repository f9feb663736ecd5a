"""HTTP function `ingest`: Falcosidekick's webhook output in, Pub/Sub messages out."""

import json
import logging

import flask
import functions_framework

from ingest.auth import token_configured
from ingest.service import BodyTooLargeError, Settings, handle
from shared import config, structured_log
from shared.tracing import trace_id_from_headers

structured_log.configure()
SETTINGS = Settings.from_env()
if not token_configured():
    structured_log.log(
        logging.getLogger("falco_responder.ingest"),
        logging.WARNING,
        f"neither {config.INGEST_TOKEN} nor {config.INGEST_TOKEN_SECRET} is set: "
        "every request is accepted, so only Cloud Run IAM keeps senders out",
    )


def _bounded_body(request: flask.Request, limit: int) -> bytes:
    """The body, or BodyTooLargeError past `limit` bytes (declared or actually sent).

    Read by hand rather than with Flask's max_content_length: functions-framework reads
    the body again after every request, and would turn that limit into a 500.
    """
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLargeError
    chunks, size = [], 0
    while chunk := request.stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """POST one alert, a JSON array of alerts or NDJSON (answers: docs/architecture.md)."""
    trace_id = trace_id_from_headers(request.headers)
    with structured_log.bind_trace(trace_id):
        reply = handle(
            request.method,
            request.headers.get("Authorization"),
            request.mimetype,
            lambda: _bounded_body(request, SETTINGS.max_body_bytes),
            SETTINGS,
            trace_id,
        )
    return flask.Response(
        json.dumps(reply.body), reply.status, reply.headers, mimetype="application/json"
    )
