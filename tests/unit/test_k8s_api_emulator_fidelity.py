"""Where the emulator must not flatter us: what a real API server writes, serves and does,
checked through the official client (whose models refuse a missing required field)."""

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.k8s_api_emulator.rbacfile import grant
from localdev.local_stack.wait import wait_until
from tests.conftest import kube_api_client, status_of

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin-token"


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator().start() as emu:
        emu.add_token(ADMIN, verbs="*")
        yield emu


@pytest.fixture
def api(emulator: KubeApiEmulator) -> Iterator[client.ApiClient]:
    with kube_api_client(emulator, ADMIN) as api_client:
        yield api_client


def template(labels: dict) -> client.V1PodTemplateSpec:
    container = client.V1Container(name="app", image="registry.k8s.io/pause:3.10")
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=labels),
        spec=client.V1PodSpec(containers=[container]),
    )


def test_workloads_created_without_a_status_read_back_with_the_required_counters(api):
    apps = client.AppsV1Api(api)
    selector = client.V1LabelSelector(match_labels={"app": "web"})
    spec = client.V1ReplicaSetSpec(replicas=2, selector=selector, template=template({"app": "web"}))
    apps.create_namespaced_replica_set(
        "default", client.V1ReplicaSet(metadata=client.V1ObjectMeta(name="web"), spec=spec)
    )
    deployment = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="api"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "api"}),
            template=template({"app": "api"}),
        ),
    )
    apps.create_namespaced_deployment("default", deployment)
    # The client's models require status.replicas of a ReplicaSet: a real server writes it.
    assert apps.read_namespaced_replica_set("web", "default").status.replicas == 0
    assert apps.read_namespaced_deployment("api", "default").status is not None


def test_every_object_the_responder_reads_deserializes_after_scaling_to_zero(emulator, api):
    emulator.create_namespace("shop")
    emulator.create_node("node-1")
    deployment = emulator.create_deployment("shop", "api", 3, {"app": "api"})
    (replicaset,) = emulator.owned_by(deployment)
    emulator.create_pod("shop", "api-1", owner=replicaset, node_name="node-1")
    statefulset = emulator.create_statefulset("shop", "db", 2, {"app": "db"})
    emulator.create_pod("shop", "db-0", owner=statefulset)
    emulator.create_object(
        "configmaps", {"metadata": {"name": "breaker", "namespace": "shop"}, "data": {"n": "1"}}
    )
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    apps.patch_namespaced_deployment("api", "shop", {"spec": {"replicas": 0}})
    apps.patch_namespaced_stateful_set_scale("db", "shop", {"spec": {"replicas": 0}})
    rs_name = replicaset["metadata"]["name"]
    wait_until(
        lambda: apps.read_namespaced_replica_set(rs_name, "shop").spec.replicas == 0,
        5,
        "the ReplicaSet scaled with its Deployment",
    )
    wait_until(
        lambda: apps.read_namespaced_stateful_set("db", "shop").status.replicas == 0,
        5,
        "the StatefulSet's status to follow",
    )
    assert apps.read_namespaced_replica_set(rs_name, "shop").status.replicas == 0
    db = apps.read_namespaced_stateful_set("db", "shop").status
    assert (db.replicas, db.available_replicas, db.ready_replicas) == (0, 0, None)
    assert apps.read_namespaced_deployment("api", "shop").spec.replicas == 0
    assert apps.read_namespaced_deployment_scale("api", "shop").status.replicas == 0
    assert core.read_namespaced_pod("api-1", "shop").metadata.owner_references[0].name == rs_name
    assert core.list_namespaced_pod("shop", label_selector="app=db").items[0].status.phase
    assert core.read_namespace("shop").status.phase == "Active"
    assert core.read_node("node-1").status.node_info.kubelet_version
    assert core.read_namespaced_config_map("breaker", "shop").data == {"n": "1"}


def test_status_subresource_reads_and_writes_the_status_only(emulator, api):
    emulator.create_pod("default", "web", labels={"app": "web"})
    core = client.CoreV1Api(api)
    assert core.read_namespaced_pod_status("web", "default").status.phase == "Running"
    patched = core.patch_namespaced_pod_status(
        "web",
        "default",
        {"metadata": {"labels": {"app": "changed"}}, "status": {"phase": "Failed"}},
    )
    assert (patched.status.phase, patched.metadata.labels) == ("Failed", {"app": "web"})
    # ...and the main resource keeps the status, whatever the body says.
    core.patch_namespaced_pod("web", "default", {"status": {"phase": "Running"}})
    assert core.read_namespaced_pod("web", "default").status.phase == "Failed"


def test_scale_subresource(emulator, api):
    emulator.create_deployment("default", "api", 3, {"app": "api", "tier": "back"})
    apps = client.AppsV1Api(api)
    scale = apps.read_namespaced_deployment_scale("api", "default")
    assert (scale.kind, scale.api_version) == ("Scale", "autoscaling/v1")
    assert (scale.spec.replicas, scale.status.replicas) == (3, 3)
    assert scale.status.selector == "app=api,tier=back"
    stale = client.V1Scale(
        metadata=client.V1ObjectMeta(name="api", resource_version="1"),
        spec=client.V1ScaleSpec(replicas=1),
    )
    with pytest.raises(ApiException) as conflict:
        apps.replace_namespaced_deployment_scale("api", "default", stale)
    assert conflict.value.status == 409
    negative = {"spec": {"replicas": -1}}
    with pytest.raises(ApiException) as invalid:
        apps.patch_namespaced_deployment_scale("api", "default", negative)
    assert status_of(invalid.value)["message"] == (
        'Scale.autoscaling "api" is invalid: spec.replicas: Invalid value: -1: '
        "must be greater than or equal to 0"
    )
    scaled = apps.patch_namespaced_deployment_scale("api", "default", {"spec": {"replicas": 0}})
    assert scaled.spec.replicas is None  # autoscaling/v1 omits zero replicas
    deployment = apps.read_namespaced_deployment("api", "default")
    assert (deployment.spec.replicas, deployment.metadata.generation) == (0, 2)


@pytest.mark.parametrize("answer", [{"status": 503}, {"hang_seconds": 3}])
def test_a_fault_after_performing_does_the_request_and_loses_the_answer(emulator, api, answer):
    emulator.create_pod("default", "web")
    path = "/api/v1/namespaces/default/pods/web"
    emulator.inject_fault(method="DELETE", path=path, after_performing=True, **answer)
    core = client.CoreV1Api(api)
    expected = (ApiException, urllib3.exceptions.ReadTimeoutError)
    with pytest.raises(expected):
        core.delete_namespaced_pod("web", "default", grace_period_seconds=0, _request_timeout=0.5)
    assert emulator.get_pod("default", "web") is None  # done, whatever the client heard
    assert emulator.requests[-1].status == answer.get("status", 504)
    with pytest.raises(ApiException) as again:
        core.delete_namespaced_pod("web", "default", grace_period_seconds=0)
    assert again.value.status == 404


def test_an_encoded_slash_in_a_name_is_a_path_separator_as_on_kube_apiserver(emulator, api):
    # Go's net/http hands kube-apiserver the decoded path, and its RequestInfo and router
    # split that: "web%2Fstatus" addresses the status subresource of pod "web".
    emulator.create_pod("default", "web")
    core = client.CoreV1Api(api)
    assert core.read_namespaced_pod("web/status", "default").metadata.name == "web"
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web/nothing", "default")
    assert caught.value.status == 404


def test_rbac_manifests_grant_roles_in_their_namespace_only(emulator, api):
    documents = list(
        yaml.safe_load_all((ROOT / "deploy" / "rbac" / "clusterrole.yaml").read_text())
    )
    documents += list(
        yaml.safe_load_all((ROOT / "deploy" / "rbac" / "kubeconfig-mode.yaml").read_text())
    )
    rbac = [d for d in documents if d["apiVersion"].startswith("rbac.")]
    user = emulator.add_token_from_rbac("responder", rbac)
    assert user == "system:serviceaccount:falco-responder:responder"
    emulator.create_namespace("falco-responder")
    with kube_api_client(emulator, "responder") as responder:
        core = client.CoreV1Api(responder)
        breaker = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="breaker"))
        core.create_namespaced_config_map("falco-responder", breaker)
        with pytest.raises(ApiException) as caught:
            core.create_namespaced_config_map("default", breaker)
        assert caught.value.status == 403
        with pytest.raises(ApiException) as caught:
            core.list_namespaced_pod("default")  # no list: the default policy never lists
        assert caught.value.status == 403


def test_rbac_manifests_the_emulator_cannot_honour_are_refused():
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "r"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"], "verbs": ["get"]}
        ],
    }
    with pytest.raises(ValueError, match="resourceNames is not supported"):
        grant([role], user="u")


def test_cli_tokens_with_rights_from_rbac_files(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localdev.k8s_api_emulator",
            "--token",
            f"responder={ROOT / 'deploy' / 'rbac' / 'clusterrole.yaml'}",
            "--token",
            "admin",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        line = process.stdout.readline()
        assert re.fullmatch(r"k8s-api-emulator listening on http://127\.0\.0\.1:\d+\n", line)
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        with client.ApiClient(cfg) as api_client:
            core = client.CoreV1Api(api_client)
            assert core.read_namespace("default").metadata.name == "default"  # granted
            with pytest.raises(ApiException) as caught:
                core.list_namespace()  # not granted
            assert caught.value.status == 403
            assert (
                'User "responder" cannot list resource "namespaces"'
                in status_of(caught.value)["message"]
            )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0


def test_a_node_registered_without_a_status_reads_back_with_the_fields_go_always_writes(api):
    core = client.CoreV1Api(api)
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name="bare")))
    status = core.read_node("bare").status
    assert (status.node_info.kubelet_version, status.daemon_endpoints.kubelet_endpoint.port) == (
        "",
        0,
    )
