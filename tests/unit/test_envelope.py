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


FAILED = datetime(2026, 11, 27, 5, 0, 1, tzinfo=UTC)


def _fits_pubsub(attributes: dict[str, str]) -> bool:
    return (
        len(attributes) <= 100
        and all(0 < len(k.encode()) <= 256 and not k.startswith("goog") for k in attributes)
        and all(len(v.encode()) <= 1024 for v in attributes.values())
    )


def test_dead_letter_attributes_fit_when_the_original_has_the_maximum():
    original = {f"extra_{i:03}": "x" for i in range(100)}
    original["alert_id"] = original.pop("extra_099")
    attributes = dead_letter_attributes(original, "invalid_alert", "bad", FAILED)
    assert _fits_pubsub(attributes)
    assert attributes["error_reason"] == "invalid_alert"
    assert attributes["alert_id"] == "x"  # ingest's attributes are kept first
    # 100 - ours (3) - the note = 96 kept, the 4 last extras dropped and named.
    assert len(attributes) == 100
    assert attributes["dropped_attributes"] == "4: extra_095, extra_096, extra_097, extra_098"


def test_dead_letter_attributes_drop_what_pubsub_would_refuse():
    original = {"k" * 300: "long key", "goog_thing": "reserved", "rule": "é" * 600}
    attributes = dead_letter_attributes(original, "invalid_json", "d" * 2000, FAILED)
    assert _fits_pubsub(attributes)
    assert attributes["rule"] == "é" * 512
    assert len(attributes["error_detail"]) == 1024
    assert attributes["dropped_attributes"] == f"2: goog_thing, {'k' * 300}"


def test_the_note_of_what_was_dropped_is_cut_to_fit():
    original = {f"{i:03}" + "k" * 200: "v" for i in range(120)}
    attributes = dead_letter_attributes(original, "invalid_json", "bad", FAILED)
    assert _fits_pubsub(attributes)
    note = attributes["dropped_attributes"]
    assert note.startswith("24: ") and note.endswith(" ...")


def test_ours_win_over_original_attributes_of_the_same_name():
    original = {"error_reason": "old", "error_detail": "old", "failed_at": "old"}
    attributes = dead_letter_attributes(original, "invalid_json", "new", FAILED)
    assert attributes == {
        "error_reason": "invalid_json",
        "error_detail": "new",
        "failed_at": "2026-11-27T05:00:01.000Z",
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
