"""The last delivery attempt dead-letters a transient failure with its own reason, once;
every outcome record says how long after Falco's event it came."""

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder import handler
from responder.actions import KubeApis
from responder.handler import DEFAULT_POLICY_FILE, Responder, Settings
from responder.outcome import PROTECTED_NAMESPACE_REFUSED, Decision, Outcome
from responder.policy import load_policy, parse_policy
from shared import config
from shared.envelope import ERROR_REASON, ReceivedMessage, delivery_attempt
from shared.errors import TransientError
from tests.conftest import as_bytes, kube_api_client, shell_alert

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MAX_ATTEMPTS = 5


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": {}, "subscription": "s", "deliveryAttempt": 5}, 5),
        ({"message": {}, "subscription": "s", "deliveryAttempt": 1}, 1),
        ({"message": {}, "subscription": "s"}, None),  # no dead-letter policy, or Eventarc
        ({"deliveryAttempt": "5"}, None),
        ({"deliveryAttempt": True}, None),
        ({"deliveryAttempt": 0}, None),
        ({"deliveryAttempt": 2.5}, None),
        (["deliveryAttempt"], None),
        (None, None),  # not JSON
    ],
)
def test_the_delivery_attempt_is_read_from_the_push_body(body, expected):
    assert delivery_attempt(body) == expected


def _cannot_connect(cluster: str | None):
    raise PermissionError("the kubeconfig secret cannot be read")


def _responder(max_attempts: int | None = MAX_ATTEMPTS) -> Responder:
    settings = Settings(
        "dead",
        None,
        DEFAULT_POLICY_FILE,
        dry_run=False,
        kube_timeout=1,
        max_delivery_attempts=max_attempts,
    )
    policy = load_policy(DEFAULT_POLICY_FILE)
    return Responder(settings, policy, _cannot_connect, now=lambda: NOW)


def _message(alert: dict) -> ReceivedMessage:
    return ReceivedMessage(as_bytes(alert), {"alert_id": alert["uuid"]}, "m-1")


def _alert(pod: str = "web-1", namespace: str = "default") -> dict:
    return shell_alert(pod, namespace, time=NOW - timedelta(seconds=42))


@pytest.mark.parametrize("attempt", [None, 1, MAX_ATTEMPTS - 1])
def test_a_transient_failure_before_the_last_attempt_is_raised_for_pubsub_to_retry(
    published, attempt
):
    with pytest.raises(TransientError) as raised:
        _responder().handle(_message(_alert()), attempt)
    assert raised.value.reason == "kube_credentials_unavailable"
    assert published == []


def test_the_last_attempt_dead_letters_once_with_the_real_reason(published):
    alert = _alert()
    record = _responder().handle(_message(alert), MAX_ATTEMPTS)
    [(topic, [(data, attributes)])] = published
    assert topic == "dead"
    assert json.loads(data) == alert
    assert attributes[ERROR_REASON] == "kube_credentials_unavailable"
    assert "the kubeconfig secret cannot be read" in attributes["error_detail"]
    assert f"delivery attempt {MAX_ATTEMPTS}, the last" in attributes["error_detail"]
    assert record.decision is Decision.DEAD_LETTER
    assert record.outcome is Outcome.DEAD_LETTERED
    assert record.error_reason == "kube_credentials_unavailable"
    assert record.alert_id == alert["uuid"]


def test_a_redelivery_past_the_last_attempt_is_dead_lettered_too(published):
    # Pub/Sub's count is best effort: one more delivery is still the last one.
    _responder().handle(_message(_alert()), MAX_ATTEMPTS + 1)
    assert len(published) == 1


def test_without_the_subscriptions_maximum_pubsub_dead_letters_as_before(published):
    with pytest.raises(TransientError):
        _responder(max_attempts=None).handle(_message(_alert()), 100)
    assert published == []


def test_a_dead_letter_that_fails_on_the_last_attempt_raises_so_nothing_is_lost(monkeypatch):
    def refuse(topic, items):
        raise RuntimeError("Pub/Sub unavailable")

    monkeypatch.setattr(handler, "publish_confirmed", refuse)
    with pytest.raises(TransientError) as raised:
        _responder().handle(_message(_alert()), MAX_ATTEMPTS)
    assert raised.value.reason == "dead_letter_unpublished"


def test_the_subscriptions_maximum_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(config.PUSH_MAX_DELIVERY_ATTEMPTS, "7")
    assert Settings.from_env().max_delivery_attempts == 7
    monkeypatch.delenv(config.PUSH_MAX_DELIVERY_ATTEMPTS)
    assert Settings.from_env().max_delivery_attempts is None
    monkeypatch.setenv(config.PUSH_MAX_DELIVERY_ATTEMPTS, "0")
    with pytest.raises(ValueError, match="PUSH_MAX_DELIVERY_ATTEMPTS='0'"):
        Settings.from_env()


# Latency: from the alert's own time to the outcome.


def test_a_refusal_records_the_seconds_from_the_event_to_the_decision(published, caplog):
    caplog.set_level(logging.INFO, logger="falco_responder.responder")
    record = _responder().handle(_message(_alert(namespace="kube-system")), 1)
    assert record.decision is Decision.REFUSE
    assert record.event_to_outcome_seconds == 42.0
    lines = {
        r.structured_fields["event"]: r.structured_fields
        for r in caplog.records
        if getattr(r, "structured_fields", {}).get("event")
    }
    assert lines["alert_outcome"]["event_to_outcome_seconds"] == 42.0
    # The rail says so in a line of its own, for the alert policy to match.
    rail = lines[PROTECTED_NAMESPACE_REFUSED]
    assert (rail["namespace"], rail["pod"]) == ("kube-system", "web-1")
    assert rail["alert_id"] == record.alert_id


def test_a_dead_letter_records_the_seconds_from_the_event_too(published):
    record = _responder().handle(_message(_alert()), MAX_ATTEMPTS)
    assert record.event_to_outcome_seconds == 42.0


def test_a_message_without_an_alert_has_no_latency_and_its_line_none(published, caplog):
    caplog.set_level(logging.INFO, logger="falco_responder.responder")
    record = _responder().handle(ReceivedMessage(b"not json", {}, "m-2"), 1)
    assert record.error_reason == "invalid_json"
    assert record.event_to_outcome_seconds is None
    [line] = [r.structured_fields for r in caplog.records if hasattr(r, "structured_fields")]
    assert line["event"] == "alert_outcome"
    assert "event_to_outcome_seconds" not in line


def _label_delete_event_policy():
    rule = {
        "name": "label-then-delete",
        "match": {"rule": "Terminal shell in container"},
        "actions": [
            {"action": "label_pod", "add": {"security/suspect": "true"}},
            {"action": "delete_pod"},
            {"action": "record_event"},
        ],
    }
    return parse_policy({"rules": [rule]}, "p.yaml")


@pytest.mark.parametrize("attempt", [1, MAX_ATTEMPTS])
def test_a_transient_failure_part_way_through_keeps_what_was_done_for_the_last_attempt(
    published, attempt
):
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")  # the breaker's count; `default` is there
        emulator.create_node("node-1")
        emulator.create_pod("default", "web-1", creation_timestamp=NOW - timedelta(minutes=5))
        emulator.inject_fault(
            method="DELETE", path="/api/v1/namespaces/default/pods/web-1", status=503, count=None
        )
        settings = Settings(
            "dead",
            None,
            Path("p.yaml"),
            dry_run=False,
            kube_timeout=5,
            max_delivery_attempts=MAX_ATTEMPTS,
        )
        apis = KubeApis(kube_api_client(emulator, "t"))
        responder = Responder(
            settings, _label_delete_event_policy(), lambda c: apis, now=lambda: NOW
        )
        message = _message(_alert())
        if attempt < MAX_ATTEMPTS:
            with pytest.raises(TransientError) as raised:
                responder.handle(message, attempt)
            assert raised.value.reason == "kube_unavailable"
            assert published == []
            return
        record = responder.handle(message, attempt)
        labels = emulator.get_pod("default", "web-1")["metadata"]["labels"]
    assert labels["security/suspect"] == "true"
    # The label was put on before the delete failed: the dead letter's record says so.
    assert (record.decision, record.error_reason) == (Decision.DEAD_LETTER, "kube_unavailable")
    assert record.policy_rule == "label-then-delete"
    assert [(a.action, a.outcome) for a in record.actions] == [
        ("label_pod", "done"),
        ("delete_pod", "failed"),
        ("record_event", "skipped"),
    ]
    assert "Kubernetes answered 503" in record.actions[1].reason
    assert record.actions[2].reason == "not run: delete_pod failed"
    [(_, [(_, attributes)])] = [p for p in published if p[0] == "dead"]
    assert attributes[ERROR_REASON] == "kube_unavailable"
