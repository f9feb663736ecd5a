import json
from collections import Counter

from localdev.k8s_api_emulator.requestlog import RequestRecord
from localdev.local_stack.soak_ledger import Kind, Ledger, Sent, deletions
from localdev.local_stack.stack import Received

POD = "/api/v1/namespaces/default/pods/"


def _record(alert_id: str, outcome: str, reason: str = "r") -> Received:
    document = {"alert_id": alert_id, "outcome": outcome, "reason": reason, "actions": []}
    return Received(json.dumps(document).encode(), {"alert_id": alert_id}, "m")


def test_deletions_count_only_what_the_cluster_did():
    log = [
        RequestRecord("DELETE", POD + "a", {}, 200, "u"),
        RequestRecord("DELETE", POD + "a", {}, 404, "u"),
        RequestRecord("DELETE", POD + "b", {}, 500, "u"),
        RequestRecord("GET", POD + "c", {}, 200, "u"),
    ]
    assert deletions(log, "default") == Counter({"a": 1})


def test_an_alert_nobody_knows_is_lost():
    ledger = Ledger([Sent("1", Kind.ACT, "p1"), Sent("2", Kind.HOST)])
    ledger.read([_record("2", "skipped", "no pod")], [], Counter({"p1": 1}), {"p1"})
    assert [s.alert_id for s in ledger.unaccounted()] == ["1"]


def test_a_pod_deleted_twice_or_two_acted_records_is_acted_twice():
    ledger = Ledger([Sent("1", Kind.ACT, "p1"), Sent("2", Kind.ACT, "p2")])
    ledger.read(
        [_record("1", "acted"), _record("2", "acted"), _record("2", "acted")],
        [],
        Counter({"p1": 2, "p2": 1}),
        {"p1", "p2"},
    )
    assert [s.alert_id for s in ledger.acted_twice()] == ["1", "2"]


def test_a_redelivery_that_finds_the_pod_gone_is_still_one_action():
    ledger = Ledger([Sent("1", Kind.ACT, "p1")])
    # The deletion's answer was lost: no 200 in the log, but the pod is gone.
    ledger.read([_record("1", "already_handled")], [], Counter(), {"p1"})
    assert (ledger.acted_twice(), ledger.wrong()) == ([], [])
    assert ledger.ends() == Counter({"acted (pod deleted)": 1})


def test_dead_letters_are_found_by_attribute_or_by_the_alert_in_the_data():
    ledger = Ledger([Sent("1", Kind.GARBAGE), Sent("2", Kind.ACT, "p2")])
    dead = [
        Received(b"garbage", {"alert_id": "1", "error_reason": "invalid_json"}, "m1"),
        Received(
            json.dumps({"uuid": "2"}).encode(),
            {"CloudPubSubDeadLetterSourceDeliveryCount": "5"},
            "m2",
        ),
    ]
    ledger.read([], dead, Counter(), set())
    assert ledger.unaccounted() == [] and ledger.wrong() == []
    assert ledger.ends() == Counter(
        {"dead-lettered (invalid_json)": 1, "dead-lettered (delivery_attempts_exhausted)": 1}
    )


def test_an_alert_whose_pod_survived_without_a_dead_letter_ended_wrongly():
    ledger = Ledger([Sent("1", Kind.ACT, "p1")])
    ledger.read([_record("1", "already_handled")], [], Counter(), set())
    assert ledger.wrong() == ["1: pod p1 not deleted, alert not dead-lettered"]
