"""HTTP function `ingest`: Falcosidekick's webhook output in, Pub/Sub messages out."""

import json
import logging

import flask
import functions_framework
from werkzeug.exceptions import RequestEntityTooLarge

from ingest.auth import token_configured
from ingest.service import BodyTooLargeError, Settings, handle
from shared import config, structured_log

structured_log.configure()
SETTINGS = Settings.from_env()
if not token_configured():
    structured_log.log(
        logging.getLogger("falco_responder.ingest"),
        logging.WARNING,
        f"neither {config.INGEST_TOKEN} nor {config.INGEST_TOKEN_SECRET} is set: "
        "every request is accepted, so only Cloud Run IAM keeps senders out",
    )


@functions_framework.http
def ingest(request: flask.Request) -> flask.Response:
    """POST one alert, a JSON array of alerts or NDJSON; see DESIGN.md for the answers."""
    request.max_content_length = SETTINGS.max_body_bytes

    def read_body() -> bytes:
        try:
            return request.get_data(cache=False)
        except RequestEntityTooLarge:
            raise BodyTooLargeError from None

    reply = handle(
        request.method,
        request.headers.get("Authorization"),
        request.mimetype,
        read_body,
        SETTINGS,
    )
    return flask.Response(
        json.dumps(reply.body), reply.status, reply.headers, mimetype="application/json"
    )
