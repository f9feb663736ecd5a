import json
from pathlib import Path

import pytest

from local_stack.fixtures import fixture
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import PolicyError, PriorityCondition, load_policy, parse_policy
from shared.alert import Priority, parse_alert


def _alert(name: str = "terminal_shell_in_container", **changes):
    return parse_alert(json.dumps({**fixture(name), **changes}))


def _policy(**rule_fields):
    rule = {
        "name": "r1",
        "match": {"rule": "Terminal shell in container"},
        "actions": [{"action": "delete_pod"}],
        **rule_fields,
    }
    return parse_policy({"rules": [rule]}, "test.yaml")


def test_default_policy_deletes_a_shell_in_a_container():
    policy = load_policy(DEFAULT_POLICY_FILE)
    rule = policy.first_match(_alert())
    assert rule is not None
    assert [a.action for a in rule.actions] == ["delete_pod"]
    assert rule.actions[0].grace_period_seconds == 0


def test_default_policy_protects_system_namespaces():
    policy = load_policy(DEFAULT_POLICY_FILE)
    for namespace in ["kube-system", "kube-public", "kube-node-lease", "falco"]:
        assert policy.is_protected(namespace)
    assert not policy.is_protected("default")


def test_default_policy_ignores_low_priority_and_other_rules():
    policy = load_policy(DEFAULT_POLICY_FILE)
    assert policy.first_match(_alert(priority="Informational")) is None
    assert policy.first_match(_alert("falco_041_container_plugin")) is None


@pytest.mark.parametrize(
    ("condition", "priority", "expected"),
    [
        (">=Critical", "Critical", True),
        (">=Critical", "Error", False),
        (">Warning", "Warning", False),
        ("<Warning", "Notice", True),
        ("<=notice", "Notice", True),
        ("Notice", "Notice", True),
        ("==Notice", "Warning", False),
        ("!=Debug", "Debug", False),
        ("= info", "Informational", True),
    ],
)
def test_priority_conditions(condition, priority, expected):
    assert PriorityCondition.parse(condition)(Priority.parse(priority)) is expected


def test_rule_globs_match():
    policy = _policy(match={"rule": ["Terminal shell*"]})
    assert policy.first_match(_alert()) is not None
    assert policy.first_match(_alert(rule="Read sensitive file")) is None


def test_first_matching_rule_wins():
    rules = [
        {
            "name": "first",
            "match": {"priority": ">=Critical"},
            "actions": [{"action": "delete_pod"}],
        },
        {"name": "second", "match": {"rule": "Terminal*"}, "actions": [{"action": "delete_pod"}]},
    ]
    policy = parse_policy({"rules": rules}, "p.yaml")
    assert policy.first_match(_alert()).name == "first"
    assert policy.first_match(_alert(priority="Notice")).name == "second"


def test_protected_namespaces_take_globs():
    policy = parse_policy({"protected_namespaces": ["kube-*", "istio-system"]}, "p.yaml")
    assert policy.is_protected("kube-flannel")
    assert not policy.is_protected("default")


@pytest.mark.parametrize(
    ("rule_fields", "message"),
    [
        (
            {"match": {"priority": ">=Severe"}},
            "policy test.yaml: rules[0] (r1).match.priority: unknown priority 'Severe'",
        ),
        (
            {"match": {"rule": "x", "namespace": "y"}},
            "rules[0] (r1).match.namespace: Extra inputs are not permitted",
        ),
        ({"actions": [{"action": "explode"}]}, "rules[0] (r1).actions[0]: Input tag 'explode'"),
        (
            {"actions": [{"action": "delete_pod", "grace_period_seconds": -1}]},
            "rules[0] (r1).actions[0].delete_pod.grace_period_seconds: Input should be greater",
        ),
        ({"actions": []}, "rules[0] (r1).actions: List should have at least 1 item"),
    ],
)
def test_invalid_policy_names_file_rule_and_field(rule_fields, message):
    with pytest.raises(PolicyError) as caught:
        _policy(**rule_fields)
    assert message in str(caught.value)


def test_duplicate_rule_names_are_refused():
    rule = {"name": "same", "match": {}, "actions": [{"action": "delete_pod"}]}
    with pytest.raises(PolicyError, match="two rules are named 'same'"):
        parse_policy({"rules": [rule, rule]}, "p.yaml")


def test_unreadable_or_invalid_yaml_names_the_file(tmp_path: Path):
    with pytest.raises(PolicyError, match=r"missing\.yaml: cannot read"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [\n")
    with pytest.raises(PolicyError, match=r"bad\.yaml: not valid YAML"):
        load_policy(bad)
