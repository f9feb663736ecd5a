"""The checks ingest makes before anything is published (publishing itself is covered
by the integration tests, against the real Pub/Sub emulator)."""

import json

import pytest

from ingest import auth
from ingest.body import BodyTooLargeError
from ingest.service import Settings, handle
from localdev.local_stack.fixtures import fixture
from shared import config
from tests.secret_manager import SecretManagerStandIn

SETTINGS = Settings(topic="falco-alerts", max_body_bytes=1000, max_alerts=2)


def _never_read() -> bytes:
    raise AssertionError("the body must not be read")


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv(config.INGEST_TOKEN, "s3cret")
    monkeypatch.delenv(config.INGEST_TOKEN_SECRET, raising=False)
    auth.secret_tokens.cache_clear()
    yield
    auth.secret_tokens.cache_clear()


def test_only_post_is_allowed():
    reply = handle("GET", "Bearer s3cret", "application/json", _never_read, SETTINGS)
    assert reply.status == 405
    assert reply.headers["Allow"] == "POST"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer wrong", "Basic s3cret", "s3cret"])
def test_bad_or_missing_token_is_401_before_the_body_is_read(header):
    reply = handle("POST", header, "application/json", _never_read, SETTINGS)
    assert reply.status == 401
    assert "bearer token" in reply.body["error"]
    assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_bearer_scheme_is_case_insensitive(monkeypatch):
    reply = handle("POST", "bearer s3cret", "text/plain", _never_read, SETTINGS)
    assert reply.status == 415


@pytest.mark.parametrize("media_type", ["", "text/plain", "application/x-www-form-urlencoded"])
def test_not_json_is_415(media_type):
    reply = handle("POST", "Bearer s3cret", media_type, _never_read, SETTINGS)
    assert reply.status == 415
    assert "Content-Type" in reply.body["error"]


def test_body_over_the_limit_is_413():
    def too_large() -> bytes:
        raise BodyTooLargeError

    reply = handle("POST", "Bearer s3cret", "application/json", too_large, SETTINGS)
    assert reply.status == 413
    assert "1000 bytes" in reply.body["error"]


def test_too_many_alerts_is_413():
    body = json.dumps([fixture("sidekick_test_event")] * 3).encode()
    reply = handle("POST", "Bearer s3cret", "application/json", lambda: body, SETTINGS)
    assert reply.status == 413
    assert "limit is 2" in reply.body["error"]


def test_invalid_alert_is_400_with_field_and_reason():
    body = json.dumps({**fixture("sidekick_test_event"), "time": "noon"}).encode()
    reply = handle("POST", "Bearer s3cret", "application/json", lambda: body, SETTINGS)
    assert reply.status == 400
    assert reply.body["reason"] == "invalid_alert"
    assert "field 'time'" in reply.body["error"]


@pytest.mark.parametrize("version", ["1", "latest"])
@pytest.mark.parametrize("why", ["down", "disabled"])
def test_unreadable_token_secret_is_503(monkeypatch, version, why):
    secrets = SecretManagerStandIn()
    secrets.add_version("projects/p/secrets/s", b"s3cret")
    secrets.down = why == "down"
    if why == "disabled":
        secrets.disable("projects/p/secrets/s", 1)
    monkeypatch.delenv(config.INGEST_TOKEN)
    monkeypatch.setenv(config.INGEST_TOKEN_SECRET, f"projects/p/secrets/s/versions/{version}")
    monkeypatch.setattr(auth, "read_secret_version", secrets.access_secret_version)
    reply = handle("POST", "Bearer s3cret", "application/json", _never_read, SETTINGS)
    assert reply.status == 503


def test_settings_reject_a_bad_limit(monkeypatch):
    monkeypatch.setenv(config.INGEST_MAX_ALERTS, "many")
    with pytest.raises(ValueError, match="INGEST_MAX_ALERTS='many': expected a positive integer"):
        Settings.from_env()
