"""The attacker inside the cluster cannot evade, misdirect or abuse the response.

A tenant holds `edit` in its own namespace (tests/integration/tenant.py) and a compromised
pod there; others hold the ingest token, or replay messages onto the alerts topic. Each
tries one way around the response, against the real functions on the emulators with the
policy's generated admission rails installed: every attempt fails, and the response
still happens where it should.
"""

import hashlib
import json
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator.kinds import EMULATOR_NODE
from localdev.local_stack.stack import RESPONDER_USER, LocalStack
from localdev.local_stack.wait import wait_until
from responder.actions.evidence import LOG_READ_FACTOR
from responder.actions.isolate import ISOLATION_LABEL, POLICY_PREFIX
from shared.k8s_names import dns1123_subdomain_error
from tests.conftest import as_bytes
from tests.integration.conftest import (
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)
from tests.integration.tenant import Tenant, edit_tenant

CLUSTER = "prod"
CAPTURE = {"action": "capture_evidence", "log_lines": 100_000, "max_bytes": 4096}
POLICY = {
    "cluster_name": CLUSTER,
    "safety": {"circuit_breaker": {"max_actions": 100_000}},
    "rules": [
        policy_rule("delete", {"action": "delete_pod", "grace_period_seconds": 0}),
        policy_rule("evict", {"action": "evict_pod", "grace_period_seconds": 5}),
        policy_rule("isolate", {"action": "isolate_pod"}),
        policy_rule("event-then-delete", {"action": "record_event"}, {"action": "delete_pod"}),
        policy_rule("capture-then-delete", CAPTURE, {"action": "delete_pod"}),
    ],
}


@pytest.fixture(scope="module")
def adversary(stack: LocalStack) -> Iterator[LocalStack]:
    """The pipeline, its cluster named, its rails generated from POLICY and installed."""
    with stack_with_policy(stack, POLICY, "falco-responder-adversary") as local:
        yield local


@pytest.fixture
def tenant(adversary: LocalStack, unique: str) -> Tenant:
    return edit_tenant(adversary.kube, f"tenant-{unique}")


def _alert(tenant: Tenant, pod: dict, rule: str, **fields) -> dict:
    """Falco's alert about the tenant's pod, as the deployed values send it: the cluster
    and the pod's UID in its output fields."""
    meta = pod["metadata"]
    alert = rule_alert(meta["name"], rule, namespace=tenant.namespace, pod_uid=meta["uid"])
    alert["output_fields"]["cluster"] = CLUSTER
    alert["output_fields"].update(fields)
    return alert


def _respond(stack: LocalStack, alert: dict) -> dict:
    stack.publish(as_bytes(alert), alert_id=alert["uuid"])
    return outcomes(stack, alert["uuid"], 1)[0]


def _responder_requests(stack: LocalStack, text: str) -> list:
    return [r for r in stack.kube.requests if r.user == RESPONDER_USER and text in r.path]


# A huge grace period, and SIGTERM ignored.


@pytest.mark.parametrize(("rule", "policy_grace"), [("delete", 0), ("evict", 5)])
def test_a_pod_deleting_itself_with_a_huge_grace_period_is_cut_short(
    adversary, tenant, unique, rule, policy_grace
):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    name = pod["metadata"]["name"]
    with tenant.core() as core:
        core.delete_namespaced_pod(name, tenant.namespace, grace_period_seconds=999_999)
    record = _respond(adversary, _alert(tenant, pod, rule))
    [action] = record["actions"]
    assert (action["outcome"], action["reason"]) == (
        "done",
        f"grace_period_shortened from 999999s to {policy_grace}s",
    )
    if policy_grace:
        left = adversary.kube.get_pod(tenant.namespace, name)
        assert left["metadata"]["deletionGracePeriodSeconds"] == policy_grace
    wait_until(
        lambda: adversary.kube.get_pod(tenant.namespace, name) is None,
        policy_grace + 10,
        "the pod to be gone within the policy's grace period",
    )


# The pod's own opt-out label.


def test_a_pod_labelling_itself_opted_out_is_still_acted_on(adversary, tenant, unique):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    name = pod["metadata"]["name"]
    opt_out = {"metadata": {"labels": {"falco-responder/ignore": "true"}}}
    with tenant.core() as core:
        core.patch_namespaced_pod(name, tenant.namespace, opt_out)
        # ...and its namespace cannot be labelled with `edit`
        with pytest.raises(ApiException) as refused:
            core.patch_namespace(tenant.namespace, opt_out)
    assert refused.value.status == 403
    record = _respond(adversary, _alert(tenant, pod, "delete"))
    assert (record["decision"], record["outcome"]) == ("act", "acted")
    assert adversary.kube.get_pod(tenant.namespace, name) is None


# An alert from another cluster's Falco, through the same ingest.


@pytest.mark.parametrize("cluster", ["staging", None])
def test_an_alert_naming_another_cluster_or_none_is_never_acted_on(
    adversary, tenant, unique, cluster
):
    pod = old_pod(adversary, tenant.namespace, f"db-{unique}")
    alert = _alert(tenant, pod, "delete", cluster=cluster)
    answer = adversary.post(alert)
    assert answer.status_code == 202, answer.text
    record = adversary.wait_for_outcome(alert["uuid"])
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"].endswith(
        f"this responder serves only '{CLUSTER}' (cluster_name): not acted on"
    )
    assert adversary.kube.get_pod(tenant.namespace, pod["metadata"]["name"]) is not None
    assert not _responder_requests(adversary, f"/namespaces/{tenant.namespace}/")


# A NetworkPolicy made first under the name isolate_pod uses.


def test_a_permissive_network_policy_under_our_name_is_made_isolating(adversary, tenant, unique):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    allow_all = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name=POLICY_PREFIX),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(),
            policy_types=["Ingress", "Egress"],
            ingress=[client.V1NetworkPolicyIngressRule()],
            egress=[client.V1NetworkPolicyEgressRule()],
        ),
    )
    with tenant.networking() as networking:
        networking.create_namespaced_network_policy(tenant.namespace, allow_all)
    record = _respond(adversary, _alert(tenant, pod, "isolate"))
    [action] = record["actions"]
    assert action["outcome"] == "done"
    assert action["reason"] == (
        f"isolated by network policy {POLICY_PREFIX} (it existed with another spec: replaced)"
    )
    stored = adversary.kube.get_object("networkpolicies", POLICY_PREFIX, tenant.namespace)
    assert stored["spec"]["podSelector"] == {"matchLabels": {ISOLATION_LABEL: "true"}}
    assert sorted(stored["spec"]["policyTypes"]) == ["Egress", "Ingress"]
    assert not stored["spec"].get("ingress") and not stored["spec"].get("egress")
    labels = adversary.kube.get_pod(tenant.namespace, pod["metadata"]["name"])["metadata"]
    assert labels["labels"][ISOLATION_LABEL] == "true"


# Very long log lines before a capture_evidence.


def test_very_long_log_lines_cannot_stop_the_capture_or_the_delete_after_it(
    adversary, tenant, unique
):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    name = pod["metadata"]["name"]
    line = "y" * 20_000 + "\n"
    container = pod["spec"]["containers"][0]["name"]
    adversary.kube.write_logs(tenant.namespace, name, container, line * 200)  # 4 MB
    alert = _alert(tenant, pod, "capture-then-delete")
    record = _respond(adversary, alert)
    assert [a["outcome"] for a in record["actions"]] == ["done", "done"]
    assert adversary.kube.get_pod(tenant.namespace, name) is None
    [read] = _responder_requests(adversary, f"/pods/{name}/log")
    assert read.query["limitBytes"] == [str(CAPTURE["max_bytes"] * LOG_READ_FACTOR)]
    # stored where `falco-responder evidence` finds it: the pod as read, the alert's id
    objects = adversary.evidence(alert["uuid"])
    log = objects[f"logs/{container}.log"]
    assert 0 < len(log) <= CAPTURE["max_bytes"] and set(log) <= set(line.encode())
    manifest = json.loads(objects["manifest.json"])
    assert (manifest["namespace"], manifest["pod"]) == (tenant.namespace, name)
    [note] = manifest["not_captured"]
    assert "(limitBytes)" in note["reason"]


# A bare pod with a name as long as Kubernetes allows, and an Event recorded first.


def test_an_event_about_a_pod_with_a_240_character_name_is_recorded(adversary, tenant, unique):
    name = f"x{unique}-" + "a" * (239 - len(unique) - 1)
    assert len(name) == 240
    with tenant.core() as core:
        created = core.create_namespaced_pod(
            tenant.namespace,
            client.V1Pod(
                metadata=client.V1ObjectMeta(name=name),
                spec=client.V1PodSpec(
                    node_name=EMULATOR_NODE,
                    containers=[client.V1Container(name="app", image="busybox")],
                ),
            ),
        )
    pod = client.ApiClient().sanitize_for_serialization(created)
    record = _respond(adversary, _alert(tenant, pod, "event-then-delete"))
    event, delete = record["actions"]
    assert (event["outcome"], delete["outcome"]) == ("done", "done")
    event_name = event["target"].rpartition("/")[2]
    assert len(event_name) <= 253 and dns1123_subdomain_error(event_name) is None
    assert adversary.kube.get_object("events", event_name, tenant.namespace) is not None
    wait_until(lambda: adversary.kube.get_pod(tenant.namespace, name) is None, 10, "the pod to go")


# Names that are not Kubernetes names, in an alert published or replayed.

BAD_POD_NAMES = [".", "..", "x/", "a/../b", "%2F..%2Fsecrets", "a" * 254, "Web"]


@pytest.mark.parametrize("bad", BAD_POD_NAMES, ids=lambda n: n[:12])
def test_a_pod_name_kubernetes_would_refuse_never_reaches_the_api_server(
    adversary, tenant, unique, bad
):
    victim = old_pod(adversary, tenant.namespace, f"web-{unique}")
    alert = _alert(tenant, victim, "delete", **{"k8s.pod.name": bad})
    # through ingest: refused at the door, naming the field
    answer = adversary.post(alert)
    assert answer.status_code == 400
    assert "field 'output_fields.k8s.pod.name'" in answer.json()["error"]
    # replayed onto the topic: dead-lettered once as invalid, the cluster never called
    record = _respond(adversary, alert)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
    assert record["reason"].startswith("field 'output_fields.k8s.pod.name': ")
    [dead] = wait_until(
        lambda: adversary.dead_letters.where(alert_id=alert["uuid"]), 60, "the dead letter"
    )
    assert dead.attributes["error_reason"] == "invalid_alert"
    assert not _responder_requests(adversary, f"/namespaces/{tenant.namespace}/")
    assert adversary.kube.get_pod(tenant.namespace, victim["metadata"]["name"]) is not None


@pytest.mark.parametrize("bad", ["..", "Tenant", "a.b", "x/"])
def test_a_namespace_that_is_no_dns_label_never_reaches_the_api_server(adversary, unique, bad):
    alert = rule_alert(f"web-{unique}", "delete", namespace=bad)
    alert["output_fields"]["cluster"] = CLUSTER
    record = _respond(adversary, alert)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
    assert record["reason"].startswith("field 'output_fields.k8s.ns.name': ")
    assert not _responder_requests(adversary, f"web-{unique}")


# Evidence paths, ids and rule names taken from the alert.


@pytest.mark.parametrize("uuid", ["../../x", "x/..", "a/b", "*"])
def test_an_alert_id_that_would_leave_the_evidence_prefix_is_invalid(
    adversary, tenant, unique, uuid
):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    alert = _alert(tenant, pod, "capture-then-delete")
    alert["uuid"] = uuid
    tag = hashlib.sha256(f"{unique}{uuid}".encode()).hexdigest()[:16]
    adversary.publish(as_bytes(alert), alert_id=tag)
    [record] = outcomes(adversary, tag, 1)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
    assert record["reason"].startswith("field 'uuid': ")
    assert adversary.kube.get_pod(tenant.namespace, pod["metadata"]["name"]) is not None


def test_a_rule_name_too_long_to_log_is_invalid_and_its_record_stays_small(
    adversary, tenant, unique
):
    pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
    alert = _alert(tenant, pod, "delete")
    alert["rule"] = "r" * 300_000
    adversary.publish(as_bytes(alert), alert_id=alert["uuid"])
    [record] = outcomes(adversary, alert["uuid"], 1)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
    assert record["reason"].startswith("field 'rule': ")
    assert len(json.dumps(record)) < 16 * 1024  # Cloud Logging takes 256 KB an entry
    assert adversary.kube.get_pod(tenant.namespace, pod["metadata"]["name"]) is not None
