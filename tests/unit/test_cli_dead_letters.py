import json
from datetime import UTC, datetime, timedelta

from falco_responder_cli.dead_letters import group_by_reason, render_text
from falco_responder_cli.pulling import Pulled

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)


def _message(n, reason=None, rule=None, data=b"{not json", detail=None, **attributes):
    if reason:
        attributes["error_reason"] = reason
    if rule:
        attributes["rule"] = rule
    if detail:
        attributes["error_detail"] = detail
    return Pulled(str(n), data, attributes, T0 + timedelta(minutes=n))


def test_messages_are_grouped_by_reason_largest_first():
    groups = group_by_reason(
        [
            _message(3, "invalid_json", detail="not valid JSON: line 1"),
            _message(1, "kube_error", rule="Terminal shell in container", detail="500"),
            _message(2, "invalid_json"),
            _message(5, "invalid_json", data=json.dumps({"rule": "From data"}).encode()),
            _message(4, CloudPubSubDeadLetterSourceDeliveryCount="5"),
        ]
    )
    assert [(g.reason, g.count) for g in groups] == [
        ("invalid_json", 3),
        ("delivery_attempts_exhausted", 1),
        ("kube_error", 1),
    ]
    invalid = groups[0]
    assert (invalid.oldest, invalid.newest) == (
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=5),
    )
    assert invalid.sample_detail == "not valid JSON: line 1"
    assert invalid.rules == {"From data"}
    assert groups[2].as_dict() == {
        "reason": "kube_error",
        "count": 1,
        "oldest": "2026-11-20T08:01:00.000Z",
        "newest": "2026-11-20T08:01:00.000Z",
        "sample_detail": "500",
        "rules": ["Terminal shell in container"],
    }


def test_the_text_report_names_the_subscription_and_each_reason():
    text = render_text("projects/p/subscriptions/dl", group_by_reason([_message(1, "kube_error")]))
    assert text.startswith("projects/p/subscriptions/dl: 1 message\n")
    assert "kube_error: 1" in text
    assert render_text("s", []) == "s: 0 messages"
