"""Every action through the deployed path: Pub/Sub push subscription, the responder under
functions-framework, the Kubernetes API emulator. Each is delivered twice: the second
delivery must change nothing and say so."""

import json
from collections.abc import Iterator

import pytest

from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import as_bytes
from tests.integration.conftest import (
    dead_lettered_by_pubsub,
    deployment_pods,
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)

POLICY = {
    "safety": {"circuit_breaker": {"max_actions": 100_000}},
    "rules": [
        policy_rule("evict", {"action": "evict_pod", "grace_period_seconds": 1}),
        policy_rule(
            "label", {"action": "label_pod", "add": {"suspicious": "true"}, "remove": ["team"]}
        ),
        policy_rule("annotate", {"action": "annotate_pod", "add": {"falco/alert": "shell"}}),
        policy_rule("isolate", {"action": "isolate_pod"}),
        policy_rule(
            "isolate-allowing",
            {
                "action": "isolate_pod",
                "allow_cidrs": ["10.0.0.0/8"],
                "allow_namespaces": ["monitoring"],
            },
        ),
        policy_rule("cordon", {"action": "cordon_node"}),
        policy_rule("scale", {"action": "scale_to_zero"}),
        policy_rule("event", {"action": "record_event", "reason": "ShellSpawned"}),
        policy_rule(
            "dry",
            {"action": "label_pod", "add": {"suspicious": "true"}},
            {"action": "isolate_pod"},
            {"action": "cordon_node"},
            {"action": "scale_to_zero"},
            {"action": "record_event"},
            {"action": "evict_pod"},
            {"action": "delete_pod"},
            dry_run=True,
        ),
        policy_rule("stop-on-failure", {"action": "record_event"}, {"action": "delete_pod"}),
        policy_rule(
            "go-on-after-failure",
            {"action": "record_event", "continue_on_failure": True},
            {"action": "delete_pod"},
        ),
        policy_rule(
            "mark", {"action": "label_pod", "add": {"marked": "true"}}, **{"continue": True}
        ),
        {
            "name": "then-delete",
            "match": {"rule": "test: mark", "priority": ">=Critical"},
            "actions": [{"action": "delete_pod"}],
        },
    ],
}


@pytest.fixture(scope="module")
def acting(stack: LocalStack) -> Iterator[LocalStack]:
    with stack_with_policy(stack, POLICY, "falco-responder-actions") as local:
        yield local


def send(stack: LocalStack, rule: str, pod: str, times: int = 2, **fields) -> list[dict]:
    """Publish the alert, then again once handled (a redelivery); the outcome records."""
    alert = rule_alert(pod, rule)
    alert["output_fields"].update(fields)
    for delivery in range(1, times + 1):
        stack.publish(as_bytes(alert))
        records = outcomes(stack, alert["uuid"], delivery)
    return records


def statuses(records: list[dict]) -> list[list[str]]:
    return [[a["outcome"] for a in r["actions"]] for r in records]


def test_evict_pod_honours_the_disruption_budget_and_is_idempotent(acting, unique):
    pods = deployment_pods(acting, f"api-{unique}", replicas=3)
    acting.kube.create_pdb("default", f"api-{unique}", {"app": f"api-{unique}"}, min_available=2)
    name = pods[0]["metadata"]["name"]
    records = send(acting, "evict", name)
    assert statuses(records) == [["done"], ["already_done"]]
    assert acting.kube.pod_deleted("default", name)
    assert [r.status for r in acting.kube.requests if r.path.endswith(f"/{name}/eviction")] == [201]


def test_eviction_refused_by_the_budget_is_retried_then_dead_lettered(acting, unique):
    pods = deployment_pods(acting, f"db-{unique}", replicas=2)
    acting.kube.create_pdb("default", f"db-{unique}", {"app": f"db-{unique}"}, min_available=2)
    name = pods[0]["metadata"]["name"]
    alert = rule_alert(name, "evict")
    acting.publish(as_bytes(alert))
    dead_lettered_by_pubsub(acting, alert)
    assert acting.kube.pod_running("default", name)
    refusals = [r.status for r in acting.kube.requests if r.path.endswith(f"/{name}/eviction")]
    assert refusals == [429] * config.MAX_DELIVERY_ATTEMPTS


def test_label_pod_adds_and_removes_and_is_idempotent(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name, labels={"team": "shop", "app": "web"})
    records = send(acting, "label", name)
    assert statuses(records) == [["done"], ["already_done"]]
    labels = acting.kube.get_pod("default", name)["metadata"]["labels"]
    assert labels["suspicious"] == "true"
    assert "team" not in labels
    assert labels["app"] == "web"


def test_annotate_pod(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    records = send(acting, "annotate", name)
    assert statuses(records) == [["done"], ["already_done"]]
    annotations = acting.kube.get_pod("default", name)["metadata"]["annotations"]
    assert annotations["falco/alert"] == "shell"


def test_isolate_pod_denies_all_traffic_and_keeps_the_pod(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    records = send(acting, "isolate", name)
    assert statuses(records) == [["done"], ["already_done"]]
    pod = acting.kube.get_pod("default", name)
    assert pod["metadata"]["labels"]["falco-responder/isolated"] == "true"
    policy = acting.kube.get_object(
        "networkpolicies", "falco-responder-isolate", namespace="default"
    )
    assert policy["spec"]["podSelector"] == {"matchLabels": {"falco-responder/isolated": "true"}}
    assert sorted(policy["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert not policy["spec"].get("ingress") and not policy["spec"].get("egress")


def test_isolate_pod_with_allowances_uses_a_policy_of_its_own(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    [record] = send(acting, "isolate-allowing", name, times=1)
    assert statuses([record]) == [["done"]]
    value = acting.kube.get_pod("default", name)["metadata"]["labels"]["falco-responder/isolated"]
    assert value != "true"
    policy = acting.kube.get_object(
        "networkpolicies", f"falco-responder-isolate-{value}", namespace="default"
    )
    [ingress] = policy["spec"]["ingress"]
    peers = json.dumps(ingress["from"])
    assert "10.0.0.0/8" in peers and "monitoring" in peers
    assert policy["spec"]["egress"][0]["to"] == ingress["from"]


def test_cordon_node(acting, unique):
    node = f"node-{unique}"
    acting.kube.create_node(node)
    name = f"web-{unique}"
    old_pod(acting, "default", name, node_name=node)
    records = send(acting, "cordon", name)
    assert statuses(records) == [["done"], ["already_done"]]
    assert acting.kube.get_object("nodes", node)["spec"]["unschedulable"] is True


def test_scale_to_zero_scales_the_owning_deployment(acting, unique):
    deployment = f"shop-{unique}"
    pods = deployment_pods(acting, deployment, replicas=3)
    [first, _] = send(acting, "scale", pods[0]["metadata"]["name"])
    assert first["actions"][0]["target"] == f"deployment/default/{deployment}"
    assert first["actions"][0]["outcome"] == "done"
    obj = acting.kube.get_object("deployments", deployment, namespace="default")
    assert obj["spec"]["replicas"] == 0


def test_scale_to_zero_skips_a_standalone_pod(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    [record] = send(acting, "scale", name, times=1)
    assert record["actions"][0]["outcome"] == "skipped"
    assert "standalone pod" in record["actions"][0]["reason"]


def test_record_event_once_per_alert(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    records = send(acting, "event", name)
    assert statuses(records) == [["done"], ["already_done"]]
    events = [
        e
        for e in acting.kube.list_objects("events", namespace="default")
        if e["involvedObject"]["name"] == name
    ]
    assert len(events) == 1
    assert events[0]["reason"] == "ShellSpawned"
    assert events[0]["type"] == "Warning"
    assert "Terminal shell" not in events[0]["reason"]


def test_dry_run_rule_checks_every_action_and_changes_nothing(acting, unique):
    pods = deployment_pods(acting, f"dry-{unique}", replicas=2)
    name = pods[0]["metadata"]["name"]
    before = len(acting.kube.requests)
    [record] = send(acting, "dry", name, times=1)
    assert record["dry_run"] is True
    assert record["outcome"] == "dry_run"
    assert {a["outcome"] for a in record["actions"]} == {"dry_run"}
    pod = acting.kube.get_pod("default", name)
    assert "suspicious" not in pod["metadata"]["labels"]
    assert (
        acting.kube.get_object("deployments", f"dry-{unique}", namespace="default")["spec"][
            "replicas"
        ]
        == 2
    )
    # Every write went to the API server as a server-side dry run (the delete carries
    # dryRun in its DeleteOptions body; the pod is still there).
    writes = [r for r in acting.kube.requests[before:] if r.method in ("POST", "PATCH")]
    # label, network policy + label (isolate), node, scale, event, eviction
    assert len(writes) == 7
    assert all(r.query.get("dryRun") == ["All"] for r in writes), writes
    assert acting.kube.pod_running("default", name)


def test_a_failed_action_stops_the_rest_and_the_alert_is_dead_lettered(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    acting.kube.inject_fault(
        method="POST", path="/api/v1/namespaces/default/events", status=400, count=1
    )
    alert = rule_alert(name, "stop-on-failure")
    acting.publish(as_bytes(alert))
    [record] = outcomes(acting, alert["uuid"], 1)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "action_failed")
    assert [a["outcome"] for a in record["actions"]] == ["failed", "skipped"]
    assert acting.kube.pod_running("default", name)
    wait_until(lambda: acting.dead_letters.where(error_reason="action_failed"), 30, "dead letter")


def test_continue_on_failure_runs_the_next_action(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    acting.kube.inject_fault(
        method="POST", path="/api/v1/namespaces/default/events", status=400, count=1
    )
    alert = rule_alert(name, "go-on-after-failure")
    acting.publish(as_bytes(alert))
    [record] = outcomes(acting, alert["uuid"], 1)
    assert [a["outcome"] for a in record["actions"]] == ["failed", "done"]
    assert acting.kube.pod_deleted("default", name)


def test_a_rule_with_continue_lets_the_next_matching_rule_run(acting, unique):
    name = f"web-{unique}"
    old_pod(acting, "default", name)
    [record] = send(acting, "mark", name, times=1)
    assert [a["action"] for a in record["actions"]] == ["label_pod", "delete_pod"]
    assert record["reason"] == "policy rules mark, then-delete"
    assert acting.kube.pod_deleted("default", name)
