import base64
from datetime import UTC, datetime
from types import SimpleNamespace

from localdev.local_stack.push_driver import backoff_seconds, push_body


def test_the_push_body_is_pubsubs_wrapped_format():
    received = SimpleNamespace(
        message=SimpleNamespace(
            data=b"hello",
            attributes={"alert_id": "a1"},
            message_id="42",
            publish_time=datetime(2026, 11, 28, 1, 2, 3, 456000, tzinfo=UTC),
        )
    )
    assert push_body(received, "projects/p/subscriptions/s", 3) == {
        "message": {
            "data": base64.b64encode(b"hello").decode(),
            "attributes": {"alert_id": "a1"},
            "messageId": "42",
            "message_id": "42",
            "publishTime": "2026-11-28T01:02:03.456Z",
            "publish_time": "2026-11-28T01:02:03.456Z",
        },
        "subscription": "projects/p/subscriptions/s",
        "deliveryAttempt": 3,
    }


def test_backoff_doubles_within_bounds():
    assert [backoff_seconds(n, 1, 8) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
