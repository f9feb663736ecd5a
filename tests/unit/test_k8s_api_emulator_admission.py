"""The emulator's ValidatingAdmissionPolicy admission, driven by the official client: the
responder's rails (deploy/admission, and `falco-responder policy admission` for a policy
using every action) as the cluster enforces them, and the semantics of a real API server
(matching, CEL variables, messages, reasons, failure policy, actions)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from responder import admission
from responder.actions import QUARANTINE_LABEL
from responder.actions.event import COMPONENT, event_name
from responder.actions.isolate import ISOLATION_LABEL, IsolatePod
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES, load_policy, parse_policy
from tests.conftest import kube_api_client, status_of

ROOT = Path(__file__).resolve().parents[2]
RAILS = ROOT / "deploy" / "admission" / "responder-rails.yaml"
DEFAULT_POLICY = ROOT / "responder" / "policy.yaml"
ADMIN = "admin-token"
RESPONDER = "responder-token"
RESPONDER_USER = "system:serviceaccount:falco-responder:responder"
DENIED = "ValidatingAdmissionPolicy 'falco-responder-rails' with binding 'falco-responder-rails' "
DENIED += "denied request: "


@dataclass
class Apis:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    networking: client.NetworkingV1Api
    admission: client.AdmissionregistrationV1Api


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator().start() as emu:
        emu.add_token(ADMIN, verbs="*")
        emu.add_token(RESPONDER, user=RESPONDER_USER, verbs="*")  # RBAC allows everything
        emu.create_namespace("shop")
        emu.create_namespace("falco")
        emu.create_namespace("falco-responder")
        yield emu


@pytest.fixture
def apis_for(emulator: KubeApiEmulator) -> Iterator[Callable[[str], Apis]]:
    opened: list[client.ApiClient] = []

    def make(token: str) -> Apis:
        opened.append(kube_api_client(emulator, token))
        api = opened[-1]
        return Apis(
            client.CoreV1Api(api),
            client.AppsV1Api(api),
            client.NetworkingV1Api(api),
            client.AdmissionregistrationV1Api(api),
        )

    yield make
    for api_client in opened:
        api_client.close()


@pytest.fixture
def railed(emulator: KubeApiEmulator, apis_for) -> Apis:
    """The responder's APIs on a cluster with deploy/admission applied."""
    emulator.apply(RAILS)
    return apis_for(RESPONDER)


# Every action, so every kind of change the responder may ever make is allowed; and the
# DaemonSet rail, so the rails' one check of a DELETE is there.
EVERY_ACTION = {
    "safety": {"ignore_daemonset_pods": True},
    "rules": [
        {
            "name": "everything",
            "match": {"rule": "x"},
            "actions": [
                {"action": "delete_pod"},
                {"action": "evict_pod"},
                {"action": "label_pod", "add": {"falco-responder/quarantined": "true"}},
                {"action": "annotate_pod", "add": {"why": "falco"}},
                {"action": "isolate_pod"},
                {"action": "cordon_node"},
                {"action": "scale_to_zero"},
                {"action": "record_event"},
            ],
        }
    ],
}


@pytest.fixture
def railed_everything(emulator: KubeApiEmulator, apis_for, tmp_path) -> Apis:
    """The responder's APIs behind the admission policy of a policy using every action."""
    policy = parse_policy(EVERY_ACTION, "every action")
    path = tmp_path / "rails.yaml"
    path.write_text(admission.to_yaml(admission.manifests(policy, [RESPONDER_USER])))
    emulator.apply(path)
    return apis_for(RESPONDER)


def refused(call: Callable[[], object]) -> ApiException:
    with pytest.raises(ApiException) as caught:
        call()
    return caught.value


def label_patch(key: str = "falco-responder/quarantined", value: str = "true") -> dict:
    return {"metadata": {"labels": {key: value}}}


# --- the responder's rails (deploy/admission) --------------------------------------------------


def test_a_spec_patch_by_the_responder_is_refused_with_the_policys_message(emulator, railed):
    emulator.create_pod("shop", "web")
    image = {"spec": {"containers": [{"name": "app", "image": "attacker/miner"}]}}
    error = refused(lambda: railed.core.patch_namespaced_pod("web", "shop", image))
    denial = f"{DENIED}{admission.POD_UPDATE_MESSAGE}"
    message = f'pods "web" is forbidden: {denial}'
    assert (error.status, status_of(error)) == (
        403,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": "Forbidden",
            "details": {"name": "web", "kind": "pods", "causes": [{"message": denial}]},
            "code": 403,
        },
    )
    assert emulator.get_pod("shop", "web")["spec"]["containers"][0]["image"] != "attacker/miner"


def _padded(count: int, prefix: str) -> dict[str, str]:
    return {f"{prefix}{i:06d}": "v" * 63 for i in range(count)}


def test_a_tenants_padded_annotations_do_not_stop_the_breakers_label(emulator, railed):
    # The default policy sets no annotation: annotations are compared whole, whatever
    # their number (here near the 256 KiB the API server allows).
    emulator.create_pod("shop", "web", annotations=_padded(3000, "pad"))
    quarantine = label_patch(QUARANTINE_LABEL, "circuit-breaker")
    railed.core.patch_namespaced_pod("web", "shop", quarantine)


def test_a_kube_system_delete_by_the_responder_is_refused(emulator, railed):
    emulator.create_pod("kube-system", "coredns")
    error = refused(lambda: railed.core.delete_namespaced_pod("coredns", "kube-system"))
    assert error.status == 403
    assert status_of(error)["message"] == (
        f'pods "coredns" is forbidden: {DENIED}'
        "falco-responder may not change anything in the protected namespace kube-system"
    )
    assert emulator.get_pod("kube-system", "coredns") is not None


def test_the_protected_namespaces_are_the_default_policys(emulator, railed):
    [rule] = load_policy(DEFAULT_POLICY).rules  # so protected for every rule: refused
    protected = load_policy(DEFAULT_POLICY).safety.overridden_by(rule.safety)
    assert protected.effective_protected_namespaces == list(BUILT_IN_PROTECTED_NAMESPACES)
    # A glob (gke-managed-*) stands for a namespace it matches.
    protected = [ns.replace("*", "foo") for ns in BUILT_IN_PROTECTED_NAMESPACES]
    quarantine = label_patch(QUARANTINE_LABEL, "circuit-breaker")  # the breaker's fallback
    for namespace in (*protected, "shop"):
        if emulator.get_object("namespaces", namespace) is None:
            emulator.create_namespace(namespace)
        emulator.create_pod(namespace, "p")
    for namespace in protected:
        error = refused(lambda ns=namespace: railed.core.patch_namespaced_pod("p", ns, quarantine))
        assert error.status == 403, namespace
    railed.core.patch_namespaced_pod("p", "shop", quarantine)


def test_the_default_rails_allow_only_what_the_default_policy_needs(emulator, railed):
    emulator.create_node("node-1")
    emulator.create_deployment("shop", "api", 2, {"app": "api"})
    isolation = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name="falco-responder-isolate"),
        spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector()),
    )
    breaker = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="other"), data={"n": "1"})
    attempts = {
        "may not UPDATE deployments": lambda: railed.apps.patch_namespaced_deployment(
            "api", "shop", {"spec": {"replicas": 0}}
        ),
        "may not UPDATE nodes": lambda: railed.core.patch_node(
            "node-1", {"spec": {"unschedulable": True}}
        ),
        "may not CREATE networkpolicies": lambda: (
            railed.networking.create_namespaced_network_policy("shop", isolation)
        ),
        "may not CREATE configmaps": lambda: railed.core.create_namespaced_config_map(
            "falco-responder", breaker
        ),
    }
    for expected, attempt in attempts.items():
        error = refused(attempt)
        assert error.status == 403, expected
        assert status_of(error)["message"].endswith(f"falco-responder {expected}")


def test_the_responders_own_actions_pass(emulator, railed_everything):
    emulator.create_node("node-1")
    emulator.create_pod("shop", "web", node_name="node-1")
    emulator.create_pod("shop", "evicted")
    emulator.create_pod("shop", "deleted")
    deployment = emulator.create_deployment("shop", "api", 2, {"app": "api"})
    emulator.create_statefulset("shop", "db", 1, {"app": "db"})
    railed = railed_everything
    core, apps = railed.core, railed.apps

    core.patch_namespaced_pod("web", "shop", label_patch())
    core.patch_namespaced_pod("web", "shop", {"metadata": {"annotations": {"why": "falco"}}})
    core.delete_namespaced_pod("deleted", "shop", grace_period_seconds=0)
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="evicted", namespace="shop"))
    core.create_namespaced_pod_eviction("evicted", "shop", eviction)
    apps.patch_namespaced_deployment("api", "shop", {"spec": {"replicas": 0}})
    apps.patch_namespaced_stateful_set("db", "shop", {"spec": {"replicas": 0}}, dry_run="All")
    apps.patch_namespaced_stateful_set("db", "shop", {"spec": {"replicas": 0}})
    core.patch_node("node-1", {"spec": {"unschedulable": True}})
    isolation = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name="falco-responder-isolate"),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(match_labels={"falco-responder/isolated": "true"}),
            policy_types=["Ingress", "Egress"],
        ),
    )
    railed.networking.create_namespaced_network_policy("shop", isolation)
    event = client.CoreV1Event(  # as record_event writes it
        metadata=client.V1ObjectMeta(
            name=event_name("web", "alert-1", "FalcoAlert"), namespace="shop"
        ),
        involved_object=client.V1ObjectReference(
            api_version="v1", kind="Pod", name="web", namespace="shop"
        ),
        reason="FalcoAlert",
        source=client.V1EventSource(component=COMPONENT),
        reporting_component=COMPONENT,
    )
    core.create_namespaced_event("shop", event)
    count = {DATA_KEY: "{}"}
    breaker = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=CONFIGMAP), data=count)
    stored = core.create_namespaced_config_map("falco-responder", breaker)
    stored.data = {DATA_KEY: '{"pod": "2026-01-01T00:00:00+00:00"}'}
    core.replace_namespaced_config_map(CONFIGMAP, "falco-responder", stored)

    assert emulator.get_pod("shop", "web")["metadata"]["labels"]["falco-responder/quarantined"]
    assert emulator.get_pod("shop", "deleted") is None
    assert emulator.get_pod("shop", "evicted")["metadata"]["deletionTimestamp"]  # graceful
    assert emulator.get_object("deployments", "api", "shop")["spec"]["replicas"] == 0
    assert emulator.get_object("statefulsets", "db", "shop")["spec"]["replicas"] == 0
    assert emulator.get_object("nodes", "node-1")["spec"]["unschedulable"] is True
    assert deployment["spec"]["replicas"] == 2


def test_everything_else_is_refused_for_the_responder_only(emulator, railed_everything, apis_for):
    emulator.create_node("node-1", unschedulable=True)
    emulator.create_pod("shop", "web")
    emulator.create_deployment("shop", "api", 2, {"app": "api"})
    core, apps = railed_everything.core, railed_everything.apps
    other = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="other"), data={"n": "1"})
    container = client.V1Container(name="c", image="attacker/miner")
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="miner"), spec=client.V1PodSpec(containers=[container])
    )
    template = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}}
    attempts = {
        "may not CREATE pods": lambda: core.create_namespaced_pod("shop", pod),
        "may not DELETE namespaces": lambda: core.delete_namespace("shop"),
        "may not DELETE deployments": lambda: apps.delete_namespaced_deployment("api", "shop"),
        admission.SCALE_MESSAGE: lambda: apps.patch_namespaced_deployment(
            "api", "shop", {"spec": {"replicas": 5}}
        ),
        admission.SCALE_MESSAGE + " ": lambda: apps.patch_namespaced_deployment(
            "api", "shop", {"spec": {"replicas": 0, **template["spec"]}}
        ),
        "may not UPDATE deployments/scale": lambda: apps.patch_namespaced_deployment_scale(
            "api", "shop", {"spec": {"replicas": 0}}
        ),
        "may not CREATE configmaps": lambda: core.create_namespaced_config_map(
            "falco-responder", other
        ),
        admission.CORDON_MESSAGE: lambda: core.patch_node(
            "node-1", {"spec": {"unschedulable": False}}
        ),
        "may not UPDATE pods/status": lambda: core.patch_namespaced_pod_status(
            "web", "shop", {"status": {"phase": "Failed"}}
        ),
        admission.POD_UPDATE_MESSAGE: lambda: core.patch_namespaced_pod(
            "web", "shop", {"metadata": {"finalizers": ["example.com/keep"]}}
        ),
    }
    for expected, attempt in attempts.items():
        error = refused(attempt)
        assert error.status == 403, expected
        message = expected.strip().removeprefix("falco-responder ")
        assert status_of(error)["message"].endswith(f"falco-responder {message}")
    # The same requests from anyone else are not the policy's business.
    admin = apis_for(ADMIN)
    admin.core.create_namespaced_pod("shop", pod)
    admin.apps.patch_namespaced_deployment("api", "shop", {"spec": {"replicas": 5}})


def test_evicting_a_daemonset_pod_passes_the_rail_that_refuses_its_delete(
    emulator, railed_everything
):
    """As on a real API server: EvictionREST.Create (pkg/registry/core/pod/storage/eviction.go)
    deletes the pod with rest.ValidateAllObjectFunc, so no DELETE of it is admitted; the
    CREATE of pods/eviction carries the Eviction, not the pod, so no CEL can see its owner."""
    responder = railed_everything  # delete_pod and evict_pod, ignore_daemonset_pods
    daemonset = emulator.create_daemonset("shop", "agent", {"app": "agent"})
    emulator.create_pod("shop", "agent-a", owner=daemonset)
    emulator.create_pod("shop", "agent-b", owner=daemonset)

    error = refused(lambda: responder.core.delete_namespaced_pod("agent-a", "shop"))
    assert error.status == 403
    assert status_of(error)["message"].endswith(admission.DAEMONSET_POD_MESSAGE)
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="agent-b", namespace="shop"))
    responder.core.create_namespaced_pod_eviction("agent-b", "shop", eviction)
    assert emulator.get_pod("shop", "agent-b")["metadata"]["deletionTimestamp"]


def test_a_pods_isolation_is_never_loosened(emulator, apis_for, tmp_path):
    """With two isolate_pod variants the rails allow both values of the label, but not a
    move from deny-all to the looser one, as isolate_pod itself never makes it."""
    rules = [
        {"name": "tight", "match": {"rule": "a"}, "actions": [{"action": "isolate_pod"}]},
        {
            "name": "loose",
            "match": {"rule": "b"},
            "actions": [{"action": "isolate_pod", "allow_cidrs": ["10.0.0.0/8"]}],
        },
    ]
    policy = parse_policy({"rules": rules}, "two isolations")
    path = tmp_path / "rails.yaml"
    path.write_text(admission.to_yaml(admission.manifests(policy, [RESPONDER_USER])))
    emulator.apply(path)
    core = apis_for(RESPONDER).core
    loose = IsolatePod(action="isolate_pod", allow_cidrs=["10.0.0.0/8"]).variant
    emulator.create_pod("shop", "tight", labels={ISOLATION_LABEL: "true"})
    emulator.create_pod("shop", "loose", labels={ISOLATION_LABEL: loose})
    emulator.create_pod("shop", "free")

    error = refused(
        lambda: core.patch_namespaced_pod("tight", "shop", label_patch(ISOLATION_LABEL, loose))
    )
    assert error.status == 403
    assert status_of(error)["message"].endswith(admission.POD_UPDATE_MESSAGE)
    core.patch_namespaced_pod("loose", "shop", label_patch(ISOLATION_LABEL, "true"))
    core.patch_namespaced_pod("free", "shop", label_patch(ISOLATION_LABEL, loose))
    assert emulator.get_pod("shop", "loose")["metadata"]["labels"][ISOLATION_LABEL] == "true"
    assert emulator.get_pod("shop", "free")["metadata"]["labels"][ISOLATION_LABEL] == loose


def test_an_immutable_breaker_configmap_is_refused(railed_everything):
    """An immutable count could never change again: the breaker would be stuck."""
    breaker = client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=CONFIGMAP), data={DATA_KEY: "{}"}, immutable=True
    )
    error = refused(
        lambda: railed_everything.core.create_namespaced_config_map("falco-responder", breaker)
    )
    assert error.status == 403
    assert status_of(error)["message"].endswith(admission.BREAKER_MESSAGE)


def test_an_isolation_with_an_owner_or_finalizer_is_refused(railed_everything):
    """An owner reference to nothing would have the garbage collector delete the isolation:
    the responder's identity may not give it one (isolate_pod's replace drops a tenant's)."""
    networking = railed_everything.networking

    def isolation(**metadata) -> client.V1NetworkPolicy:
        return client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name="falco-responder-isolate", **metadata),
            spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(
                    match_labels={"falco-responder/isolated": "true"}
                ),
                policy_types=["Ingress", "Egress"],
            ),
        )

    gone = client.V1OwnerReference(api_version="v1", kind="Pod", name="gone", uid="0")
    for metadata in ({"owner_references": [gone]}, {"finalizers": ["example.com/keep"]}):
        error = refused(
            lambda m=metadata: networking.create_namespaced_network_policy("shop", isolation(**m))
        )
        assert error.status == 403, metadata
        assert status_of(error)["message"].endswith(admission.ISOLATION_MESSAGE)
    stored = networking.create_namespaced_network_policy("shop", isolation())
    stored.metadata.owner_references = [gone]
    error = refused(
        lambda: networking.replace_namespaced_network_policy(
            "falco-responder-isolate", "shop", stored
        )
    )
    assert error.status == 403


def test_the_google_identity_is_railed_too(emulator, apis_for, tmp_path):
    rails = RAILS.read_text().replace("@PROJECT.", "@my-project.")
    (tmp_path / "rails.yaml").write_text(rails)
    emulator.apply(tmp_path / "rails.yaml")
    emulator.add_token("gke", user="falco-responder@my-project.iam.gserviceaccount.com")
    emulator.create_pod("kube-system", "coredns")
    error = refused(lambda: apis_for("gke").core.delete_namespaced_pod("coredns", "kube-system"))
    assert error.status == 403


# --- what a real API server does with a policy ---------------------------------------------------


def policy(*validations: dict, **spec) -> dict:
    rules = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"]}]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "check"},
        "spec": {"matchConstraints": {"resourceRules": rules}, "validations": list(validations)}
        | spec,
    }


def binding(*actions: str, **spec) -> dict:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "check-binding"},
        "spec": {"policyName": "check", "validationActions": list(actions or ["Deny"])} | spec,
    }


def install(emulator: KubeApiEmulator, tmp_path: Path, *documents: dict) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    emulator.apply(path)


def delete_web(apis: Apis) -> ApiException:
    return refused(lambda: apis.core.delete_namespaced_pod("web", "shop"))


def test_a_policy_without_a_binding_does_nothing(emulator, apis_for, tmp_path):
    install(emulator, tmp_path, policy({"expression": "false"}))
    emulator.create_pod("shop", "web")
    apis_for(ADMIN).core.delete_namespaced_pod("web", "shop")


def test_delete_has_a_null_object_and_the_stored_old_object(emulator, apis_for, tmp_path):
    check = {
        "expression": "object == null && oldObject.metadata.name == 'web' && "
        "request.operation == 'DELETE' && request.name == 'web' && request.namespace == 'shop' "
        "&& !has(request.subResource) && request.userInfo.username == 'kubernetes-admin' && "
        "'system:authenticated' in request.userInfo.groups && "
        "namespaceObject.metadata.name == 'shop' && request.kind.kind == 'Pod'"
    }
    install(emulator, tmp_path, policy(check), binding())
    emulator.create_pod("shop", "web")
    apis_for(ADMIN).core.delete_namespaced_pod("web", "shop")
    assert emulator.get_pod("shop", "web") is not None  # graceful: 30 s to go


def test_create_has_a_null_old_object_and_a_field_of_null_is_an_error(emulator, apis_for, tmp_path):
    install(
        emulator,
        tmp_path,
        policy(
            {"expression": "oldObject == null && object.metadata.name == 'a'"}, failurePolicy="Fail"
        ),
        binding(),
    )
    core = apis_for(ADMIN).core
    spec = client.V1PodSpec(containers=[client.V1Container(name="c", image="i")])
    core.create_namespaced_pod(
        "shop", client.V1Pod(metadata=client.V1ObjectMeta(name="a"), spec=spec)
    )
    error = refused(
        lambda: core.create_namespaced_pod(
            "shop", client.V1Pod(metadata=client.V1ObjectMeta(name="b"), spec=spec)
        )
    )
    # No reason given: Invalid, 422, and the expression as the message.
    assert (error.status, status_of(error)["reason"]) == (422, "Invalid")
    assert status_of(error)["message"] == (
        "pods \"b\" is forbidden: ValidatingAdmissionPolicy 'check' with binding 'check-binding' "
        "denied request: failed expression: oldObject == null && object.metadata.name == 'a'"
    )


def test_evaluation_errors_follow_the_failure_policy(emulator, apis_for, tmp_path):
    check = {"expression": "object.spec.nodeName == 'x'", "reason": "Forbidden"}
    install(emulator, tmp_path, policy(check), binding())
    emulator.create_pod("shop", "web")
    error = delete_web(apis_for(ADMIN))  # object is null on DELETE: its field is an error
    assert error.status == 422  # an error is Invalid, whatever the validation's reason
    assert (
        "denied request: expression 'object.spec.nodeName == 'x'' resulted in error"
        in (status_of(error)["message"])
    )
    ignoring = policy(check, failurePolicy="Ignore")
    apis_for(ADMIN).admission.replace_validating_admission_policy("check", ignoring)
    apis_for(ADMIN).core.delete_namespaced_pod("web", "shop")


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"expression": "false", "messageExpression": "'no ' + request.name"}, "no web"),
        # An error (object is null on DELETE) falls back to the message.
        (
            {
                "expression": "false",
                "messageExpression": "'no ' + object.metadata.name",
                "message": "plain",
            },
            "plain",
        ),
        ({"expression": "1 == 2"}, "failed expression: 1 == 2"),
    ],
)
def test_message_expression_then_message_then_the_expression(
    emulator, apis_for, tmp_path, check, message
):
    install(emulator, tmp_path, policy(check), binding())
    emulator.create_pod("shop", "web")
    error = delete_web(apis_for(ADMIN))
    assert status_of(error)["message"].endswith(f"denied request: {message}")


def test_match_conditions_and_resource_rules_select_requests(emulator, apis_for, tmp_path):
    only_responder = [
        {"name": "responder", "expression": f"request.userInfo.username == '{RESPONDER_USER}'"}
    ]
    install(
        emulator,
        tmp_path,
        policy({"expression": "false", "reason": "Forbidden"}, matchConditions=only_responder),
        binding(),
    )
    for name in ("web", "evicted"):
        emulator.create_pod("shop", name)
    apis_for(ADMIN).core.patch_namespaced_pod("web", "shop", label_patch())
    responder = apis_for(RESPONDER)
    assert (
        refused(lambda: responder.core.patch_namespaced_pod("web", "shop", label_patch())).status
        == 403
    )
    # "pods" does not name the eviction subresource: only "pods/eviction" or "pods/*" would.
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name="evicted", namespace="shop"))
    responder.core.create_namespaced_pod_eviction("evicted", "shop", eviction)


def test_warn_adds_a_warning_header_and_lets_the_request_through(emulator, apis_for, tmp_path):
    install(
        emulator, tmp_path, policy({"expression": "false", "message": "careful"}), binding("Warn")
    )
    emulator.create_pod("shop", "web")
    core = apis_for(ADMIN).core
    _, status, headers = core.delete_namespaced_pod_with_http_info(
        "web", "shop", grace_period_seconds=0
    )
    assert status == 200
    assert headers["Warning"] == (
        "299 - \"Validation failed for ValidatingAdmissionPolicy 'check' with binding "
        "'check-binding': careful\""
    )


def test_a_policy_is_validated_and_compiled_when_written(apis_for):
    admission = apis_for(ADMIN).admission
    broken = policy({"expression": "object.metadata.name =="})
    error = refused(lambda: admission.create_validating_admission_policy(broken))
    assert error.status == 422
    assert "spec.validations[0].expression: Invalid value" in status_of(error)["message"]
    assert "compilation failed: ERROR: <input>:1:" in status_of(error)["message"]
    unknown = policy({"expression": "objekt == null"})
    error = refused(lambda: admission.create_validating_admission_policy(unknown))
    assert "undeclared reference to 'objekt'" in status_of(error)["message"]
    with_params = policy(
        {"expression": "true"}, paramKind={"apiVersion": "v1", "kind": "ConfigMap"}
    )
    error = refused(lambda: admission.create_validating_admission_policy(with_params))
    assert (
        "spec.paramKind: Forbidden: not supported by k8s-api-emulator"
        in status_of(error)["message"]
    )
    error = refused(
        lambda: admission.create_validating_admission_policy_binding(binding("Deny", "Warn"))
    )
    assert error.status == 422
    created = admission.create_validating_admission_policy(policy({"expression": "true"}))
    assert (created.spec.failure_policy, created.metadata.generation) == ("Fail", 1)


@pytest.mark.parametrize(
    "expression",
    [
        "object.metadata.labels.all(k, k != 'x')",
        "object.spec.containers.exists(c, c.name == 'app')",
        "object.spec.containers.exists_one(c, c.name == 'app')",
        "object.spec.containers.map(c, c.name).size() > 0",
        "object.spec.containers.filter(c, c.name == 'app').size() == 1",
        "request.userInfo.groups.exists(g, g == 'system:authenticated')",
    ],
)
def test_macros_compile_as_on_a_real_server(emulator, apis_for, tmp_path, expression):
    """Their loop variables are no undeclared references (cel-go's checker binds them)."""
    install(emulator, tmp_path, policy({"expression": expression}), binding())
    emulator.create_pod("shop", "web")
    apis_for(ADMIN).core.patch_namespaced_pod("web", "shop", label_patch())


@pytest.mark.parametrize(
    ("check", "field", "error"),
    [
        # k8s.io/apiserver/pkg/admission/plugin/cel/compile.go: BuildRequestType's fields.
        (
            {"expression": "request.subresource == ''"},
            "expression",
            "undefined field 'subresource'",
        ),
        ({"expression": "params.x == 1"}, "expression", "undeclared reference to 'params"),
        ({"expression": "1 + 'a' == 2"}, "expression", "found no matching overload"),
        # buildBaseEnv: cel.HomogeneousAggregateLiterals
        (
            {"expression": "object.metadata.name in ['a', 1]"},
            "expression",
            "expected type 'string' but found 'int'",
        ),
        # CompileCELExpression: the checked type must be the expression's own.
        ({"expression": "object.metadata.name"}, "expression", "must evaluate to bool"),
        (
            {"expression": "false", "messageExpression": "1"},
            "messageExpression",
            "must evaluate to string",
        ),
    ],
)
def test_expressions_are_type_checked_when_written(apis_for, check, field, error):
    admission = apis_for(ADMIN).admission
    refusal = refused(lambda: admission.create_validating_admission_policy(policy(check)))
    assert refusal.status == 422
    message = status_of(refusal)["message"]
    assert f"spec.validations[0].{field}: Invalid value" in message
    assert error in message


def test_namespace_and_object_selectors_narrow_a_policy(emulator, apis_for, tmp_path):
    emulator.create_namespace("prod", labels={"env": "prod"})
    for namespace in ("prod", "shop"):
        emulator.create_pod(namespace, "web", labels={"app": "web"})
        emulator.create_pod(namespace, "db", labels={"app": "db"})
    selectors = {
        "namespaceSelector": {"matchLabels": {"env": "prod"}},
        "objectSelector": {
            "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]
        },
    }
    rules = policy()["spec"]["matchConstraints"]["resourceRules"]
    install(
        emulator,
        tmp_path,
        policy({"expression": "false"}, matchConstraints={"resourceRules": rules, **selectors}),
        binding(),
    )
    core = apis_for(ADMIN).core
    assert refused(lambda: core.patch_namespaced_pod("web", "prod", label_patch())).status == 422
    core.patch_namespaced_pod("db", "prod", label_patch())  # not selected by its labels
    core.patch_namespaced_pod("web", "shop", label_patch())  # nor by its namespace's
