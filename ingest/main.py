"""HTTP function `ingest`: Falcosidekick's webhook output in, Pub/Sub messages out."""

from shared.collector import collector_paused

with collector_paused():  # the libraries load
    import json
    import logging

    import flask
    import functions_framework

    from ingest.auth import start_reading_the_secret, token_configured
    from ingest.body import answer, read_body, stop_reading
    from ingest.service import Settings, handle
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
# During the cold start, not in the first request.
start_reading_the_secret()


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """POST one alert, a JSON array of alerts or NDJSON (answers: docs/architecture.md)."""
    trace_id = trace_id_from_headers(request.headers)
    with structured_log.bind_trace(trace_id):
        reply = handle(
            request.method,
            request.headers.get("Authorization"),
            request.mimetype,
            lambda: read_body(request, SETTINGS.max_body_bytes, SETTINGS.body_timeout_seconds),
            SETTINGS,
            trace_id,
        )
    if reply.status != 202:
        # The body may be unread, or still arriving: close rather than drain it.
        stop_reading(request)
    return answer(json.dumps(reply.body).encode(), reply.status, reply.headers)
