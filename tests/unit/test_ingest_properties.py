"""Properties of the alert parser and of ingest's request handling, for any input.

Any body gets a 2xx or a 4xx with a reason, never a 5xx or an exception, and whatever
ingest would publish parses in the responder as the same alert. Publishing itself is the
integration tests' (tests/integration/test_ingest_hostile.py runs these bodies through the
real function); here the messages are checked as Pub/Sub would take them.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings

from ingest import auth, service
from ingest.service import Settings, handle
from shared import config
from shared.alert import FalcoAlert, parse_alert
from shared.envelope import MAX_ATTRIBUTE_VALUE_BYTES
from shared.errors import InvalidAlertError
from tests.alert_strategies import bodies

# In a full run the session stack's Pub/Sub client threads draw from the `random` module;
# Hypothesis then blames these strategies, which use none.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
SETTINGS = Settings(topic="falco-alerts", max_body_bytes=100_000, max_alerts=2)
PROPERTIES = settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(bodies())
@PROPERTIES
def test_the_parser_returns_an_alert_or_says_why_not(body):
    try:
        alert = parse_alert(body)
    except InvalidAlertError as exc:
        assert exc.reason in {"invalid_json", "invalid_alert"}
        assert exc.detail
        return
    assert isinstance(alert, FalcoAlert)
    # Everything the responder logs or publishes about it encodes.
    alert.model_dump_json().encode()
    alert.alert_id.encode()


def _checked_publish(published: list):
    def publish_confirmed(topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> list[str]:
        for data, attributes in messages:
            data.decode("utf-8")  # Pub/Sub takes bytes; the responder strict UTF-8
            alert = parse_alert(data)  # the responder's parse: must succeed
            assert attributes["alert_id"] == alert.alert_id[:MAX_ATTRIBUTE_VALUE_BYTES]
            for value in attributes.values():
                assert len(value.encode("utf-8")) <= MAX_ATTRIBUTE_VALUE_BYTES
            published.append(data)
        return [str(i) for i in range(len(messages))]

    return publish_confirmed


@pytest.fixture
def token(monkeypatch):
    monkeypatch.setenv(config.INGEST_TOKEN, "s3cret")
    monkeypatch.delenv(config.INGEST_TOKEN_SECRET, raising=False)
    auth.secret_tokens.cache_clear()


@given(bodies())
@PROPERTIES
def test_any_body_is_accepted_whole_or_refused_with_a_reason(monkeypatch, token, body):
    published: list[bytes] = []
    monkeypatch.setattr(service, "publish_confirmed", _checked_publish(published))
    reply = handle("POST", "Bearer s3cret", "application/json", lambda: body, SETTINGS)
    assert reply.status in {202, 400, 413}, reply
    json.dumps(reply.body).encode()
    if reply.status == 202:
        assert reply.body["accepted"] == len(published) >= 1
    else:
        assert reply.body["error"] and not published
        if reply.status == 400:
            assert reply.body["reason"] in {"invalid_json", "invalid_alert"}
