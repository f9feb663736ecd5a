"""The Kubernetes API emulator's workload surface (evictions and budgets, patches, updates,
networkpolicies, events, nodes, apps/v1, configmaps and leases, discovery, RBAC by
subresource), driven only by the official `kubernetes` client as the responder drives it."""

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.wait import wait_until
from tests.conftest import kube_api_client, status_of

ADMIN = "admin-token"
RESPONDER = "system:serviceaccount:falco:responder"
OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."
MERGE_PATCH = "application/merge-patch+json"


@dataclass
class Apis:
    core: client.CoreV1Api
    apps: client.AppsV1Api
    policy: client.PolicyV1Api
    networking: client.NetworkingV1Api
    coordination: client.CoordinationV1Api
    apis: client.ApisApi


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator().start() as emu:
        emu.add_token(ADMIN, user="kubernetes-admin", verbs="*")
        yield emu


@pytest.fixture
def apis_for(emulator: KubeApiEmulator) -> Iterator[Callable[[str], Apis]]:
    opened: list[client.ApiClient] = []

    def make(token: str) -> Apis:
        api_client = kube_api_client(emulator, token)
        opened.append(api_client)
        return Apis(
            client.CoreV1Api(api_client),
            client.AppsV1Api(api_client),
            client.PolicyV1Api(api_client),
            client.NetworkingV1Api(api_client),
            client.CoordinationV1Api(api_client),
            client.ApisApi(api_client),
        )

    yield make
    for api_client in opened:
        api_client.close()


@pytest.fixture
def k8s(apis_for: Callable[[str], Apis]) -> Apis:
    return apis_for(ADMIN)


def eviction(name: str, **options) -> client.V1Eviction:
    delete_options = client.V1DeleteOptions(**options) if options else None
    return client.V1Eviction(
        metadata=client.V1ObjectMeta(name=name, namespace="default"),
        delete_options=delete_options,
    )


def evict(k8s: Apis, name: str, **options) -> tuple[int, dict]:
    response = k8s.core.create_namespaced_pod_eviction(
        name, "default", eviction(name, **options), _preload_content=False
    )
    return response.status, json.loads(response.data)


def evict_refused(k8s: Apis, name: str, **options) -> ApiException:
    with pytest.raises(ApiException) as caught:
        k8s.core.create_namespaced_pod_eviction(name, "default", eviction(name, **options))
    return caught.value


def web_deployment(emulator: KubeApiEmulator, replicas: int = 3) -> tuple[dict, dict]:
    deployment = emulator.create_deployment("default", "web", replicas, {"app": "web"})
    (replicaset,) = emulator.owned_by(deployment)
    return deployment, replicaset


# --- eviction and PodDisruptionBudgets ------------------------------------------------------


def test_eviction_without_a_budget_deletes_the_pod_honouring_delete_options(k8s, emulator):
    pod = emulator.create_pod("default", "web")
    stale = str(uuid.uuid4())
    conflict = evict_refused(k8s, "web", preconditions=client.V1Preconditions(uid=stale))
    assert conflict.status == 409
    assert status_of(conflict)["message"].startswith(
        f'Operation cannot be fulfilled on Pod "web": the UID in the precondition ({stale})'
    )

    status, body = evict(
        k8s, "web", preconditions=client.V1Preconditions(uid=pod["metadata"]["uid"])
    )
    assert (status, body) == (
        201,
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
    )
    # The pod's own 30 s grace period applies: it is terminating, not gone.
    terminating = k8s.core.read_namespaced_pod("web", "default")
    assert terminating.metadata.deletion_grace_period_seconds == 30

    emulator.create_pod("default", "api")
    assert evict(k8s, "api", grace_period_seconds=0)[0] == 201
    assert emulator.get_pod("default", "api") is None

    missing = evict_refused(k8s, "ghost")
    assert (missing.status, status_of(missing)["message"]) == (404, 'pods "ghost" not found')
    with pytest.raises(ApiException) as mismatch:
        k8s.core.create_namespaced_pod_eviction("web", "default", eviction("other"))
    assert mismatch.value.status == 400
    assert status_of(mismatch.value)["message"] == (
        "name in URL does not match name in Eviction object"
    )


def test_min_available_integer_allows_one_eviction_then_answers_429(k8s, emulator):
    _, replicaset = web_deployment(emulator)
    for name in ("web-a", "web-b", "web-c"):
        emulator.create_pod("default", name, owner=replicaset)
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, min_available=2)

    budget = k8s.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (budget.current_healthy, budget.desired_healthy, budget.expected_pods) == (3, 2, 3)
    assert budget.disruptions_allowed == 1
    assert budget.conditions[0].reason == "SufficientPods"

    assert evict(k8s, "web-a", grace_period_seconds=0)[0] == 201
    refused = evict_refused(k8s, "web-b", grace_period_seconds=0)
    assert refused.status == 429
    assert status_of(refused) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": TOO_MANY,
        "reason": "TooManyRequests",
        "details": {
            "causes": [
                {
                    "reason": "DisruptionBudget",
                    "message": "The disruption budget web-pdb needs 2 healthy pods and has "
                    "2 currently",
                }
            ]
        },
        "code": 429,
    }
    assert emulator.get_pod("default", "web-b") is not None
    budget = k8s.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (budget.disruptions_allowed, budget.conditions[0].reason) == (0, "InsufficientPods")


@pytest.mark.parametrize(
    ("spec", "desired", "allowed"),
    [
        ({"min_available": "50%"}, 2, 1),  # ceil(1.5)
        ({"max_unavailable": "50%"}, 1, 2),  # 3 - ceil(1.5)
        ({"max_unavailable": 1}, 2, 1),
        ({"min_available": "100%"}, 3, 0),
    ],
)
def test_percentages_scale_with_the_controller_and_round_up(k8s, emulator, spec, desired, allowed):
    _, replicaset = web_deployment(emulator)
    for name in ("web-a", "web-b", "web-c"):
        emulator.create_pod("default", name, owner=replicaset)
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, **spec)
    budget = k8s.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (budget.desired_healthy, budget.disruptions_allowed) == (desired, allowed)
    if allowed:
        assert evict(k8s, "web-a", grace_period_seconds=0)[0] == 201
    else:
        assert evict_refused(k8s, "web-a").status == 429


def test_expected_pods_come_from_the_deployment_scale_not_the_pod_count(k8s, emulator):
    _, replicaset = web_deployment(emulator, replicas=4)
    for name in ("web-a", "web-b"):  # two of four replicas exist
        emulator.create_pod("default", name, owner=replicaset)
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, max_unavailable="25%")
    budget = k8s.policy.read_namespaced_pod_disruption_budget("web-pdb", "default").status
    assert (budget.expected_pods, budget.desired_healthy, budget.current_healthy) == (4, 3, 2)
    assert evict_refused(k8s, "web-a").status == 429


def test_an_unready_pod_is_evictable_while_the_budget_holds(k8s, emulator):
    emulator.create_pod("default", "web-a", labels={"app": "web"})
    emulator.create_pod("default", "web-b", labels={"app": "web"})
    emulator.create_pod("default", "web-c", labels={"app": "web"}, ready=False)
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, min_available=2)
    unready = k8s.core.read_namespaced_pod("web-c", "default")
    assert [c.status for c in unready.status.conditions if c.type == "Ready"] == ["False"]

    assert (
        k8s.policy.read_namespaced_pod_disruption_budget(
            "web-pdb", "default"
        ).status.disruptions_allowed
        == 0
    )
    assert evict_refused(k8s, "web-a").status == 429  # a healthy pod is protected
    assert evict(k8s, "web-c", grace_period_seconds=0)[0] == 201  # the unready one is not
    assert emulator.get_pod("default", "web-c") is None


def test_pending_pods_ignore_budgets(k8s, emulator):
    emulator.create_pod("default", "web", labels={"app": "web"}, phase="Pending")
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, min_available=5)
    assert evict(k8s, "web")[0] == 201
    assert emulator.get_pod("default", "web") is None


def test_two_budgets_for_one_pod_is_a_500(k8s, emulator):
    emulator.create_pod("default", "web", labels={"app": "web", "tier": "front"})
    emulator.create_pdb("default", "by-app", {"app": "web"}, max_unavailable=1)
    emulator.create_pdb("default", "by-tier", {"tier": "front"}, max_unavailable=1)
    refused = evict_refused(k8s, "web")
    assert refused.status == 500
    assert status_of(refused) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "This pod has more than one PodDisruptionBudget, which the eviction "
        "subresource does not support.",
        "code": 500,
    }
    assert emulator.get_pod("default", "web") is not None
    budgets = k8s.policy.list_namespaced_pod_disruption_budget("default").items
    assert [(b.metadata.name, b.status.expected_pods) for b in budgets] == [
        ("by-app", 1),
        ("by-tier", 1),
    ]
    k8s.policy.delete_namespaced_pod_disruption_budget("by-tier", "default")
    assert evict(k8s, "web", grace_period_seconds=0)[0] == 201


def test_eviction_dry_run_checks_the_budget_and_changes_nothing(k8s, emulator):
    for name in ("web-a", "web-b"):
        emulator.create_pod("default", name, labels={"app": "web"})
    emulator.create_pdb("default", "web-pdb", {"app": "web"}, min_available=1)
    before = emulator.get_pod("default", "web-a")
    assert evict(k8s, "web-a", dry_run=["All"], grace_period_seconds=0)[0] == 201
    response = k8s.core.create_namespaced_pod_eviction(
        "web-a", "default", eviction("web-a"), dry_run="All", _preload_content=False
    )
    assert response.status == 201
    assert emulator.get_pod("default", "web-a") == before

    emulator.create_pdb("default", "strict", {"app": "strict"}, min_available=1)
    emulator.create_pod("default", "strict", labels={"app": "strict"})
    assert evict_refused(k8s, "strict", dry_run=["All"]).status == 429


def test_budget_validation(k8s, emulator):
    def create(**spec) -> dict:
        body = client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="pdb"),
            spec=client.V1PodDisruptionBudgetSpec(
                selector=client.V1LabelSelector(match_labels={"app": "web"}), **spec
            ),
        )
        with pytest.raises(ApiException) as caught:
            k8s.policy.create_namespaced_pod_disruption_budget("default", body)
        assert caught.value.status == 422
        return status_of(caught.value)

    assert create(min_available="abc")["message"].startswith(
        'PodDisruptionBudget.policy "pdb" is invalid: spec.minAvailable: Invalid value: abc: '
        "a valid percent string must be a numeric string followed by an ending '%'"
    )
    assert create(max_unavailable="150%")["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": "Invalid value: 150%: must not be greater than 100%",
            "field": "spec.maxUnavailable",
        }
    ]
    assert (
        "minAvailable and maxUnavailable cannot be both set"
        in (create(min_available=1, max_unavailable=1)["message"])
    )


# --- patches ----------------------------------------------------------------------------------


def test_a_dict_patch_is_a_strategic_merge_patch_where_null_deletes(k8s, emulator):
    pod = emulator.create_pod("default", "web", labels={"app": "web", "gone": "x"})
    response = k8s.core.patch_namespaced_pod(
        "web",
        "default",
        {
            "metadata": {
                "uid": pod["metadata"]["uid"],
                "labels": {"quarantine": "true", "gone": None},
            }
        },
        _preload_content=False,
    )
    assert response.status == 200
    patched = json.loads(response.data)
    assert patched["metadata"]["labels"] == {"app": "web", "quarantine": "true"}
    assert int(patched["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"])
    assert emulator.requests[-1].method == "PATCH"

    # Containers merge by name: only the image of "app" changes, the sidecar stays.
    emulator.create_pod(
        "default",
        "two",
        spec={"containers": [{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}]},
    )
    k8s.core.patch_namespaced_pod(
        "two", "default", {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}
    )
    images = [
        (c.name, c.image) for c in k8s.core.read_namespaced_pod("two", "default").spec.containers
    ]
    assert images == [("app", "a:2"), ("side", "s:1")]


def test_merge_patch_and_json_patch(k8s, emulator):
    emulator.create_pod("default", "web", labels={"app": "web"}, annotations={"a": "1"})
    merged = k8s.core.patch_namespaced_pod(
        "web",
        "default",
        {"metadata": {"annotations": {"a": None, "b": "2"}}},
        _content_type=MERGE_PATCH,
    )
    assert merged.metadata.annotations == {"b": "2"}

    patched = k8s.core.patch_namespaced_pod(
        "web",
        "default",
        [
            {"op": "test", "path": "/metadata/labels/app", "value": "web"},
            {"op": "add", "path": "/metadata/labels/role~1isolated", "value": "true"},
            {"op": "remove", "path": "/metadata/annotations/b"},
        ],
    )
    assert patched.metadata.labels == {"app": "web", "role/isolated": "true"}
    assert not patched.metadata.annotations

    with pytest.raises(ApiException) as failed_test:
        k8s.core.patch_namespaced_pod(
            "web", "default", [{"op": "test", "path": "/metadata/labels/app", "value": "db"}]
        )
    assert failed_test.value.status == 422
    assert status_of(failed_test.value)["message"] == (
        "the server rejected our request due to an error in our request"
    )
    with pytest.raises(ApiException) as unsupported:
        k8s.core.patch_namespaced_pod(
            "web", "default", {"metadata": {}}, _content_type="application/apply-patch+yaml"
        )
    assert unsupported.value.status == 415


def test_patch_dry_run_and_validation(k8s, emulator):
    pod = emulator.create_pod("default", "web", labels={"app": "web"})
    would_be = k8s.core.patch_namespaced_pod(
        "web", "default", {"metadata": {"labels": {"x": "y"}}}, dry_run="All"
    )
    assert would_be.metadata.labels == {"app": "web", "x": "y"}
    assert emulator.get_pod("default", "web")["metadata"] == pod["metadata"]

    with pytest.raises(ApiException) as bad_label:
        k8s.core.patch_namespaced_pod(
            "web", "default", {"metadata": {"labels": {"at": "2024-05-01T12:00:00Z"}}}
        )
    assert bad_label.value.status == 422
    assert status_of(bad_label.value)["message"].startswith(
        'Pod "web" is invalid: metadata.labels: Invalid value: "2024-05-01T12:00:00Z": '
        "a valid label must be an empty string or consist of alphanumeric characters"
    )
    # A patch that changes nothing writes nothing: the resourceVersion stays.
    same = k8s.core.patch_namespaced_pod("web", "default", {"metadata": {"labels": {"app": "web"}}})
    assert same.metadata.resource_version == pod["metadata"]["resourceVersion"]


def test_patch_uid_and_resource_version_preconditions(k8s, emulator):
    pod = emulator.create_pod("default", "web", labels={"app": "web"})
    stale_uid = str(uuid.uuid4())
    with pytest.raises(ApiException) as uid:
        k8s.core.patch_namespaced_pod(
            "web", "default", {"metadata": {"uid": stale_uid, "labels": {"x": "y"}}}
        )
    # Upstream's patcher sets no UID precondition: the changed uid fails validation.
    assert uid.value.status == 422
    assert status_of(uid.value)["message"] == (
        f'Pod "web" is invalid: metadata.uid: Invalid value: "{stale_uid}": field is immutable'
    )

    stale_version = str(int(pod["metadata"]["resourceVersion"]) - 1)
    with pytest.raises(ApiException) as version:
        k8s.core.patch_namespaced_pod(
            "web",
            "default",
            {"metadata": {"resourceVersion": stale_version, "labels": {"x": "y"}}},
        )
    assert version.value.status == 409
    body = status_of(version.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == f'Operation cannot be fulfilled on pods "web": {OPTIMISTIC_LOCK}'
    assert body["details"] == {"name": "web", "kind": "pods"}
    assert "x" not in emulator.get_pod("default", "web")["metadata"]["labels"]

    current = pod["metadata"]["resourceVersion"]
    patched = k8s.core.patch_namespaced_pod(
        "web", "default", {"metadata": {"resourceVersion": current, "labels": {"x": "y"}}}
    )
    assert patched.metadata.labels["x"] == "y"


# --- updates and optimistic concurrency ------------------------------------------------------


def config_map(name: str, data: dict, resource_version: str | None = None) -> client.V1ConfigMap:
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, resource_version=resource_version), data=data
    )


def test_configmap_writers_race_and_one_gets_409(k8s, emulator):
    with pytest.raises(ApiException) as missing:
        k8s.core.replace_namespaced_config_map("breaker", "default", config_map("breaker", {}))
    assert (missing.value.status, status_of(missing.value)["message"]) == (
        404,
        'configmaps "breaker" not found',
    )
    k8s.core.create_namespaced_config_map("default", config_map("breaker", {"failures": "0"}))
    first = k8s.core.read_namespaced_config_map("breaker", "default")
    second = k8s.core.read_namespaced_config_map("breaker", "default")

    first.data["failures"] = "1"
    winner = k8s.core.replace_namespaced_config_map("breaker", "default", first)
    assert int(winner.metadata.resource_version) > int(first.metadata.resource_version)
    second.data["failures"] = "1"
    with pytest.raises(ApiException) as loser:
        k8s.core.replace_namespaced_config_map("breaker", "default", second)
    assert loser.value.status == 409
    assert status_of(loser.value)["message"] == (
        f'Operation cannot be fulfilled on configmaps "breaker": {OPTIMISTIC_LOCK}'
    )

    # A PUT without a resourceVersion is unconditional; a foreign uid is a precondition.
    blind = k8s.core.replace_namespaced_config_map(
        "breaker", "default", config_map("breaker", {"failures": "5"})
    )
    assert blind.data == {"failures": "5"}
    foreign = config_map("breaker", {})
    foreign.metadata.uid = "not-the-uid"
    with pytest.raises(ApiException) as uid:
        k8s.core.replace_namespaced_config_map("breaker", "default", foreign)
    assert uid.value.status == 409
    assert status_of(uid.value)["message"] == (
        'Operation cannot be fulfilled on configmaps "breaker": StorageError: invalid object, '
        "Code: 4, Key: /registry/configmaps/default/breaker, ResourceVersion: 0, "
        "AdditionalErrorMsg: Precondition failed: UID in precondition: not-the-uid, "
        f"UID in object meta: {blind.metadata.uid}"
    )
    patched = k8s.core.patch_namespaced_config_map("breaker", "default", {"data": {"open": "1"}})
    assert patched.data == {"failures": "5", "open": "1"}


def test_leases_are_created_by_put(k8s, emulator):
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="breaker"),
        spec=client.V1LeaseSpec(holder_identity="responder-1", lease_duration_seconds=15),
    )
    response = k8s.coordination.replace_namespaced_lease(
        "breaker", "default", lease, _preload_content=False
    )
    assert response.status == 201
    stored = k8s.coordination.read_namespaced_lease("breaker", "default")
    stored.spec.holder_identity = "responder-2"
    updated = k8s.coordination.replace_namespaced_lease("breaker", "default", stored)
    assert updated.spec.holder_identity == "responder-2"
    with pytest.raises(ApiException) as stale:
        k8s.coordination.replace_namespaced_lease("breaker", "default", stored)
    assert stale.value.status == 409


def test_pod_updates_may_not_change_the_spec(k8s, emulator):
    emulator.create_pod("default", "web")
    pod = k8s.core.read_namespaced_pod("web", "default")
    pod.metadata.labels = {"quarantine": "true"}
    assert k8s.core.replace_namespaced_pod("web", "default", pod).metadata.labels == {
        "quarantine": "true"
    }
    pod = k8s.core.read_namespaced_pod("web", "default")
    pod.spec.node_name = "elsewhere"
    with pytest.raises(ApiException) as caught:
        k8s.core.replace_namespaced_pod("web", "default", pod)
    assert caught.value.status == 422
    assert status_of(caught.value)["message"].startswith(
        'Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than'
    )


# --- networkpolicies, events, nodes ----------------------------------------------------------


def test_networkpolicy_create_get_list_delete(k8s, emulator):
    policy = client.V1NetworkPolicy(
        metadata=client.V1ObjectMeta(name="isolate-web"),
        spec=client.V1NetworkPolicySpec(
            pod_selector=client.V1LabelSelector(match_labels={"quarantine": "true"}),
            policy_types=["Ingress", "Egress"],
        ),
    )
    created = k8s.networking.create_namespaced_network_policy("default", policy)
    assert (created.kind, created.api_version) == ("NetworkPolicy", "networking.k8s.io/v1")
    assert created.metadata.generation == 1
    with pytest.raises(ApiException) as duplicate:
        k8s.networking.create_namespaced_network_policy("default", policy)
    assert duplicate.value.status == 409
    assert status_of(duplicate.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'networkpolicies.networking.k8s.io "isolate-web" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "isolate-web", "group": "networking.k8s.io", "kind": "networkpolicies"},
        "code": 409,
    }
    read = k8s.networking.read_namespaced_network_policy("isolate-web", "default")
    assert read.spec.pod_selector.match_labels == {"quarantine": "true"}
    assert [
        p.metadata.name for p in k8s.networking.list_namespaced_network_policy("default").items
    ] == ["isolate-web"]
    k8s.networking.delete_namespaced_network_policy("isolate-web", "default")
    assert emulator.get_object("networkpolicies", "isolate-web", namespace="default") is None


def test_event_create_get_and_already_exists(k8s, emulator):
    pod = emulator.create_pod("default", "web")
    event = client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="web.falco-responder.1"),
        involved_object=client.V1ObjectReference(
            kind="Pod", namespace="default", name="web", uid=pod["metadata"]["uid"]
        ),
        reason="FalcoResponse",
        message="pod isolated",
        type="Warning",
        source=client.V1EventSource(component="falco-responder"),
    )
    created = k8s.core.create_namespaced_event("default", event)
    assert created.involved_object.uid == pod["metadata"]["uid"]
    assert k8s.core.read_namespaced_event("web.falco-responder.1", "default").reason == (
        "FalcoResponse"
    )
    with pytest.raises(ApiException) as duplicate:
        k8s.core.create_namespaced_event("default", event)
    assert status_of(duplicate.value)["message"] == (
        'events "web.falco-responder.1" already exists'
    )
    listed = k8s.core.list_namespaced_event("default", field_selector="involvedObject.name=web")
    assert [e.metadata.name for e in listed.items] == ["web.falco-responder.1"]

    event.metadata.name = "elsewhere"
    event.involved_object.namespace = "kube-system"
    with pytest.raises(ApiException) as mismatch:
        k8s.core.create_namespaced_event("default", event)
    assert mismatch.value.status == 422
    assert status_of(mismatch.value)["message"] == (
        'Event "elsewhere" is invalid: involvedObject.namespace: Invalid value: "kube-system": '
        "does not match event.namespace"
    )


def test_cordon_a_node_with_a_patch(k8s, emulator):
    emulator.create_node("node-1", labels={"pool": "general"})
    emulator.create_pod("default", "web", node_name="node-1")
    node_name = k8s.core.read_namespaced_pod("web", "default").spec.node_name
    node = k8s.core.read_node(node_name)
    assert node.metadata.labels["kubernetes.io/hostname"] == "node-1"
    assert not node.spec.unschedulable
    assert [c.status for c in node.status.conditions if c.type == "Ready"] == ["True"]

    cordoned = k8s.core.patch_node(
        node_name,
        {
            "metadata": {"resourceVersion": node.metadata.resource_version},
            "spec": {"unschedulable": True},
        },
    )
    assert cordoned.spec.unschedulable is True
    assert cordoned.status.conditions[0].type == "Ready"  # the status is untouched
    listed = k8s.core.list_node(field_selector="spec.unschedulable=true")
    assert [n.metadata.name for n in listed.items] == ["node-1"]
    with pytest.raises(ApiException) as nowhere:
        k8s.core.patch_node("node-2", {"spec": {"unschedulable": True}})
    assert status_of(nowhere.value)["message"] == 'nodes "node-2" not found'


# --- apps/v1 ----------------------------------------------------------------------------------


def test_owner_references_lead_from_pod_to_replicaset_to_deployment(k8s, emulator):
    deployment, replicaset = web_deployment(emulator)
    emulator.create_pod("default", "web-a", owner=replicaset)

    pod = k8s.core.read_namespaced_pod("web-a", "default")
    (ref,) = pod.metadata.owner_references
    assert isinstance(ref, client.V1OwnerReference)
    assert (ref.api_version, ref.kind, ref.name, ref.controller) == (
        "apps/v1",
        "ReplicaSet",
        replicaset["metadata"]["name"],
        True,
    )
    assert pod.metadata.labels["app"] == "web"  # the template's labels
    assert pod.metadata.labels["pod-template-hash"] == ref.name.rpartition("-")[2]

    rs = k8s.apps.read_namespaced_replica_set(ref.name, "default")
    (owner,) = rs.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid) == (
        "Deployment",
        "web",
        deployment["metadata"]["uid"],
    )
    read = k8s.apps.read_namespaced_deployment(owner.name, "default")
    assert (read.spec.replicas, read.status.ready_replicas) == (3, 3)
    assert [o["metadata"]["name"] for o in emulator.owned_by(replicaset)] == ["web-a"]
    assert k8s.core.list_namespaced_pod("default", label_selector="app=web").items[
        0
    ].metadata.name == ("web-a")


def test_scale_a_deployment_to_zero(k8s, emulator):
    _, replicaset = web_deployment(emulator)
    scaled = k8s.apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 0}})
    assert scaled.spec.replicas == 0
    assert scaled.metadata.generation == 2
    assert scaled.status.ready_replicas == 3  # the controller has not caught up yet

    def settled() -> bool:
        status = k8s.apps.read_namespaced_deployment("web", "default").status
        return status.observed_generation == 2 and not status.ready_replicas

    wait_until(settled, 5, "the scaled status")
    status = k8s.apps.read_namespaced_deployment("web", "default").status
    assert (status.replicas, status.available_replicas) == (None, None)  # omitted when zero
    rs = k8s.apps.read_namespaced_replica_set(replicaset["metadata"]["name"], "default")
    assert (rs.spec.replicas, rs.status.replicas) == (0, 0)


def test_statefulsets_and_daemonsets(k8s, emulator):
    emulator.create_node("node-1")
    emulator.create_node("node-2")
    statefulset = emulator.create_statefulset("default", "db", 2, {"app": "db"}, ready_replicas=1)
    for name in ("db-0", "db-1"):
        emulator.create_pod("default", name, owner=statefulset)
    daemonset = emulator.create_daemonset("default", "agent", {"app": "agent"})
    assert daemonset["status"]["desiredNumberScheduled"] == 2

    read = k8s.apps.read_namespaced_stateful_set("db", "default")
    assert (read.status.replicas, read.status.ready_replicas) == (2, 1)
    agent = k8s.apps.read_namespaced_daemon_set("agent", "default")
    assert (agent.status.number_ready, agent.status.number_misscheduled) == (2, 0)

    k8s.apps.patch_namespaced_stateful_set("db", "default", {"spec": {"replicas": 0}})
    wait_until(
        lambda: k8s.apps.read_namespaced_stateful_set("db", "default").status.replicas == 0,
        5,
        "the condition",
    )
    # The budget counts the StatefulSet's scale, which is now zero: nothing is expected.
    emulator.create_pdb("default", "db-pdb", {"app": "db"}, max_unavailable=1)
    budget = k8s.policy.read_namespaced_pod_disruption_budget("db-pdb", "default").status
    assert (budget.expected_pods, budget.disruptions_allowed) == (0, 0)


def test_create_object_and_generic_reads(emulator):
    emulator.create_object(
        "configmaps", {"metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "b"}}
    )
    assert emulator.get_object("configmaps", "settings", namespace="default")["data"] == {"a": "b"}
    emulator.create_object(
        "deployments.apps",
        {
            "metadata": {"name": "api"},
            "spec": {
                "selector": {"matchLabels": {"app": "api"}},
                "template": {
                    "metadata": {"labels": {"app": "api"}},
                    "spec": {"containers": [{"name": "api", "image": "api:1"}]},
                },
            },
        },
        namespace="default",
    )
    (api,) = emulator.list_objects("deployments", namespace="default")
    assert (api["kind"], api["spec"]["replicas"], api["metadata"]["generation"]) == (
        "Deployment",
        1,
        1,
    )
    with pytest.raises(ValueError, match="namespaced"):
        emulator.create_object("poddisruptionbudgets", {"metadata": {"name": "x"}})
    emulator.create_node("node-1", unschedulable=True)
    assert emulator.get_object("nodes", "node-1")["spec"]["unschedulable"] is True


# --- discovery and authorization -------------------------------------------------------------


def test_discovery_of_api_groups(k8s):
    groups = k8s.apis.get_api_versions().groups
    assert [g.name for g in groups] == [
        "apps",
        "networking.k8s.io",
        "policy",
        "admissionregistration.k8s.io",
        "coordination.k8s.io",
    ]
    assert all(g.preferred_version.version == "v1" for g in groups)
    apps = {r.name for r in k8s.apps.get_api_resources().resources}
    workloads = {"daemonsets", "deployments", "replicasets", "statefulsets"}
    scaled = {"deployments", "replicasets", "statefulsets"}
    assert apps == workloads | {f"{w}/status" for w in workloads} | {f"{w}/scale" for w in scaled}
    pdb, _ = k8s.policy.get_api_resources().resources
    assert (pdb.name, pdb.short_names, pdb.namespaced) == ("poddisruptionbudgets", ["pdb"], True)
    assert {"patch", "update"} <= set(pdb.verbs)


def test_eviction_needs_create_on_the_subresource(k8s, emulator, apis_for):
    emulator.create_pod("default", "web")
    emulator.add_token("pods-only", user=RESPONDER, verbs={"pods": "*"})
    emulator.add_token("evictor", user=RESPONDER, verbs={"pods/eviction": {"create"}})
    emulator.add_token(
        "apps-reader", user=RESPONDER, verbs={"deployments.apps": {"get"}, "deployments.x": "*"}
    )

    refused = evict_refused(apis_for("pods-only"), "web")
    assert refused.status == 403
    assert status_of(refused)["message"] == (
        f'pods "web" is forbidden: User "{RESPONDER}" cannot create resource "pods/eviction" '
        'in API group "" in the namespace "default"'
    )
    evictor = apis_for("evictor")
    with pytest.raises(ApiException) as read:
        evictor.core.read_namespaced_pod("web", "default")
    assert read.value.status == 403
    assert evict(evictor, "web", grace_period_seconds=0)[0] == 201

    emulator.create_deployment("default", "api", 1, {"app": "api"})
    reader = apis_for("apps-reader")
    assert reader.apps.read_namespaced_deployment("api", "default").spec.replicas == 1
    with pytest.raises(ApiException) as patch:
        reader.apps.patch_namespaced_deployment("api", "default", {"spec": {"replicas": 0}})
    assert status_of(patch.value)["message"] == (
        f'deployments.apps "api" is forbidden: User "{RESPONDER}" cannot patch resource '
        '"deployments" in API group "apps" in the namespace "default"'
    )
