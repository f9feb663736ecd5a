import pytest

from shared.tracing import trace_id_from_attribute, trace_id_from_headers

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "headers",
    [
        {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
        {"X-Cloud-Trace-Context": f"{TRACE}/1;o=1"},
        {"X-Cloud-Trace-Context": TRACE.upper()},
        {"traceparent": "garbage", "X-Cloud-Trace-Context": f"{TRACE}/12345"},
    ],
)
def test_trace_id_from_either_header(headers):
    assert trace_id_from_headers(headers) == TRACE


@pytest.mark.parametrize(
    "headers",
    [{}, {"traceparent": "00-xyz-00f067aa0ba902b7-01"}, {"X-Cloud-Trace-Context": "0" * 32}],
)
def test_no_trace_id(headers):
    assert trace_id_from_headers(headers) is None


def test_a_trace_attribute_as_ingest_writes_it_is_kept():
    assert trace_id_from_attribute("4bf92f3577b34da6a3ce929d0e0e4736") == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )


@pytest.mark.parametrize(
    "value",
    [None, "", "0" * 32, "4BF92F3577B34DA6A3CE929D0E0E4736", "4bf9" * 8 + "0", "x" * 300_000],
)
def test_a_trace_attribute_not_as_ingest_writes_it_is_ignored(value):
    assert trace_id_from_attribute(value) is None
