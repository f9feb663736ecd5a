import base64
import json
from datetime import UTC, datetime

import pytest

from localdev.local_stack.fixtures import fixture
from shared.alert import parse_alert
from shared.envelope import (
    alert_attributes,
    clip,
    dead_letter_attributes,
    message_from_event_data,
)
from shared.errors import PermanentError


def test_attributes_of_a_pod_alert():
    alert = parse_alert(json.dumps(fixture("terminal_shell_in_container")))
    assert alert_attributes(alert) == {
        "alert_id": "5b1b0c6a-8a9b-4a63-9d1e-2f5d2a7c9e11",
        "rule": "Terminal shell in container",
        "priority": "Critical",
        "source": "syscall",
        "hostname": "falco-xczjd",
        "k8s_ns": "default",
        "k8s_pod": "kubecon",
    }


def test_attributes_leave_out_what_is_absent():
    alert = parse_alert(json.dumps(fixture("host_process_no_k8s")))
    assert "k8s_ns" not in alert_attributes(alert)
    assert "k8s_pod" not in alert_attributes(alert)


def test_attribute_values_are_cut_to_the_pubsub_limit_on_a_character_boundary():
    alert = parse_alert(json.dumps({**fixture("sidekick_test_event"), "rule": "é" * 600}))
    value = alert_attributes(alert)["rule"]
    assert len(value.encode()) <= 1024
    assert value == "é" * 512
    assert clip("abc", 2) == "ab"


def test_dead_letter_attributes_keep_the_original_ones():
    attributes = dead_letter_attributes(
        {"alert_id": "a1", "rule": "r"},
        "invalid_json",
        "not valid JSON",
        datetime(2026, 11, 27, 5, 0, 1, 250000, tzinfo=UTC),
    )
    assert attributes == {
        "alert_id": "a1",
        "rule": "r",
        "error_reason": "invalid_json",
        "error_detail": "not valid JSON",
        "failed_at": "2026-11-27T05:00:01.250Z",
    }


def test_message_from_pubsub_cloud_event_data():
    data = {
        "message": {
            "data": base64.b64encode(b"hello").decode(),
            "attributes": {"a": "1"},
            "messageId": "42",
        },
        "subscription": "projects/p/subscriptions/s",
    }
    message = message_from_event_data(data)
    assert (message.data, message.attributes, message.message_id) == (b"hello", {"a": "1"}, "42")


def test_message_without_attributes():
    message = message_from_event_data({"message": {"data": "aGk=", "messageId": "1"}})
    assert (message.data, message.attributes) == (b"hi", {})


@pytest.mark.parametrize(
    "data",
    [
        None,
        "text",
        {"no": "message"},
        {"message": {"data": "%%%"}},
        {"message": {"data": "aGk=", "attributes": ["x"]}},
    ],
)
def test_event_data_that_is_not_a_pubsub_message_is_permanent(data):
    with pytest.raises(PermanentError) as caught:
        message_from_event_data(data)
    assert caught.value.reason == "invalid_message"
