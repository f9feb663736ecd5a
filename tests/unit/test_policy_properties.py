"""Property-based tests of the policy matcher: whatever an alert holds, the responder
decides (act, skip, refuse) or refuses it clearly; it never raises anything else."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responder.handler import Responder, Settings
from responder.outcome import Decision
from responder.policy import MAX_MATCHED_CHARS, PolicyError, parse_policy
from shared.alert import parse_alert
from shared.errors import InvalidAlertError

# In a full run the integration stack's Pub/Sub client threads are still alive and draw
# from the `random` module; Hypothesis then blames our strategies, which use none.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
NOW = datetime(2026, 11, 28, tzinfo=UTC)
FIELDS = ["proc.cmdline", "proc.name", "k8s.ns.name", "k8s.pod.name", "k8s.pod.uid", "cluster"]
PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Every kind of JSON value Falco or a forger can put in an output field.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["<NA>", "N/A", "", "sh", "curl http://kubernetes", "kube-system"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@st.composite
def alert_documents(draw: st.DrawFn) -> dict:
    fields = draw(st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=10), json_values))
    if draw(st.booleans()):
        long = draw(st.integers(MAX_MATCHED_CHARS - 2, MAX_MATCHED_CHARS + 2))
        fields["proc.cmdline"] = "curl " + "a" * long
    moment = draw(st.datetimes(timezones=st.just(UTC)))
    return {
        "uuid": draw(st.none() | st.text(max_size=8)),
        "output": draw(st.text(max_size=20)),
        "priority": draw(st.sampled_from(["Critical", "notice", "INFO", "Debug", "Emergency"])),
        "rule": draw(st.sampled_from(["Terminal shell in container", "Test rule", "x"])),
        "time": moment.isoformat(),
        "output_fields": fields,
        "source": draw(st.none() | st.sampled_from(["syscall", "k8s_audit"])),
        "tags": draw(st.lists(st.sampled_from(["container", "shell", "T1059"]), max_size=3)),
    }


def _condition() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {},
        optional={
            "equals": json_values,
            "not_equals": json_values,
            "in": st.lists(json_values, max_size=3),
            "glob": st.sampled_from(["*", "curl*", "*kube*", "[a-z]*", "?"]),
            "regex": st.sampled_from(["curl .*kubernetes", r"(\w+\s?)+$", "^sh$", "(a+)+b"]),
            "is_null": st.booleans(),
        },
    ).filter(bool)


@st.composite
def policies(draw: st.DrawFn) -> dict:
    match = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "rule": st.sampled_from(["Terminal*", "x", "*"]),
                "priority": st.sampled_from([">=Critical", "<Warning", "Notice", "!=Debug"]),
                "tags": st.fixed_dictionaries({"all": st.lists(st.sampled_from(["shell"]))}),
                "source": st.sampled_from(["syscall", "k8s_audit"]),
                "output_fields": st.dictionaries(st.sampled_from(FIELDS), _condition()),
                "namespaces": st.fixed_dictionaries({"exclude": st.just(["kube-*"])}),
                "cluster": st.sampled_from(["prod-*", "*"]),
            },
        )
    )
    policy: dict = {
        "rules": [
            {"name": "r", "match": match, "actions": [{"action": "delete_pod"}]},
            {"name": "all", "match": {}, "actions": [{"action": "label_pod", "add": {"a": "b"}}]},
        ],
        "safety": draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "protected_namespaces": st.lists(st.sampled_from(["payments", "kube-*"])),
                    "unprotect": st.lists(st.sampled_from(["falco", "kube-public"])),
                    "max_alert_age": st.sampled_from([None, "1h", "7d"]),
                },
            )
        ),
    }
    if draw(st.booleans()):
        policy["cluster_name"] = "prod-eu"
    return policy


def _offline(policy: dict) -> Responder:
    settings_ = Settings("dead", None, Path("p.yaml"), dry_run=False, kube_timeout=1)
    return Responder(settings_, parse_policy(policy, "p.yaml"), None, now=lambda: NOW)


@PROPERTIES
@given(policies(), alert_documents())
def test_any_alert_gets_a_decision_or_a_clear_refusal(policy, document):
    try:
        alert = parse_alert(json.dumps(document))
    except InvalidAlertError as exc:  # refused at the door, saying why
        assert exc.reason in {"invalid_json", "invalid_alert"} and exc.detail
        return
    record = _offline(policy).evaluate(alert)
    assert record.decision in {Decision.ACT, Decision.SKIP, Decision.REFUSE}
    assert record.reason
    if record.decision is Decision.REFUSE:
        assert record.outcome == "skipped"


@PROPERTIES
@given(st.text(max_size=30), st.sampled_from(["glob", "regex", "equals"]))
def test_any_pattern_compiles_or_is_a_policy_error_naming_rule_and_field(pattern, kind):
    rule = {
        "name": "shells",
        "match": {"output_fields": {"proc.cmdline": {kind: pattern}}},
        "actions": [{"action": "delete_pod"}],
    }
    try:
        parse_policy({"rules": [rule]}, "p.yaml")
    except PolicyError as exc:
        assert kind == "regex"
        assert "rules[0] (shells).match.output_fields.proc.cmdline.regex" in str(exc)


@settings(PROPERTIES, max_examples=40)
@given(st.text(alphabet="ab \t!.*", max_size=200), st.integers(0, 3))
def test_a_long_value_is_read_whole_or_refused_never_cut(tail, repeat):
    # Around the cap: a value the matcher reads it reads whole; past it, it refuses.
    value = "curl " + "a" * (MAX_MATCHED_CHARS - 100 * repeat) + tail
    policy = {
        "rules": [
            {
                "name": "r",
                "match": {"output_fields": {"proc.cmdline": {"regex": r"(\w+\s?)+$"}}},
                "actions": [{"action": "delete_pod"}],
            }
        ]
    }
    document = {
        "output": "o",
        "priority": "Critical",
        "rule": "x",
        "time": NOW.isoformat(),
        "output_fields": {"k8s.ns.name": "default", "k8s.pod.name": "p", "proc.cmdline": value},
    }
    record = _offline(policy).evaluate(parse_alert(json.dumps(document)))
    if len(value) > MAX_MATCHED_CHARS:
        assert record.decision is Decision.REFUSE
        assert "over the 65536 the policy matcher reads" in record.reason
    else:
        assert record.decision in {Decision.ACT, Decision.SKIP}
