import json
from datetime import UTC, datetime

import pytest

from falco_responder_cli.sample_alerts import SAMPLE_ALERTS as FIXTURES
from falco_responder_cli.sample_alerts import sample_alert as fixture
from shared.alert import MAX_RULE_CHARS, PodRef, Priority, content_id, parse_alert, parse_time
from shared.errors import InvalidAlertError


def _bytes(document: dict) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_every_real_fixture_parses(path):
    alert = parse_alert(path.read_bytes())
    assert alert.rule
    assert alert.time.tzinfo is not None


def test_shell_fixture_fields():
    alert = parse_alert(_bytes(fixture("terminal_shell_in_container")))
    assert alert.alert_id == "5b1b0c6a-8a9b-4a63-9d1e-2f5d2a7c9e11"
    assert alert.priority is Priority.CRITICAL
    assert alert.pod == PodRef("default", "kubecon", None)
    assert alert.time == datetime(2023, 5, 25, 13, 44, 5, 478445, tzinfo=UTC)


def test_pod_uid_is_read_when_the_rule_outputs_it():
    alert = parse_alert(_bytes(fixture("falco_041_container_plugin")))
    assert alert.pod == PodRef(
        "shop", "web-7d9c5b6f8-x2x4z", "8f2d6c1e-33b1-4f4a-9a0e-6a1c7f0b2d55"
    )


def test_host_process_has_no_pod():
    assert parse_alert(_bytes(fixture("host_process_no_k8s"))).pod is None


@pytest.mark.parametrize("value", [None, "", "<NA>"])
def test_missing_pod_values_mean_no_pod(value):
    document = fixture("terminal_shell_in_container")
    document["output_fields"]["k8s.pod.name"] = value
    assert parse_alert(_bytes(document)).pod is None


@pytest.mark.parametrize("key", ["k8s.ns.name", "k8s.pod.name", "k8s.node.name", "k8s.pod.uid"])
@pytest.mark.parametrize(("value", "shown"), [(7, "int '7'"), (["web"], "list '[\"web\"]'")])
def test_a_kubernetes_field_that_is_not_text_is_an_invalid_alert_not_a_missing_pod(
    key, value, shown
):
    # Read as "no pod", the alert would be skipped: said plainly and dead-lettered instead.
    document = fixture("terminal_shell_in_container")
    document["output_fields"][key] = value
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(_bytes(document))
    assert caught.value.reason == "invalid_alert"
    assert caught.value.detail == (
        f"field 'output_fields.{key}': {shown} is not text (Falco prints it as a string)"
    )


def test_pod_fields_absent_mean_no_pod():
    document = fixture("terminal_shell_in_container")
    del document["output_fields"]["k8s.ns.name"]
    assert parse_alert(_bytes(document)).pod is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("critical", Priority.CRITICAL),
        ("WARNING", Priority.WARNING),
        ("info", Priority.INFORMATIONAL),
        ("Informational", Priority.INFORMATIONAL),
        ("emergency", Priority.EMERGENCY),
    ],
)
def test_priority_in_any_case(text, expected):
    document = fixture("sidekick_test_event")
    document["priority"] = text
    assert parse_alert(_bytes(document)).priority is expected


def test_priorities_compare_in_falco_order():
    assert Priority.DEBUG < Priority.INFORMATIONAL < Priority.NOTICE < Priority.WARNING
    assert (
        Priority.WARNING < Priority.ERROR < Priority.CRITICAL < Priority.ALERT < Priority.EMERGENCY
    )


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2026-11-20T08:15:30Z", 0),
        ("2026-11-20T08:15:30.5Z", 500000),
        ("2026-11-20T08:15:30.123456Z", 123456),
        ("2026-11-20T08:15:30.123456789Z", 123456),
        ("2026-11-20T08:15:30.1234567Z", 123456),
    ],
)
def test_time_with_zero_to_nine_fraction_digits(text, micros):
    parsed = parse_time(text)
    assert parsed == datetime(2026, 11, 20, 8, 15, 30, micros, tzinfo=UTC)


def test_time_with_offset_is_converted_to_utc():
    assert parse_time("2026-11-20T10:15:30+02:00") == datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)


def test_integers_above_2_to_the_53_stay_exact():
    raw = (
        b'{"output":"o","priority":"Notice","rule":"r","time":"2026-11-20T08:15:30Z",'
        b'"output_fields":{"evt.time":1795162530500000001}}'
    )
    assert parse_alert(raw).output_fields["evt.time"] == 1795162530500000001


def test_unknown_keys_are_kept():
    document = {**fixture("sidekick_test_event"), "cluster_info": {"name": "prod"}}
    alert = parse_alert(_bytes(document))
    assert alert.model_extra == {"cluster_info": {"name": "prod"}}


def test_optional_keys_may_be_absent():
    document = {
        "output": "o",
        "priority": "Notice",
        "rule": "r",
        "time": "2026-11-20T08:15:30Z",
        "output_fields": {"k8s.ns.name": None},
    }
    alert = parse_alert(_bytes(document))
    assert (alert.uuid, alert.source, alert.hostname, alert.tags) == (None, None, None, [])


def test_alert_id_without_uuid_is_a_stable_content_hash():
    document = fixture("host_process_no_k8s")
    first = parse_alert(_bytes(document)).alert_id
    # Same content, other key order and spacing: the same alert.
    reordered = json.dumps(dict(reversed(list(document.items()))), indent=2).encode()
    assert parse_alert(reordered).alert_id == first == content_id(document)
    document["output_fields"]["proc.name"] = "other"
    assert parse_alert(_bytes(document)).alert_id != first


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"priority": "Severe"}, "field 'priority': unknown priority 'Severe'"),
        ({"priority": 5}, "field 'priority': expected a priority name, got int"),
        ({"time": "yesterday"}, "field 'time': 'yesterday' is not an RFC 3339 time"),
        (
            {"time": "2026-13-40T08:15:30Z"},
            "field 'time': '2026-13-40T08:15:30Z' is not a valid time",
        ),
        ({"rule": ""}, "field 'rule': String should have at least 1 character"),
        ({"rule": None}, "field 'rule': Input should be a valid string"),
        ({"output_fields": []}, "field 'output_fields': Input should be a valid dictionary"),
        ({"tags": "shell"}, "field 'tags': Input should be a valid list"),
    ],
)
def test_invalid_alert_names_the_field(change, message):
    document = {**fixture("terminal_shell_in_container"), **change}
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(_bytes(document))
    assert caught.value.reason == "invalid_alert"
    assert message in caught.value.detail


@pytest.mark.parametrize(
    "change",
    [
        {"priority": "p" * 1_000_000},
        {"time": "t" * 1_000_000},
        {"uuid": "u" * 1_000_000},
        # Each a fault of its own; long enough apiece to pay for itself in the parse price.
        {"tags": [10**15] * 50_000},
    ],
    ids=["priority", "time", "uuid", "tags"],
)
def test_an_error_quotes_and_lists_a_bounded_part_of_the_alert(change):
    document = {**fixture("terminal_shell_in_container"), **change}
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(_bytes(document))
    # The detail goes into log lines, the dead letter's attributes and ingest's answer.
    assert len(caught.value.detail) < 1000
    assert "characters)" in caught.value.detail or "more" in caught.value.detail


def test_missing_required_field_is_named():
    document = fixture("terminal_shell_in_container")
    del document["rule"]
    with pytest.raises(InvalidAlertError, match="field 'rule': Field required"):
        parse_alert(_bytes(document))


@pytest.mark.parametrize("raw", [b"not json", b'{"rule": ', b"\xff\xfe", b'{"a": NaN}'])
def test_invalid_json_is_its_own_reason(raw):
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(raw)
    assert caught.value.reason == "invalid_json"


def test_a_json_value_that_is_not_an_object_is_invalid():
    with pytest.raises(InvalidAlertError, match="expected a JSON object, got list"):
        parse_alert(b"[1, 2]")


@pytest.mark.parametrize("time", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_time_out_of_range_is_invalid_not_a_crash(time):
    with pytest.raises(InvalidAlertError, match=r"field 'time'.*is not a valid time"):
        parse_alert(json.dumps({**fixture("sidekick_test_event"), "time": time}))


def test_json_nested_too_deeply_is_invalid_not_a_crash():
    with pytest.raises(InvalidAlertError, match="nested too deeply") as caught:
        # Padded with spaces so that its size pays for its 100,000 arrays.
        parse_alert(b"[" * 100_000 + b" " * 4_000_000 + b"]" * 100_000)
    assert caught.value.reason == "invalid_json"


# Names that go into API paths: Kubernetes' own rules, cases from upstream's
# validation_test.go (TestIsDNS1123Label, TestIsDNS1123Subdomain) and the paths.
BAD_NAMES = [".", "..", "x/", "a/../b", "%2F..%2Fsecrets", "A", "Web-1", "-a", "a-", "a_b", "a b"]


@pytest.mark.parametrize("name", [*BAD_NAMES, "a" * 254, "a..b", "a."])
def test_a_pod_name_kubernetes_would_not_accept_is_an_invalid_alert(name):
    document = fixture("terminal_shell_in_container")
    document["output_fields"]["k8s.pod.name"] = name
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(_bytes(document))
    assert caught.value.reason == "invalid_alert"
    assert caught.value.detail.startswith("field 'output_fields.k8s.pod.name': ")


@pytest.mark.parametrize("name", [*BAD_NAMES, "a" * 64, "a.b"])
def test_a_namespace_that_is_no_dns_label_is_an_invalid_alert(name):
    document = fixture("terminal_shell_in_container")
    document["output_fields"]["k8s.ns.name"] = name
    with pytest.raises(InvalidAlertError, match=r"field 'output_fields\.k8s\.ns\.name': "):
        parse_alert(_bytes(document))


def test_a_node_name_is_checked_as_a_subdomain():
    document = fixture("terminal_shell_in_container")
    document["output_fields"]["k8s.node.name"] = "../nodes"
    with pytest.raises(InvalidAlertError, match=r"field 'output_fields\.k8s\.node\.name': "):
        parse_alert(_bytes(document))


@pytest.mark.parametrize(
    ("namespace", "pod"),
    [("a" * 63, "a" * 253), ("0", "1"), ("kube-system", "web-7d9c5b6f8-x2x4z"), ("a-b", "a.b-c")],
)
def test_names_kubernetes_accepts_are_kept(namespace, pod):
    document = fixture("terminal_shell_in_container")
    document["output_fields"].update({"k8s.ns.name": namespace, "k8s.pod.name": pod})
    assert parse_alert(_bytes(document)).pod == PodRef(namespace, pod, None)


@pytest.mark.parametrize("uuid", ["..", ".", "../../x", "a/b", "x" * 129, "é", "a b", "-x"])
def test_an_alert_id_that_is_no_path_segment_is_an_invalid_alert(uuid):
    document = fixture("terminal_shell_in_container")
    document["uuid"] = uuid
    with pytest.raises(InvalidAlertError, match="field 'uuid': "):
        parse_alert(_bytes(document))


def test_a_rule_name_is_bounded():
    document = fixture("terminal_shell_in_container")
    document["rule"] = "r" * (MAX_RULE_CHARS + 1)
    with pytest.raises(InvalidAlertError, match="field 'rule'"):
        parse_alert(_bytes(document))
    document["rule"] = "r" * MAX_RULE_CHARS
    assert parse_alert(_bytes(document)).rule == document["rule"]
