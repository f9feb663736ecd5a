import json
from datetime import timedelta
from pathlib import Path

import pytest

from localdev.local_stack.fixtures import fixture
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import (
    BUILT_IN_PROTECTED_NAMESPACES,
    MAX_MATCHED_CHARS,
    CircuitBreaker,
    FieldTooLongError,
    PolicyError,
    PriorityCondition,
    Safety,
    load_policy,
    parse_policy,
)
from shared.alert import MAX_RULE_CHARS, Priority, parse_alert
from shared.errors import InvalidAlertError

SHELL = "terminal_shell_in_container"


def _alert(name: str = SHELL, fields: dict | None = None, **changes):
    document = {**fixture(name), **changes}
    document["output_fields"].update(fields or {})
    return parse_alert(json.dumps(document))


def _policy(match: dict | None = None, **rule_fields):
    rule = {
        "name": "r1",
        "match": match if match is not None else {"rule": "Terminal*"},
        "actions": [{"action": "delete_pod"}],
        **rule_fields,
    }
    return parse_policy({"rules": [rule]}, "test.yaml")


def _matches(match: dict, alert=None, cluster: str | None = None) -> bool:
    return bool(_policy(match).matching_rules(alert or _alert(), cluster))


# The default policy.


def test_default_policy_deletes_a_shell_in_a_container():
    [rule] = load_policy(DEFAULT_POLICY_FILE).matching_rules(_alert(), None)
    assert [a.action for a in rule.actions] == ["delete_pod"]
    assert rule.actions[0].grace_period_seconds == 1


def test_default_policy_rails_are_on():
    safety = load_policy(DEFAULT_POLICY_FILE).safety
    for namespace in ["kube-system", "kube-public", "kube-node-lease", "falco"]:
        assert safety.is_protected(namespace)
    assert not safety.is_protected("default")
    assert safety.opt_out_label == "falco-responder/ignore"
    assert not safety.allow_pod_opt_out  # a workload cannot opt itself out
    # No owner-aware rail: a tenant with `edit` chooses its workload's shape.
    assert safety.owner_rails == []
    assert not safety.reads_owner
    assert safety.max_alert_age == timedelta(hours=1)
    assert (safety.circuit_breaker.max_actions, safety.circuit_breaker.window) == (
        10,
        timedelta(minutes=10),
    )


def test_default_policy_ignores_low_priority_and_other_rules():
    policy = load_policy(DEFAULT_POLICY_FILE)
    assert policy.matching_rules(_alert(priority="Informational"), None) == []
    assert policy.matching_rules(_alert("falco_041_container_plugin"), None) == []


# Each match condition.


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


def test_rule_names_exact_or_glob():
    assert _matches({"rule": "Terminal shell in container"})
    assert _matches({"rule": ["Other", "Terminal shell*"]})
    assert not _matches({"rule": "Terminal shell"})


def test_tags_all_of_and_any_of():
    assert _matches({"tags": {"all": ["container", "shell"]}})
    assert not _matches({"tags": {"all": ["container", "network"]}})
    assert _matches({"tags": {"any": ["network", "shell"]}})
    assert not _matches({"tags": {"any": ["network"]}})


def test_source():
    assert _matches({"source": "syscall"})
    assert not _matches({"source": ["k8s_audit"]})


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"proc.name": {"equals": "sh"}}, True),
        ({"proc.name": {"equals": "bash"}}, False),
        ({"proc.name": {"not_equals": "bash"}}, True),
        ({"proc.name": {"in": ["bash", "sh"]}}, True),
        ({"proc.name": {"in": ["bash"]}}, False),
        ({"container.image.repository": {"glob": "docker.io/library/*"}}, True),
        ({"proc.cmdline": {"regex": r"bash \|\| ash"}}, True),
        ({"proc.cmdline": {"regex": "^curl"}}, False),
        ({"proc.tty": {"equals": 34816}}, True),
        ({"proc.tty": {"equals": "34816"}}, True),
        ({"k8s.pod.uid": {"is_null": True}}, True),
        ({"k8s.pod.name": {"is_null": False}}, True),
        ({"k8s.pod.name": {"is_null": True}}, False),
        ({"proc.name": {"equals": "sh", "not_equals": "sh"}}, False),
    ],
)
def test_output_field_conditions(condition, expected):
    assert _matches({"output_fields": condition}) is expected


# Regexes run on RE2: linear in the input, whatever the pattern.


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("curl .*kubernetes", "curl " * (MAX_MATCHED_CHARS // 5)),
        (r"(\w+\s?)+$", "a" * 27 + "!"),
        (r"(\w+\s?)+$", "ab " * (MAX_MATCHED_CHARS // 3 - 1) + "!"),
        ("(a+)+b", "a" * MAX_MATCHED_CHARS),
    ],
)
def test_patterns_that_backtrack_for_ever_in_python_answer_at_once_on_re2(pattern, text):
    # With Python's re these take from seconds to centuries (see issue 9); the test's
    # timeout catches a regression without timing anything itself.
    condition = {"output_fields": {"proc.cmdline": {"regex": pattern}}}
    assert not _matches(condition, _alert(fields={"proc.cmdline": text}))


def test_a_value_longer_than_the_matcher_reads_is_refused_not_guessed():
    long = "curl " + "x" * MAX_MATCHED_CHARS + " kubernetes"
    for condition in ({"regex": "curl .*kubernetes"}, {"glob": "curl*"}):
        policy = _policy({"output_fields": {"proc.cmdline": condition}})
        with pytest.raises(
            FieldTooLongError,
            match=r"output field 'proc\.cmdline' is 65552 characters, over the 65536",
        ):
            policy.matching_rules(_alert(fields={"proc.cmdline": long}), None)
    # equality needs no cap, and a value at the cap is read whole
    assert _matches(
        {"output_fields": {"proc.cmdline": {"equals": long}}}, _alert(fields={"proc.cmdline": long})
    )
    at_cap = "curl " + "x" * (MAX_MATCHED_CHARS - 16) + " kubernetes"
    assert _matches(
        {"output_fields": {"proc.cmdline": {"regex": "curl .*kubernetes$"}}},
        _alert(fields={"proc.cmdline": at_cap}),
    )


def test_a_rule_name_too_long_to_log_never_reaches_the_matcher():
    with pytest.raises(InvalidAlertError, match="field 'rule': String should have at most"):
        _alert(rule="T" * (MAX_RULE_CHARS + 1))


def test_null_and_na_fields_are_null():
    alert = _alert("host_process_no_k8s", rule="Terminal shell in container")
    assert _matches({"output_fields": {"k8s.ns.name": {"is_null": True}}}, alert)
    assert not _matches({"output_fields": {"k8s.ns.name": {"equals": "None"}}}, alert)
    with_na = _alert(fields={"container.name": "<NA>"})
    assert _matches({"output_fields": {"container.name": {"is_null": True}}}, with_na)


def test_namespaces_include_and_exclude():
    assert _matches({"namespaces": {"include": ["def*"]}})
    assert not _matches({"namespaces": {"include": ["prod-*"]}})
    assert not _matches({"namespaces": {"exclude": ["default"]}})
    assert _matches({"namespaces": {"exclude": ["kube-*"]}})


def test_cluster():
    assert _matches({"cluster": "prod-*"}, cluster="prod-eu")
    assert not _matches({"cluster": "prod-*"}, cluster="staging")
    assert not _matches({"cluster": "prod-*"}, cluster=None)


def test_every_condition_must_hold():
    assert not _matches({"rule": "Terminal*", "priority": ">=Emergency"})


# Order and continue.


def _rules(*rules):
    return parse_policy({"rules": list(rules)}, "p.yaml")


def _rule(name, match, **extra):
    return {"name": name, "match": match, "actions": [{"action": "delete_pod"}], **extra}


def test_first_matching_rule_wins():
    policy = _rules(
        _rule("first", {"priority": ">=Critical"}), _rule("second", {"rule": "Terminal*"})
    )
    assert [r.name for r in policy.matching_rules(_alert(), None)] == ["first"]
    assert [r.name for r in policy.matching_rules(_alert(priority="Notice"), None)] == ["second"]


def test_continue_lets_later_rules_run_too():
    policy = _rules(
        _rule("mark", {"rule": "Terminal*"}, **{"continue": True}),
        _rule("skipped", {"rule": "Other"}),
        _rule("kill", {"priority": ">=Critical"}),
        _rule("never", {}),
    )
    assert [r.name for r in policy.matching_rules(_alert(), None)] == ["mark", "kill"]


# Actions and safety settings.


def test_every_action_kind_validates():
    actions = [
        {"action": "delete_pod", "grace_period_seconds": 5},
        {"action": "evict_pod"},
        {"action": "label_pod", "add": {"a": "b"}, "remove": ["c"]},
        {"action": "annotate_pod", "add": {"note": "x"}},
        {
            "action": "isolate_pod",
            "allow_cidrs": ["10.0.0.0/8"],
            "allow_namespaces": ["monitoring"],
        },
        {"action": "cordon_node"},
        {"action": "scale_to_zero", "continue_on_failure": True},
        {"action": "record_event", "reason": "FalcoAlert", "type": "Normal"},
    ]
    policy = parse_policy({"rules": [{"name": "all", "match": {}, "actions": actions}]}, "p.yaml")
    assert [a.action for a in policy.rules[0].actions] == [a["action"] for a in actions]


def test_a_rule_overrides_only_the_rails_it_names():
    policy = parse_policy(
        {
            "safety": {"min_healthy_replicas": 2, "protected_namespaces": ["payments"]},
            "rules": [_rule("r", {}, safety={"min_healthy_replicas": "50%"})],
        },
        "p.yaml",
    )
    effective = policy.safety.overridden_by(policy.rules[0].safety)
    assert effective.min_healthy_replicas == "50%"
    assert effective.protected_namespaces == ["payments"]
    assert effective.circuit_breaker is not None


def test_a_rules_circuit_breaker_keeps_the_policys_count_and_window():
    policy = parse_policy(
        {
            "safety": {"circuit_breaker": {"namespace": "security", "window": "1h"}},
            "rules": [
                _rule("more", {}, safety={"circuit_breaker": {"max_actions": 50}}),
                _rule("off", {}, safety={"circuit_breaker": None}),
            ],
        },
        "p.yaml",
    )
    more, off = (policy.safety.overridden_by(r.safety) for r in policy.rules)
    assert (more.circuit_breaker.namespace, more.circuit_breaker.window) == (
        "security",
        timedelta(hours=1),
    )
    assert more.circuit_breaker.max_actions == 50
    assert off.circuit_breaker is None
    # with the policy's breaker off, a rule's own starts from the defaults
    alone = parse_policy(
        {
            "safety": {"circuit_breaker": None},
            "rules": [_rule("r", {}, safety={"circuit_breaker": {"max_actions": 3}})],
        },
        "p.yaml",
    )
    breaker = alone.safety.overridden_by(alone.rules[0].safety).circuit_breaker
    assert (breaker.max_actions, breaker.namespace) == (3, "falco-responder")


# Protected namespaces: the built-in list always holds; additions add up.


def _effective(policy_safety: dict, rule_safety: dict | None = None) -> list[str]:
    extra = {"safety": rule_safety} if rule_safety is not None else {}
    policy = parse_policy({"safety": policy_safety, "rules": [_rule("r", {}, **extra)]}, "p")
    return policy.safety.overridden_by(policy.rules[0].safety).effective_protected_namespaces


def test_adding_a_protected_namespace_keeps_the_built_in_ones():
    assert _effective({"protected_namespaces": ["payments"]}) == [
        *BUILT_IN_PROTECTED_NAMESPACES,
        "payments",
    ]
    # an empty list, or one that repeats a built-in name, takes nothing away
    assert _effective({"protected_namespaces": []}) == list(BUILT_IN_PROTECTED_NAMESPACES)
    assert _effective({"protected_namespaces": ["kube-system"]}) == list(
        BUILT_IN_PROTECTED_NAMESPACES
    )


def test_a_rule_adds_to_the_policys_protected_namespaces_and_never_drops_one():
    effective = _effective({"protected_namespaces": ["payments"]}, {"protected_namespaces": []})
    assert effective == [*BUILT_IN_PROTECTED_NAMESPACES, "payments"]
    effective = _effective({"protected_namespaces": ["payments"]}, {"protected_namespaces": ["b*"]})
    assert effective == [*BUILT_IN_PROTECTED_NAMESPACES, "payments", "b*"]


def test_only_unprotect_removes_a_built_in_namespace_by_name():
    rest = [n for n in BUILT_IN_PROTECTED_NAMESPACES if n != "falco"]
    assert _effective({"unprotect": ["falco"]}) == rest
    # from one rule only
    assert _effective({}, {"unprotect": ["falco"]}) == rest
    assert _effective({"unprotect": ["falco"]}, {}) == rest
    # a built-in glob too, by its own text
    assert "gke-managed-*" not in _effective({"unprotect": ["gke-managed-*"]})


@pytest.mark.parametrize(
    "namespace",
    [
        "kube-system",
        "gmp-system",
        "gmp-public",
        "gke-gmp-system",
        "gke-managed-system",
        "gke-managed-foo",
    ],
)
def test_gkes_own_namespaces_are_protected_by_default(namespace):
    assert Safety().is_protected(namespace)
    assert not Safety().is_protected("gke-apps")


@pytest.mark.parametrize("pattern", ["Payments", "pay.*", "pay/x", "", "a" * 254])
def test_a_protected_namespace_is_a_name_or_a_glob_of_one(pattern):
    with pytest.raises(PolicyError, match=r"safety\.protected_namespaces: .* is neither"):
        parse_policy({"safety": {"protected_namespaces": [pattern]}}, "p.yaml")


@pytest.mark.parametrize("name", ["payments", "kube-*", "Falco"])
def test_unprotect_takes_only_built_in_names_exactly(name):
    with pytest.raises(PolicyError, match=r"safety\.unprotect: .* is not a built-in protected"):
        parse_policy({"safety": {"unprotect": [name]}}, "p.yaml")


@pytest.mark.parametrize(
    ("setting", "desired", "required"),
    [
        (None, 4, 0),
        (2, 4, 2),
        ("50%", 4, 2),
        ("50%", 3, 2),
        ("100%", 3, 3),
        ("1%", 1, 1),
        ("0%", 5, 0),
    ],
)
def test_min_healthy_replicas_as_count_or_percentage_rounded_up(setting, desired, required):
    policy = parse_policy({"safety": {"min_healthy_replicas": setting}}, "p.yaml")
    assert policy.safety.required_healthy(desired) == required


def test_rails_can_be_switched_off():
    policy = parse_policy(
        {
            "safety": {
                "circuit_breaker": None,
                "max_alert_age": None,
                "unprotect": list(BUILT_IN_PROTECTED_NAMESPACES),
            }
        },
        "p.yaml",
    )
    assert policy.safety.circuit_breaker is None
    assert policy.safety.max_alert_age is None
    assert not policy.safety.is_protected("kube-system")


def test_cluster_name_is_for_single_cluster_mode_only():
    assert parse_policy({"cluster_name": "prod"}, "p.yaml").cluster_name == "prod"
    with pytest.raises(PolicyError, match="cluster_name names the one cluster"):
        parse_policy(
            {"cluster_name": "prod", "clusters": {"prod": {"kubeconfig_context": "p"}}}, "p.yaml"
        )


def test_clusters_and_the_field_that_names_them():
    policy = parse_policy(
        {
            "cluster_field": "cluster_name",
            "clusters": {
                "prod": {"kubeconfig_secret": "projects/p/secrets/k/versions/1"},
                "gke": {"kubeconfig_context": "gke", "google_identity": True},
            },
        },
        "p.yaml",
    )
    assert policy.cluster_of(_alert(fields={"cluster_name": "prod"})) == "prod"
    assert policy.cluster_of(_alert()) is None
    assert policy.clusters["gke"].google_identity


# Validation messages name the file, the rule and the field.


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
        (
            {"match": {"output_fields": {"proc.name": {}}}},
            "rules[0] (r1).match.output_fields.proc.name: give at least one of",
        ),
        (
            {"match": {"output_fields": {"proc.name": {"regex": "("}}}},
            "rules[0] (r1).match.output_fields.proc.name.regex",
        ),
        (
            {"match": {"output_fields": {"proc.cmdline": {"regex": r"(a)\1"}}}},
            "rules[0] (r1).match.output_fields.proc.cmdline.regex: '(a)\\\\1' is not a "
            "pattern RE2 accepts (invalid escape sequence: \\1)",
        ),
        (
            {"match": {"output_fields": {"proc.cmdline": {"regex": "(?=curl)"}}}},
            "proc.cmdline.regex: '(?=curl)' is not a pattern RE2 accepts",
        ),
        (
            {"match": {"output_fields": {"proc.cmdline": {"regex": 5}}}},
            "proc.cmdline.regex: expected a pattern (text), got int",
        ),
        ({"actions": [{"action": "explode"}]}, "rules[0] (r1).actions[0]: Input tag 'explode'"),
        (
            {"actions": [{"action": "delete_pod", "grace_period_seconds": -1}]},
            "rules[0] (r1).actions[0].delete_pod.grace_period_seconds: must be at least 1",
        ),
        (
            {"actions": [{"action": "delete_pod", "grace_period_seconds": 0}]},
            "delete_pod.grace_period_seconds: must be at least 1: 0 is a force delete",
        ),
        (
            {"actions": [{"action": "evict_pod", "grace_period_seconds": 0}]},
            "evict_pod.grace_period_seconds: must be at least 1: 0 is a force delete",
        ),
        ({"actions": [{"action": "label_pod"}]}, "give keys to add or to remove"),
        (
            {"actions": [{"action": "label_pod", "add": {"team": "not valid!"}}]},
            "label team: 'not valid!' is not a valid label value",
        ),
        (
            {"actions": [{"action": "annotate_pod", "remove": ["-bad"]}]},
            "'-bad' is not a valid key",
        ),
        (
            {"actions": [{"action": "isolate_pod", "allow_cidrs": ["10.0.0.300/8"]}]},
            "rules[0] (r1).actions[0].isolate_pod.allow_cidrs",
        ),
        (
            {"actions": [{"action": "record_event", "reason": "not camel"}]},
            "rules[0] (r1).actions[0].record_event.reason",
        ),
        ({"actions": []}, "rules[0] (r1).actions: List should have at least 1 item"),
        ({"safety": {"min_healthy_replicas": "half"}}, "rules[0] (r1).safety.min_healthy_replicas"),
        ({"safety": {"max_alert_age": "soon"}}, "rules[0] (r1).safety.max_alert_age"),
    ],
)
def test_invalid_policy_names_file_rule_and_field(rule_fields, message):
    with pytest.raises(PolicyError) as caught:
        _policy(**rule_fields)
    assert message in str(caught.value)


def test_a_cluster_needs_exactly_one_kubeconfig_source():
    with pytest.raises(PolicyError, match=r"clusters\.prod: give exactly one of"):
        parse_policy({"clusters": {"prod": {}}}, "p.yaml")


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


@pytest.mark.parametrize("name", ["a/b", "..", "", "x" * 101, "prod eu"])
def test_a_cluster_name_is_one_path_segment_of_safe_characters(name):
    with pytest.raises(PolicyError, match="is not a cluster name"):
        parse_policy({"cluster_name": name}, "p.yaml")
    with pytest.raises(PolicyError, match="is not a cluster name"):
        parse_policy({"clusters": {name: {"kubeconfig_context": "c"}}}, "p.yaml")


@pytest.mark.parametrize(
    ("max_actions", "share", "per_namespace"),
    [
        (10, 0.5, 5),
        (7, 0.5, 3),
        (1, 0.5, 1),
        (10, 1, 10),
        (100_000, 0.5, 50_000),
        (3, 0.1, 1),
        (100, 0.29, 29),  # 28.999... as floats
        (100, 0.57, 57),
    ],
)
def test_a_namespaces_share_of_the_breaker_rounds_down_to_at_least_one(
    max_actions, share, per_namespace
):
    breaker = CircuitBreaker(max_actions=max_actions, namespace_share=share)
    assert breaker.max_actions_per_namespace == per_namespace


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_a_namespace_share_outside_zero_to_one_is_refused(share):
    with pytest.raises(PolicyError, match="namespace_share"):
        parse_policy({"safety": {"circuit_breaker": {"namespace_share": share}}}, "p")
