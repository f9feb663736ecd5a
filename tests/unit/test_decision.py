import json

import pytest

from localdev.local_stack.fixtures import fixture
from responder.decision import NO_POD, plan
from responder.policy import MAX_MATCHED_CHARS, parse_policy
from shared.alert import PodRef, parse_alert
from shared.errors import InvalidAlertError

RULE = {
    "name": "shells",
    "match": {"rule": "Terminal shell in container"},
    "actions": [{"action": "delete_pod"}],
}
POLICY = parse_policy({"rules": [RULE]}, "p.yaml")
CLUSTERS = {"prod": {"kubeconfig_context": "prod"}, "staging": {"kubeconfig_context": "staging"}}


def _alert(name="terminal_shell_in_container", **fields):
    document = fixture(name)
    document["output_fields"].update(fields)
    return parse_alert(json.dumps(document))


def test_a_matching_alert_on_a_pod_is_acted_on():
    decided = plan(POLICY, _alert())
    assert decided.acts
    assert [r.name for r in decided.rules] == ["shells"]
    assert decided.pod == PodRef("default", "kubecon")
    assert (decided.cluster, decided.dry_run) == (None, False)


def test_dry_run_from_the_environment_or_the_policy():
    assert plan(POLICY, _alert(), dry_run=True).dry_run
    assert plan(parse_policy({"dry_run": True, "rules": [RULE]}, "p.yaml"), _alert()).dry_run


def test_the_falcosidekick_test_event_is_never_acted_on():
    decided = plan(POLICY, _alert("sidekick_test_event"))
    assert decided.skip_reason == "Falcosidekick test event: the wiring works"


def test_no_pod_comes_before_the_policy():
    decided = plan(POLICY, _alert(**{"k8s.pod.name": "<NA>"}))
    assert (decided.acts, decided.skip_reason, decided.rules) == (False, NO_POD, ())


@pytest.mark.parametrize("value", [[], {"a": 1}, 5])
def test_a_pod_field_that_is_not_text_never_reaches_the_plan(value):
    # found by tests/unit/test_policy_properties.py: a list here used to raise TypeError;
    # then it read as no pod and the alert was skipped; now the alert is refused as invalid
    with pytest.raises(InvalidAlertError, match=r"output_fields\.k8s\.ns\.name.*is not text"):
        _alert(**{"k8s.ns.name": value})


def test_no_matching_rule_is_a_skip():
    assert (
        plan(POLICY, _alert("falco_041_container_plugin")).skip_reason == "no policy rule matches"
    )


def test_the_cluster_comes_from_the_configured_output_field():
    policy = parse_policy({"clusters": CLUSTERS, "rules": [RULE]}, "p.yaml")
    assert plan(policy, _alert(cluster="prod")).cluster == "prod"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cluster": "dev"},
            "alert names cluster 'dev' in output field 'cluster'; the policy serves prod, "
            "staging: not acted on",
        ),
        ({}, "alert names no cluster in output field 'cluster'"),
    ],
)
def test_an_unknown_or_missing_cluster_is_refused_never_the_default(fields, message):
    policy = parse_policy({"clusters": CLUSTERS, "rules": [RULE]}, "p.yaml")
    decided = plan(policy, _alert(**fields))
    assert not decided.acts and decided.rules == ()
    assert decided.refusal.startswith(message)


def test_an_unnamed_single_cluster_acts_only_on_alerts_naming_no_cluster():
    assert plan(POLICY, _alert()).acts
    decided = plan(POLICY, _alert(cluster="staging"))
    assert decided.refusal == (
        "alert names cluster 'staging' in output field 'cluster'; this responder serves one "
        "unnamed cluster and cannot tell whether that is it (set cluster_name, or "
        "CLUSTER_NAME): not acted on"
    )


NAMED = parse_policy(
    {
        "cluster_name": "prod-eu",
        "rules": [RULE | {"match": {"rule": RULE["match"]["rule"], "cluster": "prod-*"}}],
    },
    "p.yaml",
)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"cluster": "prod-us"}, "names cluster 'prod-us'"),
        ({}, "names no cluster"),
        ({"cluster": "<NA>"}, "names no cluster"),
        ({"cluster": "x" * 10_000}, "names cluster '" + "x" * 100 + "'"),
    ],
)
def test_a_named_single_cluster_refuses_an_alert_naming_another_or_none(fields, named):
    decided = plan(NAMED, _alert(**fields))
    assert decided.refusal == (
        f"alert {named} in output field 'cluster'; "
        "this responder serves only 'prod-eu' (cluster_name): not acted on"
    )


def test_a_named_single_cluster_acts_on_its_own_alerts():
    decided = plan(NAMED, _alert(cluster="prod-eu"))
    assert decided.acts
    # its name is matched and recorded; the connection is still the single cluster's
    assert (decided.cluster, decided.kube_cluster) == ("prod-eu", None)


def test_a_value_too_long_to_match_is_a_refusal_not_a_guess():
    policy = parse_policy(
        {
            "rules": [
                RULE | {"match": {"output_fields": {"proc.cmdline": {"regex": "curl"}}}},
                RULE | {"name": "fallback"},
            ]
        },
        "p.yaml",
    )
    decided = plan(policy, _alert(**{"proc.cmdline": "x" * (MAX_MATCHED_CHARS + 1)}))
    assert not decided.acts
    assert decided.rules == ()  # not the next rule either: the first might have matched
    assert decided.refusal.startswith("output field 'proc.cmdline' is 65537 characters")


def test_selectors_keep_their_expressions_and_an_empty_one_counts_nothing():
    from kubernetes.client import V1LabelSelector, V1LabelSelectorRequirement

    from responder.workloads import selector_text

    selector = V1LabelSelector(
        match_labels={"app": "web"},
        match_expressions=[
            V1LabelSelectorRequirement(key="tier", operator="In", values=["a", "b"]),
            V1LabelSelectorRequirement(key="canary", operator="DoesNotExist"),
            V1LabelSelectorRequirement(key="zone", operator="Exists"),
        ],
    )
    assert selector_text(selector) == "app=web,tier in (a,b),!canary,zone"
    assert selector_text(V1LabelSelector()) is None
    assert selector_text(None) is None
