"""pods/log on the Kubernetes API emulator, read through the official client as the
responder reads it: tailLines, limitBytes, previous, and the kubelet's 400s."""

from collections.abc import Iterator

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from tests.conftest import kube_api_client, status_of

ADMIN = "admin-token"
TWO = {"containers": [{"name": "app", "image": "a"}, {"name": "side", "image": "b"}]}


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator().start() as emu:
        emu.add_token(ADMIN, verbs="*")
        yield emu


@pytest.fixture
def core(emulator: KubeApiEmulator) -> Iterator[client.CoreV1Api]:
    with kube_api_client(emulator, ADMIN) as api:
        yield client.CoreV1Api(api)


def _log(core: client.CoreV1Api, pod: str, **options) -> bytes:
    response = core.read_namespaced_pod_log(pod, "default", _preload_content=False, **options)
    assert response.headers["Content-Type"] == "text/plain"
    return response.data


def _refusal(core: client.CoreV1Api, pod: str, **options) -> tuple[int, str]:
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_pod_log(pod, "default", **options)
    return raised.value.status, status_of(raised.value)["message"]


def test_tail_lines_then_limit_bytes(emulator, core):
    emulator.create_pod("default", "web")
    emulator.write_logs("default", "web", "app", "one\ntwo\nthree\n")
    assert _log(core, "web") == b"one\ntwo\nthree\n"
    assert _log(core, "web", tail_lines=2) == b"two\nthree\n"
    assert _log(core, "web", tail_lines=0) == b""
    assert _log(core, "web", tail_lines=2, limit_bytes=5) == b"two\nt"


def test_previous_is_the_instance_before_the_restart(emulator, core):
    emulator.create_pod("default", "web")
    emulator.write_logs("default", "web", "app", "before\n")
    assert _refusal(core, "web", previous=True) == (
        400,
        'previous terminated container "app" in pod "web" not found',
    )
    pod = emulator.restart_container("default", "web", "app")
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 1
    emulator.write_logs("default", "web", "app", "after\n")
    assert _log(core, "web", previous=True) == b"before\n"
    assert _log(core, "web") == b"after\n"


def test_a_container_must_be_named_when_there_are_several(emulator, core):
    emulator.create_pod("default", "web", spec=TWO)
    assert _refusal(core, "web") == (
        400,
        "a container name must be specified for pod web, choose one of: [app side]",
    )
    assert _refusal(core, "web", container="nope") == (
        400,
        "container nope is not valid for pod web",
    )
    assert _log(core, "web", container="side") == b""


def test_a_container_that_never_started_answers_as_the_kubelet(emulator, core):
    emulator.create_pod("default", "web", spec=TWO)
    emulator.container_waiting("default", "web", "side", "ImagePullBackOff")
    assert _refusal(core, "web", container="side") == (
        400,
        'container "side" in pod "web" is waiting to start: trying and failing to pull image',
    )
    emulator.create_pod("default", "pending", phase="Pending", node_name="emulator-node")
    assert _refusal(core, "pending") == (
        400,
        'container "app" in pod "pending" is waiting to start: ContainerCreating',
    )


def test_invalid_options_and_a_missing_pod(emulator, core):
    emulator.create_pod("default", "web")
    status, message = _refusal(core, "web", tail_lines=-1)
    assert status == 422
    assert "tailLines" in message
    assert _refusal(core, "gone")[0] == 404


def test_a_replacement_pod_starts_with_no_logs(emulator, core):
    emulator.create_pod("default", "web")
    emulator.write_logs("default", "web", "app", "old\n")
    core.delete_namespaced_pod("web", "default", grace_period_seconds=0)
    emulator.create_pod("default", "web")
    assert _log(core, "web") == b""


def test_events_are_listed_by_the_involved_object(emulator, core):
    pod = emulator.create_pod("default", "web")
    for name, uid in (("mine", pod["metadata"]["uid"]), ("other", "another-uid")):
        core.create_namespaced_event(
            "default",
            client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=name),
                involved_object=client.V1ObjectReference(
                    kind="Pod", name="web", namespace="default", uid=uid
                ),
                reason="Test",
                message="m",
            ),
        )
    selector = f"involvedObject.uid={pod['metadata']['uid']}"
    listed = core.list_namespaced_event("default", field_selector=selector)
    assert [e.metadata.name for e in listed.items] == ["mine"]
    by_name = core.list_namespaced_event(
        "default", field_selector="involvedObject.kind=Pod,involvedObject.name=web"
    )
    assert sorted(e.metadata.name for e in by_name.items) == ["mine", "other"]


def test_a_repeated_parameter_counts_by_its_first_value(emulator):
    """The parameter codec's Convert_Slice_string_To_int64 reads (*in)[0]."""
    emulator.create_pod("default", "web")
    emulator.write_logs("default", "web", "app", "one\ntwo\nthree\n")
    response = urllib3.request(
        "GET",
        f"{emulator.url}/api/v1/namespaces/default/pods/web/log?tailLines=1&tailLines=x",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert (response.status, response.data) == (200, b"three\n")
