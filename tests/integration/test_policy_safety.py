"""Policy-level safety through the deployed path (push subscription, responder under
functions-framework, Kubernetes API emulator): protected namespaces that add up, refusals
recorded as such, and enforced by the cluster's admission policy derived from the same
policy, a named single cluster, and a matcher that stays linear."""

from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.local_stack.stack import LocalStack
from responder.policy import MAX_MATCHED_CHARS
from tests.conftest import as_bytes, status_of
from tests.integration.conftest import (
    old_pod,
    outcomes,
    policy_rule,
    responder_core_api,
    rule_alert,
    stack_with_policy,
)

DELETE = {"action": "delete_pod"}
CLUSTER = "emulated-eu"
# Catastrophic for a backtracking engine: over 25 s on 28 characters with Python's re.
BACKTRACKING = r"(\w+\s?)+$"
POLICY = {
    "cluster_name": CLUSTER,
    "safety": {
        "protected_namespaces": ["payments-*"],
        "circuit_breaker": {"max_actions": 100_000},
    },
    "rules": [
        policy_rule("delete", DELETE),
        policy_rule("delete-in-falco", DELETE, safety={"unprotect": ["falco"]}),
        {
            "name": "cmdline",
            "match": {
                "rule": "test: cmdline",
                "output_fields": {"proc.cmdline": {"regex": BACKTRACKING}},
            },
            "actions": [DELETE],
        },
    ],
}


@pytest.fixture(scope="module")
def guarded(stack: LocalStack) -> Iterator[LocalStack]:
    with stack_with_policy(stack, POLICY, "falco-responder-policy-safety") as local:
        local.kube.create_namespace("payments-eu")
        yield local


@pytest.fixture(scope="module")
def guarded_dry(stack: LocalStack) -> Iterator[LocalStack]:
    with stack_with_policy(
        stack, POLICY, "falco-responder-policy-safety-dry", dry_run=True
    ) as local:
        yield local


def send(stack: LocalStack, alert: dict, count: int = 1) -> dict:
    """Publish the alert (naming our cluster unless it names one); its `count`th record."""
    alert["output_fields"].setdefault("cluster", CLUSTER)
    stack.publish(as_bytes(alert), alert_id=alert["uuid"])
    return outcomes(stack, alert["uuid"], count)[count - 1]


def _pod_reads(stack: LocalStack, namespace: str, name: str) -> list:
    return [r for r in stack.kube.requests if r.path.endswith(f"/{namespace}/pods/{name}")]


@pytest.mark.parametrize("namespace", ["kube-system", "falco", "payments-eu"])
def test_adding_a_protected_namespace_keeps_the_built_in_ones(guarded, unique, namespace):
    name = f"web-{unique}"
    old_pod(guarded, namespace, name)
    alert = rule_alert(name, "delete", namespace=namespace)
    record = send(guarded, alert)
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"] == f"namespace {namespace} is protected"
    # a redelivery is refused the same way, and the pod is never even read
    again = send(guarded, alert, count=2)
    assert (again["decision"], again["reason"]) == ("refuse", record["reason"])
    assert guarded.kube.pod_running(namespace, name)
    assert not _pod_reads(guarded, namespace, name)


def test_a_rule_unprotects_a_built_in_namespace_only_by_name(guarded, unique):
    name = f"agent-{unique}"
    old_pod(guarded, "falco", name)
    record = send(guarded, rule_alert(name, "delete-in-falco", namespace="falco"))
    assert (record["decision"], record["outcome"]) == ("act", "acted")
    assert guarded.kube.pod_deleted("falco", name)


@pytest.fixture
def responder_api(guarded: LocalStack) -> Iterator[client.CoreV1Api]:
    with responder_core_api(guarded) as api:
        yield api


@pytest.mark.parametrize("namespace", ["kube-system", "payments-eu"])
def test_the_cluster_refuses_a_namespace_every_rule_protects(
    guarded, responder_api, unique, namespace
):
    # As if the responder's code skipped its own check: the cluster still says no.
    name = f"web-{unique}"
    old_pod(guarded, namespace, name)
    with pytest.raises(ApiException) as caught:
        responder_api.delete_namespaced_pod(name, namespace)
    assert caught.value.status == 403
    assert status_of(caught.value)["message"].endswith(
        f"falco-responder may not change anything in the protected namespace {namespace}"
    )
    assert guarded.kube.pod_running(namespace, name)


def test_the_cluster_allows_a_namespace_one_rule_unprotects(guarded, responder_api, unique):
    name = f"agent-{unique}"
    old_pod(guarded, "falco", name)
    responder_api.delete_namespaced_pod(name, "falco", grace_period_seconds=0)
    assert guarded.kube.pod_deleted("falco", name)


def test_in_dry_run_a_protected_namespace_is_refused_too(guarded_dry, unique):
    name = f"web-{unique}"
    old_pod(guarded_dry, "kube-system", name)
    refused = send(guarded_dry, rule_alert(name, "delete", namespace="kube-system"))
    assert (refused["decision"], refused["reason"]) == (
        "refuse",
        "namespace kube-system is protected",
    )
    old_pod(guarded_dry, "default", name)
    allowed = send(guarded_dry, rule_alert(name, "delete"))
    assert (allowed["decision"], allowed["outcome"]) == ("act", "dry_run")


def test_an_opt_out_is_a_refusal_not_an_act(guarded, unique):
    namespace = f"team-{unique}"
    guarded.kube.create_namespace(namespace, labels={"falco-responder/ignore": "true"})
    old_pod(guarded, namespace, "web")
    record = send(guarded, rule_alert("web", "delete", namespace=namespace))
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")


# A named single cluster.


@pytest.mark.parametrize(
    ("cluster", "named"), [("emulated-us", "cluster 'emulated-us'"), (None, "no cluster")]
)
def test_an_alert_naming_another_cluster_or_none_is_refused_not_acted_on(
    guarded, unique, cluster, named
):
    name = f"web-{unique}"
    old_pod(guarded, "default", name)
    alert = rule_alert(name, "delete")
    alert["output_fields"]["cluster"] = cluster
    record = send(guarded, alert)
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"] == (
        f"alert names {named} in output field 'cluster'; "
        f"this responder serves only '{CLUSTER}' (cluster_name): not acted on"
    )
    # redelivered (a replay), it is refused again, and the pod is never read
    send(guarded, alert, count=2)
    assert guarded.kube.pod_running("default", name)
    assert not _pod_reads(guarded, "default", name)


def test_in_dry_run_an_alert_naming_another_cluster_is_refused_too(guarded_dry, unique):
    name = f"web-{unique}"
    old_pod(guarded_dry, "default", name)
    alert = rule_alert(name, "delete")
    alert["output_fields"]["cluster"] = "emulated-us"
    record = send(guarded_dry, alert)
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")


def test_an_alert_naming_our_cluster_is_acted_on(guarded, unique):
    name = f"web-{unique}"
    old_pod(guarded, "default", name)
    record = send(guarded, rule_alert(name, "delete"))
    assert (record["decision"], record["outcome"], record["cluster"]) == ("act", "acted", CLUSTER)
    assert guarded.kube.pod_deleted("default", name)


# The matcher: linear whatever the input, a clear refusal past the cap.


def _cmdline_alert(name: str, cmdline: str) -> dict:
    alert = rule_alert(name, "cmdline")
    alert["output_fields"]["proc.cmdline"] = cmdline
    return alert


def test_a_backtracking_pattern_answers_and_the_instance_keeps_answering(guarded, unique):
    # Each of these stalled a Python `re` matcher (and the instance) for minutes or more;
    # `outcomes` waits with a deadline, so a stall fails the test.
    name = f"web-{unique}"
    old_pod(guarded, "default", name)
    for cmdline in ("a" * 27 + "!", "ab " * (MAX_MATCHED_CHARS // 3 - 1) + "!"):
        record = send(guarded, _cmdline_alert(name, cmdline))
        assert (record["decision"], record["reason"]) == ("skip", "no policy rule matches")
    assert guarded.kube.pod_running("default", name)
    record = send(guarded, _cmdline_alert(name, "curl kubernetes"))
    assert (record["decision"], record["outcome"]) == ("act", "acted")


def test_a_value_longer_than_the_matcher_reads_is_refused(guarded, unique):
    name = f"web-{unique}"
    old_pod(guarded, "default", name)
    alert = _cmdline_alert(name, "curl " + "a" * (1024 * 1024))
    record = send(guarded, alert)
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"] == (
        f"output field 'proc.cmdline' is {1024 * 1024 + 5} characters, over the "
        f"{MAX_MATCHED_CHARS} the policy matcher reads: not matched, so not acted on"
    )
    assert guarded.kube.pod_running("default", name)
    # redelivered, the same refusal
    assert send(guarded, alert, count=2)["decision"] == "refuse"
