"""What parsing may cost: the strict parser's bounds on memory and on what it accepts."""

import json
import tracemalloc

import pytest

from shared.alert import loads_json, parse_alert
from shared.errors import InvalidAlertError
from tests.conftest import shell_alert

BODY = 4 * 1024 * 1024
# The bound docs/functions.md states: parsing never holds more than this many times the body.
MEMORY_PER_BODY_BYTE = 14


def _fill(item: bytes, size: int = BODY) -> bytes:
    """A JSON array of `item` repeated to about `size` bytes."""
    return b"[" + b",".join([item] * (size // (len(item) + 1))) + b"]"


def _peak(body: bytes) -> int:
    tracemalloc.start()
    try:
        loads_json(body)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# The densest shapes the price check lets through: each value padded just enough.
CHEAPEST_ACCEPTED = {
    "short strings": b'"abcdefghi"',
    "floats": b"1.5123456789",
    "empty objects": b"{}" + b" " * 49,
    "one-key objects": b'{"abcde":0}' + b" " * 50,
    "empty arrays": b"[]" + b" " * 49,
    "non-ASCII strings": '"\U0001f600abcd"'.encode(),
}


@pytest.mark.parametrize("item", CHEAPEST_ACCEPTED.values(), ids=CHEAPEST_ACCEPTED.keys())
def test_parse_memory_is_bounded_by_the_body(item):
    body = _fill(item)
    assert _peak(body) <= MEMORY_PER_BODY_BYTE * len(body)


@pytest.mark.parametrize("item", [b"{}", b"[]", b'{"a":0}', b'"ab"', b"1.5", b"1000"])
def test_dense_small_values_are_refused_before_parsing(item):
    with pytest.raises(ValueError, match="too many small values"):
        loads_json(_fill(item))


def test_a_body_of_real_alerts_is_never_refused_for_its_shape():
    body = json.dumps([shell_alert(f"web-{i}") for i in range(500)]).encode()
    assert len(loads_json(body)) == 500
    assert loads_json(b'{"a":[],"b":{},"c":[1,2,3]}')  # small documents: any shape


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":"\\ud800"}', "string at a holds a lone surrogate \\\\ud800"),
        (b'{"a":{"b":["x","\\udfff"]}}', r"string at a.b\[1\] holds a lone surrogate"),
        (b'{"\\udc00":1}', "key .* holds a lone surrogate"),
        (b'"\xed\xa0\x80"', "not UTF-8 .* byte 0xed at offset 1"),
        (b'{"a":"\xff"}', "not UTF-8 .* byte 0xff at offset 6"),
        ('{"a":1}'.encode("utf-16"), "UTF-16 or UTF-32"),
        ('{"a":1}'.encode("utf-32-le"), "UTF-16 or UTF-32"),
        (b"[1e400]", "number 1e400 is out of range"),
        (b'{"a":-1e999}', "number -1e999 is out of range"),
        (b"[NaN]", "NaN is not valid JSON"),
    ],
)
def test_text_the_responder_could_not_publish_or_log_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        loads_json(data)


def test_a_surrogate_pair_escape_is_one_character():
    assert loads_json(b'"\\ud83d\\ude00"') == "\U0001f600"


def test_lone_surrogate_in_a_pod_name_is_invalid_json():
    alert = shell_alert("web")
    alert["output_fields"]["k8s.pod.name"] = "web\ud800"
    data = json.dumps(alert).encode()  # ensure_ascii: the surrogate goes out as \ud800
    with pytest.raises(InvalidAlertError) as caught:
        parse_alert(data)
    assert caught.value.reason == "invalid_json"
    assert "output_fields.k8s.pod.name" in caught.value.detail
