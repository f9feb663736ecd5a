import json

import pytest

from ingest.batch import BatchTooLargeError, parse_batch
from localdev.local_stack.fixtures import fixture
from shared.errors import InvalidAlertError

SHELL = fixture("terminal_shell_in_container")
HOST = fixture("host_process_no_k8s")


def test_one_alert_is_published_as_received():
    body = json.dumps(SHELL, indent=2).encode()
    [item] = parse_batch(body, max_alerts=10)
    assert item.data == body.strip()
    assert item.alert.alert_id == SHELL["uuid"]


def test_json_array_gives_each_alert():
    items = parse_batch(json.dumps([SHELL, HOST]).encode(), max_alerts=10)
    assert [i.alert.rule for i in items] == [SHELL["rule"], HOST["rule"]]
    assert json.loads(items[1].data) == HOST


def test_ndjson_gives_each_line_as_received():
    lines = [json.dumps(SHELL).encode(), json.dumps(HOST).encode()]
    items = parse_batch(b"\n".join(lines) + b"\n\n", max_alerts=10)
    assert [i.data for i in items] == lines


def test_big_integers_survive_an_array():
    body = (
        b'[{"output":"o","priority":"Notice","rule":"r","time":"2026-11-20T08:15:30Z",'
        b'"output_fields":{"evt.time":18446744073709551615}}]'
    )
    [item] = parse_batch(body, max_alerts=10)
    assert b"18446744073709551615" in item.data


def test_one_bad_alert_rejects_the_whole_array_and_names_it():
    bad = {**HOST, "priority": "Severe"}
    with pytest.raises(InvalidAlertError, match=r"alert \[1\]: field 'priority'"):
        parse_batch(json.dumps([SHELL, bad]).encode(), max_alerts=10)


def test_bad_ndjson_line_is_named_by_number():
    body = json.dumps(SHELL).encode() + b"\n" + b'{"rule": "x"'
    with pytest.raises(InvalidAlertError, match=r"line 2: not valid JSON") as caught:
        parse_batch(body, max_alerts=10)
    assert caught.value.reason == "invalid_json"


def test_malformed_single_body_says_where():
    with pytest.raises(InvalidAlertError, match=r"body: not valid JSON: .*line 1 column"):
        parse_batch(b'{"rule": "x", ', max_alerts=10)


@pytest.mark.parametrize("body", [b"", b"  \n", b"[]"])
def test_empty_bodies_are_rejected(body):
    with pytest.raises(InvalidAlertError, match="body: "):
        parse_batch(body, max_alerts=10)


def test_too_many_alerts_is_its_own_error():
    with pytest.raises(BatchTooLargeError, match="3 alerts in one request; the limit is 2"):
        parse_batch(json.dumps([SHELL, HOST, SHELL]).encode(), max_alerts=2)
    with pytest.raises(BatchTooLargeError):
        parse_batch(b"\n".join([json.dumps(SHELL).encode()] * 3), max_alerts=2)
