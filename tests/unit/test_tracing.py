import pytest

from shared.tracing import trace_id_from_headers

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
