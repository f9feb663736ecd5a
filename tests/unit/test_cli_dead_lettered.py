import json
from datetime import UTC, datetime

from falco_responder_cli.dead_lettered import (
    DELIVERY_ATTEMPTS_EXHAUSTED,
    REPLAY_COUNT,
    UNKNOWN_REASON,
    reason_of,
    replay_count_of,
    republish_attributes,
    rule_of,
)
from localdev.local_stack.fixtures import fixture
from shared.envelope import ERROR_DETAIL, ERROR_REASON, FAILED_AT, dead_letter_attributes

ORIGINAL = {"alert_id": "a1", "rule": "Terminal shell in container", "priority": "Critical"}
PUBSUB_BOOKKEEPING = {
    "CloudPubSubDeadLetterSourceDeliveryCount": "5",
    "CloudPubSubDeadLetterSourceSubscription": "falco-alerts-responder",
    "CloudPubSubDeadLetterSourceSubscriptionProject": "p",
    "CloudPubSubDeadLetterSourceTopicPublishTime": "2026-11-20T08:15:30.500Z",
}


def _dead_lettered(**extra):
    moment = datetime(2026, 11, 20, tzinfo=UTC)
    return {**dead_letter_attributes(ORIGINAL, "kube_error", "API said 500", moment), **extra}


def test_republish_keeps_the_original_attributes_and_drops_the_bookkeeping():
    attributes = republish_attributes({**_dead_lettered(), **PUBSUB_BOOKKEEPING})
    assert attributes == {**ORIGINAL, REPLAY_COUNT: "1"}
    assert not {ERROR_REASON, ERROR_DETAIL, FAILED_AT} & attributes.keys()


def test_each_replay_counts_one_more():
    assert republish_attributes(_dead_lettered(replay_count="2"))[REPLAY_COUNT] == "3"


def test_a_replay_count_that_is_not_a_count_is_zero():
    assert replay_count_of({REPLAY_COUNT: "many"}) == 0
    assert replay_count_of({REPLAY_COUNT: "-4"}) == 0
    assert replay_count_of({}) == 0
    assert replay_count_of({REPLAY_COUNT: "3"}) == 3


def test_reason_is_the_responders_else_pubsubs_else_unknown():
    assert reason_of(_dead_lettered()) == "kube_error"
    assert reason_of({**ORIGINAL, **PUBSUB_BOOKKEEPING}) == DELIVERY_ATTEMPTS_EXHAUSTED
    assert reason_of(ORIGINAL) == UNKNOWN_REASON


def test_rule_comes_from_the_attribute_else_from_the_alert():
    data = json.dumps(fixture("host_process_no_k8s")).encode()
    assert rule_of(data, {"rule": "From attribute"}) == "From attribute"
    assert rule_of(data, {}) == "Read sensitive file untrusted"


def test_data_that_failed_to_parse_has_no_rule():
    assert rule_of(b"{not json", {}) is None
    assert rule_of(b"[1, 2]", {}) is None
    assert rule_of(b'{"rule": 7}', {}) is None
    assert rule_of(b"\xff\xfe", {}) is None
