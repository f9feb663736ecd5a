"""Publish requests stay within Pub/Sub's limits: never refused for their size alone."""

from shared.pubsub import (
    MAX_BYTES_PER_REQUEST,
    MAX_MESSAGES_PER_REQUEST,
    Message,
    requests_within_limits,
)


def _messages(count: int, size: int = 10) -> list[Message]:
    return [(str(i).encode().ljust(size, b"x"), {"alert_id": str(i)}) for i in range(count)]


def test_a_request_carries_every_message_while_under_the_limits():
    messages = _messages(500)
    assert list(requests_within_limits(messages)) == [messages]


def test_more_messages_than_a_request_may_hold_are_split_in_order():
    messages = _messages(2 * MAX_MESSAGES_PER_REQUEST + 1)
    chunks = list(requests_within_limits(messages))
    assert [len(c) for c in chunks] == [MAX_MESSAGES_PER_REQUEST, MAX_MESSAGES_PER_REQUEST, 1]
    assert [m for chunk in chunks for m in chunk] == messages


def test_requests_are_split_before_the_byte_limit():
    size = 3_000_000  # three fit in 10 MB, four do not
    messages = _messages(7, size)
    chunks = list(requests_within_limits(messages))
    assert [len(c) for c in chunks] == [3, 3, 1]
    for chunk in chunks:
        assert sum(len(data) for data, _ in chunk) < MAX_BYTES_PER_REQUEST


def test_a_message_over_the_limit_goes_alone_for_pubsub_to_refuse():
    huge = _messages(1, MAX_BYTES_PER_REQUEST + 1)
    messages = [*_messages(2), *huge, *_messages(2)]
    chunks = list(requests_within_limits(messages))
    assert [len(c) for c in chunks] == [2, 1, 2]


def test_no_messages_no_request():
    assert list(requests_within_limits([])) == []
