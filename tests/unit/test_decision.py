import json

from local_stack.fixtures import fixture
from responder.decision import NO_POD, plan
from responder.policy import parse_policy
from shared.alert import PodRef, parse_alert

POLICY = parse_policy(
    {
        "rules": [
            {
                "name": "shells",
                "match": {"rule": "Terminal shell in container"},
                "actions": [{"action": "delete_pod"}],
            }
        ]
    },
    "p.yaml",
)


def _alert(name="terminal_shell_in_container", **fields):
    document = fixture(name)
    document["output_fields"].update(fields)
    return parse_alert(json.dumps(document))


def test_a_matching_alert_on_a_pod_is_acted_on():
    decided = plan(POLICY, _alert())
    assert decided.acts
    assert decided.rule.name == "shells"
    assert decided.pod == PodRef("default", "kubecon")
    assert not decided.dry_run


def test_dry_run_from_the_environment_policy_or_rule():
    assert plan(POLICY, _alert(), dry_run=True).dry_run
    policy = parse_policy({"dry_run": True, "rules": [POLICY.rules[0].model_dump()]}, "p.yaml")
    assert plan(policy, _alert()).dry_run
    rule = {**POLICY.rules[0].model_dump(), "dry_run": True}
    assert plan(parse_policy({"rules": [rule]}, "p.yaml"), _alert()).dry_run


def test_the_falcosidekick_test_event_is_never_acted_on():
    decided = plan(POLICY, _alert("sidekick_test_event"))
    assert decided.skip_reason == "Falcosidekick test event: the wiring works"


def test_no_pod_comes_before_the_policy():
    decided = plan(POLICY, _alert(**{"k8s.pod.name": "<NA>"}))
    assert (decided.acts, decided.skip_reason, decided.rule) == (False, NO_POD, None)


def test_no_matching_rule_and_protected_namespace_are_skips_with_reasons():
    assert (
        plan(POLICY, _alert("falco_041_container_plugin")).skip_reason == "no policy rule matches"
    )
    decided = plan(POLICY, _alert(**{"k8s.ns.name": "kube-system"}))
    assert decided.skip_reason == "namespace kube-system is protected"
    assert decided.rule.name == "shells"
