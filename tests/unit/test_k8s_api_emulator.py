"""The Kubernetes API emulator, driven only by the official `kubernetes` client through the
kubeconfig the emulator writes: what the client sees is what the responder will see."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.wait import wait_until
from tests.conftest import status_of

ADMIN = "admin-token"
RESPONDER = "system:serviceaccount:falco:responder"
RFC3339_SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CONTAINERS = [client.V1Container(name="app", image="nginx")]


def new_pod(name: str | None = None, labels: dict | None = None, **meta) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels, **meta),
        spec=client.V1PodSpec(containers=CONTAINERS),
    )


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator(host="127.0.0.1", port=0).start() as emu:
        emu.add_token(ADMIN, user="kubernetes-admin", verbs="*")
        yield emu


@pytest.fixture
def api_for(emulator: KubeApiEmulator) -> Iterator[Callable[[str | None], client.CoreV1Api]]:
    """CoreV1Api for a token (None: no credentials at all), closed after the test."""
    opened: list[client.ApiClient] = []

    def make(token: str | None) -> client.CoreV1Api:
        cfg = client.Configuration(host=emulator.url)
        if token is not None:
            document = emulator.kubeconfig_dict(token=token)
            config.load_kube_config_from_dict(document, client_configuration=cfg)
        cfg.retries = False  # urllib3 would otherwise retry some failures on its own
        opened.append(client.ApiClient(cfg))
        return client.CoreV1Api(opened[-1])

    yield make
    for api_client in opened:
        api_client.close()


@pytest.fixture
def core(emulator: KubeApiEmulator, tmp_path: Path) -> Iterator[client.CoreV1Api]:
    """Admin CoreV1Api loaded from the kubeconfig file the emulator writes."""
    cfg = client.Configuration()
    path = emulator.write_kubeconfig(tmp_path / "kubeconfig", token=ADMIN, context="emulator")
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    cfg.retries = False  # urllib3 would otherwise retry some failures on its own
    with client.ApiClient(cfg) as api_client:
        yield client.CoreV1Api(api_client)


def raw(api: client.CoreV1Api, method: str, path: str) -> tuple[int, dict, dict]:
    """A request the typed API has no method for, still through the client's REST layer."""
    try:
        response = api.api_client.call_api(
            path, method, auth_settings=["BearerToken"], _preload_content=False
        )
    except ApiException as exc:  # the client raises for any status outside 2xx
        return exc.status, json.loads(exc.body), dict(exc.headers)
    return response.status, json.loads(response.data), dict(response.getheaders())


# --- kubeconfig ----------------------------------------------------------------------------


def test_kubeconfig_file_loads_into_a_client_configuration(emulator, tmp_path):
    path = emulator.write_kubeconfig(tmp_path / "kc", token=ADMIN, context="emulator")
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    assert cfg.host == emulator.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.url)
    assert list(cfg.api_key.values()) == [f"Bearer {ADMIN}"]
    assert os.stat(path).st_mode & 0o777 == 0o600  # it holds a token
    with client.ApiClient(cfg) as api_client:
        names = [n.metadata.name for n in client.CoreV1Api(api_client).list_namespace().items]
    # A fresh emulator, like a fresh cluster, has the namespace its kubeconfig points at.
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]


def test_kubeconfig_dict_works_with_new_client_from_config_dict(emulator):
    document = emulator.kubeconfig_dict(token=ADMIN, context="ctx-x")
    assert document["current-context"] == "ctx-x"
    with config.new_client_from_config_dict(document, context="ctx-x") as api_client:
        namespace = client.CoreV1Api(api_client).read_namespace("default")
    assert namespace.status.phase == "Active"
    assert namespace.metadata.labels == {"kubernetes.io/metadata.name": "default"}


# --- pods: create, get, list ---------------------------------------------------------------


def test_create_get_and_list_pods_with_server_set_metadata(core):
    created = core.create_namespaced_pod("default", new_pod("web", {"app": "web"}))
    assert created.kind == "Pod" and created.api_version == "v1"
    assert created.metadata.namespace == "default"
    assert str(uuid.UUID(created.metadata.uid)) == created.metadata.uid
    assert created.status.phase == "Running"

    response = core.read_namespaced_pod("web", "default", _preload_content=False)
    assert response.headers["Content-Type"] == "application/json"
    wire = json.loads(response.data)
    assert RFC3339_SECONDS.match(wire["metadata"]["creationTimestamp"])
    assert wire["metadata"]["resourceVersion"] == created.metadata.resource_version
    assert wire["metadata"]["uid"] == created.metadata.uid

    second = core.create_namespaced_pod("default", new_pod("api"))
    assert int(second.metadata.resource_version) > int(created.metadata.resource_version)

    listed = core.list_namespaced_pod("default")
    assert listed.kind == "PodList"
    assert [p.metadata.name for p in listed.items] == ["api", "web"]
    assert int(listed.metadata.resource_version) >= int(second.metadata.resource_version)


def test_list_across_namespaces(core, emulator):
    emulator.create_namespace("falco")
    emulator.create_pod("falco", "agent")
    emulator.create_pod("default", "web")
    pods = core.list_pod_for_all_namespaces().items
    assert [(p.metadata.namespace, p.metadata.name) for p in pods] == [
        ("default", "web"),
        ("falco", "agent"),
    ]
    assert [p.metadata.name for p in core.list_namespaced_pod("falco").items] == ["agent"]
    assert core.list_namespaced_pod("empty-or-missing").items == []


def test_generate_name_gets_a_random_suffix(core):
    pod = core.create_namespaced_pod("default", new_pod(generate_name="web-"))
    assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", pod.metadata.name)
    assert core.read_namespaced_pod(pod.metadata.name, "default").metadata.uid == pod.metadata.uid


def test_missing_pod_is_a_404_status_the_client_parses(core):
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web", "default")
    assert caught.value.status == 404
    assert status_of(caught.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "web" not found',
        "reason": "NotFound",
        "details": {"name": "web", "kind": "pods"},
        "code": 404,
    }
    with pytest.raises(ApiException) as deleted:
        core.delete_namespaced_pod("web", "default")
    assert status_of(deleted.value)["message"] == 'pods "web" not found'


def test_create_conflicts_and_validation(core):
    core.create_namespaced_pod("default", new_pod("web"))
    with pytest.raises(ApiException) as duplicate:
        core.create_namespaced_pod("default", new_pod("web"))
    assert duplicate.value.status == 409
    assert status_of(duplicate.value)["reason"] == "AlreadyExists"
    assert status_of(duplicate.value)["message"] == 'pods "web" already exists'

    with pytest.raises(ApiException) as no_namespace:
        core.create_namespaced_pod("nope", new_pod("web"))
    assert no_namespace.value.status == 404
    assert status_of(no_namespace.value)["message"] == 'namespaces "nope" not found'
    assert status_of(no_namespace.value)["details"] == {"name": "nope", "kind": "namespaces"}

    with pytest.raises(ApiException) as nameless:
        core.create_namespaced_pod("default", new_pod())
    assert nameless.value.status == 422
    body = status_of(nameless.value)
    assert body["reason"] == "Invalid"
    assert body["message"] == (
        'Pod "" is invalid: metadata.name: Required value: name or generateName is required'
    )
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value: name or generateName is required",
            "field": "metadata.name",
        }
    ]

    with pytest.raises(ApiException) as bad_name:
        core.create_namespaced_pod("default", new_pod("Web_1"))
    assert bad_name.value.status == 422
    assert (
        'metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain'
        in (status_of(bad_name.value)["message"])
    )


# --- delete: preconditions, dry run, grace periods -----------------------------------------


def test_uid_precondition_mismatch_conflicts_and_a_match_deletes(core):
    pod = core.create_namespaced_pod("default", new_pod("web"))
    stale_uid = str(uuid.uuid4())
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_pod(
            "web",
            "default",
            body=client.V1DeleteOptions(
                grace_period_seconds=0, preconditions=client.V1Preconditions(uid=stale_uid)
            ),
        )
    assert caught.value.status == 409
    body = status_of(caught.value)
    assert body["reason"] == "Conflict"
    assert body["message"] == (
        f'Operation cannot be fulfilled on Pod "web": the UID in the precondition ({stale_uid}) '
        f"does not match the UID in record ({pod.metadata.uid}). "
        "The object might have been deleted and then recreated"
    )
    assert body["details"] == {"name": "web", "kind": "Pod"}
    assert core.read_namespaced_pod("web", "default").metadata.deletion_timestamp is None

    deleted = core.delete_namespaced_pod(
        "web",
        "default",
        body=client.V1DeleteOptions(
            grace_period_seconds=0, preconditions=client.V1Preconditions(uid=pod.metadata.uid)
        ),
    )
    assert deleted.metadata.uid == pod.metadata.uid
    assert deleted.metadata.deletion_grace_period_seconds == 0
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod("web", "default")
    assert gone.value.status == 404


def test_resource_version_precondition(core, emulator):
    current = core.create_namespaced_pod("default", new_pod("web")).metadata.resource_version
    core.create_namespaced_pod("default", new_pod("other"))  # moves the global counter only
    assert core.read_namespaced_pod("web", "default").metadata.resource_version == current
    stale = str(int(current) - 1)

    options = client.V1DeleteOptions(
        grace_period_seconds=0, preconditions=client.V1Preconditions(resource_version=stale)
    )
    with pytest.raises(ApiException) as caught:
        core.delete_namespaced_pod("web", "default", body=options)
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == (
        f'Operation cannot be fulfilled on Pod "web": the ResourceVersion in the precondition '
        f"({stale}) does not match the ResourceVersion in record ({current}). "
        "The object might have been modified"
    )
    options.preconditions.resource_version = current
    core.delete_namespaced_pod("web", "default", body=options)
    assert emulator.get_pod("default", "web") is None


def test_namespace_uid_precondition_uses_the_namespace_storage_message(core, emulator):
    emulator.create_namespace("falco")
    uid = emulator.get_object("namespaces", "falco")["metadata"]["uid"]
    with pytest.raises(ApiException) as caught:
        core.delete_namespace(
            "falco", body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid="x"))
        )
    assert caught.value.status == 409
    assert status_of(caught.value)["message"] == (
        'Operation cannot be fulfilled on namespaces "falco": '
        f"Precondition failed: UID in precondition: x, UID in object meta: {uid}"
    )


def test_dry_run_checks_everything_and_changes_nothing(core, emulator):
    pod = core.create_namespaced_pod("default", new_pod("web"))
    before = emulator.get_pod("default", "web")

    would_be = core.delete_namespaced_pod("web", "default", dry_run="All")
    assert would_be.metadata.deletion_timestamp is not None
    assert would_be.metadata.deletion_grace_period_seconds == 30  # the pod's default
    body_dry_run = client.V1DeleteOptions(dry_run=["All"], grace_period_seconds=0)
    assert core.delete_namespaced_pod("web", "default", body=body_dry_run).metadata.name == "web"

    with pytest.raises(ApiException) as conflict:
        core.delete_namespaced_pod(
            "web",
            "default",
            body=client.V1DeleteOptions(
                dry_run=["All"], preconditions=client.V1Preconditions(uid="not-the-uid")
            ),
        )
    assert conflict.value.status == 409
    with pytest.raises(ApiException) as missing:
        core.delete_namespaced_pod("ghost", "default", dry_run="All")
    assert missing.value.status == 404

    assert emulator.get_pod("default", "web") == before
    assert before["metadata"]["uid"] == pod.metadata.uid
    assert "deletionTimestamp" not in before["metadata"]


def test_graceful_delete_marks_the_pod_then_it_goes(core, emulator):
    pod = core.create_namespaced_pod("default", new_pod("web"))
    started = time.monotonic()
    terminating = core.delete_namespaced_pod("web", "default", grace_period_seconds=1)
    assert terminating.metadata.deletion_grace_period_seconds == 1
    assert terminating.metadata.deletion_timestamp is not None
    assert int(terminating.metadata.resource_version) > int(pod.metadata.resource_version)

    still_there = core.read_namespaced_pod("web", "default")
    assert still_there.metadata.deletion_timestamp == terminating.metadata.deletion_timestamp
    # A second delete with a longer grace period changes nothing.
    again = core.delete_namespaced_pod("web", "default", grace_period_seconds=30)
    assert again.metadata.deletion_grace_period_seconds == 1
    assert again.metadata.resource_version == terminating.metadata.resource_version

    wait_until(lambda: emulator.get_pod("default", "web") is None, 5, "the pod to go")
    assert time.monotonic() - started >= 0.9


def test_a_shorter_grace_period_shortens_a_pending_deletion(core, emulator):
    core.create_namespaced_pod("default", new_pod("web"))
    first = core.delete_namespaced_pod("web", "default", grace_period_seconds=60)
    assert first.metadata.deletion_grace_period_seconds == 60
    shorter = core.delete_namespaced_pod("web", "default", grace_period_seconds=1)
    assert shorter.metadata.deletion_grace_period_seconds == 1
    assert shorter.metadata.deletion_timestamp < first.metadata.deletion_timestamp
    wait_until(lambda: emulator.get_pod("default", "web") is None, 5, "the pod to go")


def test_a_shortened_grace_period_moves_the_stamp_back_by_the_difference(core, emulator):
    # rest.BeforeDelete: timestamp - old period + new period, and the new period as asked,
    # even when that stamp is already past (the kubelet then stops the pod at once).
    core.create_namespaced_pod("default", new_pod("web"))
    first = core.delete_namespaced_pod("web", "default", grace_period_seconds=3600)
    shorter = core.delete_namespaced_pod("web", "default", grace_period_seconds=5)
    assert shorter.metadata.deletion_grace_period_seconds == 5
    moved = first.metadata.deletion_timestamp - shorter.metadata.deletion_timestamp
    assert moved.total_seconds() == 3595


def test_evicting_a_terminating_pod_shortens_its_grace_period(core, emulator):
    # eviction.go: a terminating pod is deleted with the request's options, budgets unread.
    core.create_namespaced_pod("default", new_pod("web"))
    core.delete_namespaced_pod("web", "default", grace_period_seconds=3600)
    eviction = client.V1Eviction(
        metadata=client.V1ObjectMeta(name="web", namespace="default"),
        delete_options=client.V1DeleteOptions(grace_period_seconds=0),
    )
    core.create_namespaced_pod_eviction("web", "default", eviction)
    assert emulator.get_pod("default", "web") is None


def test_default_grace_period_and_immediate_cases(core, emulator):
    spec = {"containers": [{"name": "a", "image": "b"}], "terminationGracePeriodSeconds": 7}
    emulator.create_pod("default", "custom", spec=spec)
    assert (
        core.delete_namespaced_pod("custom", "default").metadata.deletion_grace_period_seconds == 7
    )

    # Finished pods and never-scheduled pods have nothing to stop: they go at once.
    emulator.create_pod("default", "done", phase="Succeeded")
    emulator.create_pod("default", "unscheduled", phase="Pending")
    for name in ("done", "unscheduled"):
        assert (
            core.delete_namespaced_pod(name, "default").metadata.deletion_grace_period_seconds == 0
        )
        assert emulator.get_pod("default", name) is None


# --- namespaces ----------------------------------------------------------------------------


def test_namespace_create_get_list_delete(core, emulator):
    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="falco")))
    assert created.status.phase == "Active"
    assert created.spec.finalizers == ["kubernetes"]
    assert core.read_namespace("falco").metadata.uid == created.metadata.uid
    assert [n.metadata.name for n in core.list_namespace().items] == [
        "default",
        "falco",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]
    emulator.create_pod("falco", "agent")

    response = core.delete_namespace("falco", _preload_content=False)
    terminating = json.loads(response.data)
    assert response.status == 200
    assert terminating["kind"] == "Namespace"
    assert terminating["status"]["phase"] == "Terminating"
    assert RFC3339_SECONDS.match(terminating["metadata"]["deletionTimestamp"])

    # Until the namespace controller stand-in purges it (about a second), it is Terminating.
    with pytest.raises(ApiException) as new_content:
        core.create_namespaced_pod("falco", new_pod("late"))
    assert new_content.value.status == 403
    assert status_of(new_content.value)["message"] == (
        'pods "late" is forbidden: unable to create new content in namespace falco '
        "because it is being terminated"
    )
    with pytest.raises(ApiException) as again:
        core.delete_namespace("falco")
    assert again.value.status == 409
    assert "The system is ensuring all content is removed" in status_of(again.value)["message"]

    wait_until(lambda: emulator.get_object("namespaces", "falco") is None, 5, "the namespace to go")
    assert emulator.list_objects("pods", namespace="falco") == []

    with pytest.raises(ApiException) as immortal:
        core.delete_namespace("default")
    assert immortal.value.status == 403
    assert status_of(immortal.value)["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )


# --- authentication and authorization ------------------------------------------------------


def test_missing_or_unknown_token_is_401(emulator, api_for):
    unauthorized = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }
    with pytest.raises(ApiException) as wrong:
        api_for("not-a-token").list_namespaced_pod("default")
    assert wrong.value.status == 401
    assert status_of(wrong.value) == unauthorized

    with pytest.raises(ApiException) as missing:
        api_for(None).list_namespaced_pod("default")
    assert missing.value.status == 401
    assert [r.user for r in emulator.requests] == [None, None]


def test_a_verb_not_granted_is_403_with_the_real_rbac_message(emulator, api_for):
    emulator.add_token("ro", user=RESPONDER, verbs={"get", "list"})
    emulator.add_token("deleter", user=RESPONDER, verbs={"pods": {"delete"}})
    emulator.create_pod("default", "web")

    with pytest.raises(ApiException) as delete:
        api_for("ro").delete_namespaced_pod("web", "default")
    assert delete.value.status == 403
    body = status_of(delete.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        f'pods "web" is forbidden: User "{RESPONDER}" cannot delete resource "pods" '
        'in API group "" in the namespace "default"'
    )
    assert body["details"] == {"name": "web", "kind": "pods"}

    deleter = api_for("deleter")
    with pytest.raises(ApiException) as listing:
        deleter.list_namespaced_pod("default")
    assert status_of(listing.value)["message"] == (
        f'pods is forbidden: User "{RESPONDER}" cannot list resource "pods" '
        'in API group "" in the namespace "default"'
    )
    with pytest.raises(ApiException) as everywhere:
        deleter.list_pod_for_all_namespaces()
    assert status_of(everywhere.value)["message"].endswith("at the cluster scope")
    with pytest.raises(ApiException) as namespace:
        deleter.read_namespace("default")
    assert status_of(namespace.value)["message"] == (
        f'namespaces "default" is forbidden: User "{RESPONDER}" cannot get resource '
        '"namespaces" in API group "" in the namespace "default"'
    )
    assert emulator.get_pod("default", "web") is not None
    deleter.delete_namespaced_pod("web", "default", grace_period_seconds=0)
    assert emulator.get_pod("default", "web") is None


# --- routing and discovery -----------------------------------------------------------------


def test_unknown_paths_and_methods(core, emulator):
    emulator.create_pod("default", "web")
    status, body, headers = raw(core, "GET", "/api/v1/namespaces/default/widgets")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert body["reason"] == "NotFound"
    assert body["message"] == "the server could not find the requested resource"
    assert raw(core, "GET", "/api/v1/pods/web")[0] == 404  # pods only live in a namespace
    assert raw(core, "GET", "/no/such/thing")[0] == 404

    for method, path in (
        ("PUT", "/api/v1/namespaces/default/pods"),  # no update of a collection
        ("PATCH", "/api/v1/namespaces/default/pods"),
        ("POST", "/api/v1/namespaces/default/pods/web"),
        ("GET", "/api/v1/namespaces/default/pods/web/eviction"),  # eviction is POST only
    ):
        status, body, _ = raw(core, method, path)
        assert (status, body["reason"]) == (405, "MethodNotAllowed"), (method, path)
    assert raw(core, "GET", "/api/v1/namespaces/default/pods/web/binding")[0] == 404


def test_discovery(core):
    api_client = core.api_client
    assert client.VersionApi(api_client).get_code().git_version.startswith("v1.")
    assert client.CoreApi(api_client).get_api_versions().versions == ["v1"]
    resources = {r.name: r for r in core.get_api_resources().resources}
    assert list(resources) == sorted(resources)  # the server sorts them by name
    assert set(resources) == {
        "configmaps",
        "events",
        "namespaces",
        "nodes",
        "pods",
        "pods/eviction",
        "pods/status",
        "namespaces/status",
        "nodes/status",
        "pods/log",
    }
    assert resources["pods"].namespaced and resources["pods"].kind == "Pod"
    assert not resources["namespaces"].namespaced and not resources["nodes"].namespaced
    assert {"get", "list", "create", "delete", "patch", "update"} <= set(resources["pods"].verbs)
    eviction = resources["pods/eviction"]
    assert (eviction.group, eviction.version, eviction.kind) == ("policy", "v1", "Eviction")
    assert eviction.verbs == ["create"]
    status = resources["pods/status"]  # the object's own kind: no group or version given
    assert (status.group, status.version, status.kind) == (None, None, "Pod")
    assert status.verbs == ["get", "patch", "update"]
    log = resources["pods/log"]
    assert (log.group, log.version, log.kind, log.verbs) == (None, None, "Pod", ["get"])


# --- selectors -----------------------------------------------------------------------------


def test_label_selectors(core, emulator):
    emulator.create_pod("default", "a", labels={"app": "web", "tier": "front"})
    emulator.create_pod("default", "b", labels={"app": "db", "tier": "back"})
    emulator.create_pod("default", "c", labels={"app": "web"})

    def names(selector: str) -> list[str]:
        return [
            p.metadata.name
            for p in core.list_namespaced_pod("default", label_selector=selector).items
        ]

    assert names("app=web") == ["a", "c"]
    assert names("app==web") == ["a", "c"]
    assert names("app!=web") == ["b"]
    assert names("tier") == ["a", "b"]
    assert names("!tier") == ["c"]
    assert names("tier in (front, back)") == ["a", "b"]
    assert names("tier notin (front)") == ["b", "c"]  # notin matches pods without the label
    assert names("app=web,tier") == ["a"]
    assert names("app=web, !tier") == ["c"]
    assert [
        p.metadata.name for p in core.list_pod_for_all_namespaces(label_selector="app=db").items
    ] == ["b"]

    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod("default", label_selector="app in web")
    assert bad.value.status == 400
    assert status_of(bad.value)["reason"] == "BadRequest"


def test_field_selectors(core, emulator):
    emulator.create_pod("default", "a")
    emulator.create_pod("default", "b", phase="Pending")
    by_name = core.list_namespaced_pod("default", field_selector="metadata.name=b").items
    assert [p.metadata.name for p in by_name] == ["b"]
    running = core.list_namespaced_pod("default", field_selector="status.phase!=Pending").items
    assert [p.metadata.name for p in running] == ["a"]
    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod("default", field_selector="spec.bogus=x")
    assert status_of(bad.value)["message"] == "field label not supported: spec.bogus"


# --- fault injection and the request log ---------------------------------------------------


def test_injected_500_twice_then_success(core, emulator):
    emulator.create_pod("default", "web")
    path = "/api/v1/namespaces/default/pods/web"
    emulator.inject_fault(method="DELETE", path=path, status=500, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            core.delete_namespaced_pod("web", "default", grace_period_seconds=0)
        assert caught.value.status == 500
        assert status_of(caught.value)["reason"] == "InternalError"
    assert emulator.get_pod("default", "web") is not None
    core.delete_namespaced_pod("web", "default", grace_period_seconds=0)
    assert emulator.get_pod("default", "web") is None
    assert [(r.method, r.status) for r in emulator.requests] == [
        ("DELETE", s) for s in (500, 500, 200)
    ]


def test_the_request_log_says_how_long_the_emulator_took_within_the_round_trip(core, emulator):
    emulator.create_pod("default", "web")
    start = time.perf_counter()
    core.read_namespaced_pod("web", "default")
    round_trip = time.perf_counter() - start
    (record,) = emulator.requests
    assert 0 < record.seconds < round_trip


def test_injected_429_carries_retry_after(core, emulator):
    emulator.create_pod("default", "web")
    emulator.inject_fault(method="GET", path="/api/v1/namespaces/default/pods/web", status=429)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web", "default")
    assert caught.value.status == 429
    assert caught.value.headers["Retry-After"] == "1"
    body = status_of(caught.value)
    assert (body["reason"], body["details"]) == ("TooManyRequests", {"retryAfterSeconds": 1})
    assert core.read_namespaced_pod("web", "default").metadata.name == "web"


def test_unlimited_fault_on_any_method_until_cleared(core, emulator):
    path = "/api/v1/namespaces/default/pods"
    emulator.inject_fault(path=path, status=503, count=None)
    for call in (
        lambda: core.list_namespaced_pod("default"),
        lambda: core.create_namespaced_pod("default", new_pod("x")),
    ):
        with pytest.raises(ApiException) as caught:
            call()
        assert (caught.value.status, status_of(caught.value)["reason"]) == (
            503,
            "ServiceUnavailable",
        )
    assert core.list_pod_for_all_namespaces().items == []  # another path is unaffected
    emulator.clear_faults()
    assert core.list_namespaced_pod("default").items == []


def test_a_hang_outlasts_the_client_timeout(core, emulator):
    emulator.create_pod("default", "web")
    path = "/api/v1/namespaces/default/pods/web"
    emulator.inject_fault(method="GET", path=path, hang_seconds=3)
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.read_namespaced_pod("web", "default", _request_timeout=0.3)
    assert time.monotonic() - started < 2
    assert emulator.requests[-1].status == 504
    assert core.read_namespaced_pod("web", "default").metadata.name == "web"


def test_request_log_records_what_the_client_did(emulator, api_for):
    emulator.add_token("ro", user=RESPONDER, verbs={"get", "list"})
    emulator.create_pod("default", "web")
    reader = api_for("ro")
    reader.list_namespaced_pod("default", label_selector="app=web")
    with pytest.raises(ApiException):
        reader.delete_namespaced_pod("web", "default")
    first, second = emulator.requests
    assert (first.method, first.path, first.status, first.user) == (
        "GET",
        "/api/v1/namespaces/default/pods",
        200,
        RESPONDER,
    )
    assert first.query == {"labelSelector": ["app=web"]}
    assert (second.method, second.status) == ("DELETE", 403)
    assert [r for r in emulator.requests if r.method == "DELETE" and r.status < 400] == []


# --- Python API, seeding and the CLI -------------------------------------------------------


def test_python_helpers_and_seed(emulator, tmp_path):
    alert_time = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    pod = emulator.create_pod(
        "default", "web", labels={"app": "web"}, uid="u-1", creation_timestamp=alert_time
    )
    assert pod["metadata"]["uid"] == "u-1"
    assert pod["metadata"]["creationTimestamp"] == "2024-05-01T12:00:00Z"
    assert emulator.get_object("pods", "web", namespace="default") == emulator.get_pod(
        "default", "web"
    )
    assert emulator.get_pod("default", "nope") is None

    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "namespaces:\n  - {name: falco, labels: {team: sec}}\n"
        "pods:\n  - {namespace: falco, name: agent, labels: {app: falco}, uid: u-2,"
        " creationTimestamp: '2024-05-01T11:00:00Z'}\n"
    )
    emulator.seed(seed)
    emulator.seed({"pods": [{"namespace": "falco", "name": "sidecar"}]})
    assert emulator.get_object("namespaces", "falco")["metadata"]["labels"]["team"] == "sec"
    agent = emulator.get_pod("falco", "agent")
    assert (agent["metadata"]["uid"], agent["metadata"]["creationTimestamp"]) == (
        "u-2",
        "2024-05-01T11:00:00Z",
    )
    assert [p["metadata"]["name"] for p in emulator.list_objects("pods")] == [
        "web",
        "agent",
        "sidecar",
    ]
    assert [p["metadata"]["name"] for p in emulator.list_objects("pods", namespace="falco")] == [
        "agent",
        "sidecar",
    ]
    with pytest.raises(ValueError, match="unknown keys"):
        emulator.seed({"pods": [{"namespace": "falco", "name": "x", "lables": {}}]})
    assert emulator.requests == []  # helpers bypass HTTP


def test_cli_serves_seed_and_kubeconfig_until_sigterm(tmp_path):
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {"namespaces": [{"name": "falco"}], "pods": [{"namespace": "falco", "name": "agent"}]}
        )
    )
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localdev.k8s_api_emulator",
            "--seed",
            str(seed),
            "--token",
            "cli-token",
            "--kubeconfig-out",
            str(kubeconfig),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = process.stdout.readline()
        assert re.fullmatch(r"k8s-api-emulator listening on http://127\.0\.0\.1:\d+\n", line)
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
        assert cfg.host == line.split()[-1]
        with client.ApiClient(cfg) as api_client:
            pods = client.CoreV1Api(api_client).list_namespaced_pod("falco").items
        assert [p.metadata.name for p in pods] == ["agent"]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
