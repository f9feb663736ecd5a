"""What the responder asks the API server when it removes a pod: never a grace period of
0 (a force delete, which a node may stop only after the pod's own
terminationGracePeriodSeconds), and only the pod as read (its UID and resourceVersion),
read again when it changed meanwhile."""

from datetime import UTC, datetime, timedelta

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.wait import wait_until
from responder.actions import KubeApis
from responder.actions.base import ActionContext
from responder.actions.pod import DeletePod, EvictPod, LabelPod
from responder.handler import DEFAULT_POLICY_FILE, Responder, Settings
from responder.pods import read_pod
from responder.policy import load_policy
from shared.alert import PodRef
from shared.envelope import ReceivedMessage
from tests.conftest import as_bytes, kube_api_client, shell_alert

NOW = datetime.now(UTC)


def _default_responder(emulator: KubeApiEmulator) -> Responder:
    settings = Settings("dead", None, DEFAULT_POLICY_FILE, False, kube_timeout=5)
    apis = KubeApis(kube_api_client(emulator, "t"))
    return Responder(settings, load_policy(DEFAULT_POLICY_FILE), lambda cluster: apis)


def _message(pod: str) -> ReceivedMessage:
    alert = shell_alert(pod, time=NOW - timedelta(seconds=30))
    return ReceivedMessage(as_bytes(alert), {"alert_id": alert["uuid"]}, "m-1")


def test_the_default_delete_leaves_the_pod_terminating_for_a_second(emulator, published):
    emulator.create_pod("default", "web-1", creation_timestamp=NOW - timedelta(minutes=5))
    record = _default_responder(emulator).handle(_message("web-1"), 1)
    assert [(a.outcome, a.reason) for a in record.actions] == [("done", "deleted, grace period 1s")]
    [delete] = [r for r in emulator.requests if r.method == "DELETE"]
    assert delete.status == 200
    # Still in the API, terminating: its node has a second to stop it, then removes it.
    pod = emulator.get_pod("default", "web-1")
    assert pod is not None and pod["metadata"]["deletionGracePeriodSeconds"] == 1
    wait_until(lambda: emulator.get_pod("default", "web-1") is None, 10, "the pod to go")


# A pod changed between the read and the removal: read again, planned again.


def _context(apis: KubeApis) -> ActionContext:
    """A context holding the pod `web-1` as read now through `apis`."""
    pod = read_pod(apis.core, "web-1", "default", 5)
    ref = PodRef("default", "web-1", None)
    return ActionContext(apis, None, ref, pod, False, 5.0, None, b"")  # type: ignore[arg-type]


def _stale_read(emulator: KubeApiEmulator) -> tuple[ActionContext, KubeApis]:
    """A context holding the pod `web-1` as read now; the test then changes it."""
    emulator.create_pod("default", "web-1", creation_timestamp=NOW - timedelta(minutes=5))
    apis = KubeApis(kube_api_client(emulator, "t"))
    return _context(apis), apis


def _deletes_since(emulator: KubeApiEmulator, mark: int) -> list[int]:
    return [r.status for r in emulator.requests_since(mark) if r.method == "DELETE"]


def _assert_deleted_after_one_refusal(emulator: KubeApiEmulator, ctx: ActionContext) -> None:
    """Refused on the resourceVersion read (409), then deleted on the UID alone."""
    mark = len(emulator.requests)
    result = DeletePod(action="delete_pod").run(ctx)
    assert (result.outcome, result.reason) == ("done", "deleted, grace period 1s")
    assert _deletes_since(emulator, mark) == [409, 200]
    assert emulator.pod_deleted("default", "web-1")


def test_a_pod_changed_since_it_was_read_is_read_again_and_deleted(emulator):
    ctx, apis = _stale_read(emulator)
    apis.core.patch_namespaced_pod("web-1", "default", {"metadata": {"labels": {"app": "web"}}})
    _assert_deleted_after_one_refusal(emulator, ctx)


def test_of_two_deliveries_racing_only_one_deletes_the_pod_and_says_so(emulator):
    ctx, _ = _stale_read(emulator)
    mark = len(emulator.requests)
    first = DeletePod(action="delete_pod").run(ctx)  # the other delivery, on the same read
    second = DeletePod(action="delete_pod").run(ctx)
    assert (first.outcome, second.outcome) == ("done", "already_done")
    assert second.reason == "pod is already terminating (grace period 1s, within 1s)"
    assert _deletes_since(emulator, mark) == [200, 409]


def test_a_pod_replaced_since_it_was_read_is_left_alone(emulator):
    ctx, apis = _stale_read(emulator)
    apis.core.delete_namespaced_pod("web-1", "default", grace_period_seconds=0)
    emulator.create_pod("default", "web-1", creation_timestamp=NOW - timedelta(minutes=1))
    result = EvictPod(action="evict_pod", grace_period_seconds=1).run(ctx)
    assert (result.outcome, result.reason) == (
        "already_done",
        "the pod was replaced after it was read",
    )
    assert emulator.pod_running("default", "web-1")


class _Churning:
    """The pod's core API as a tenant writing the pod after every read sees it: each read
    is followed by a change of an annotation, so the resourceVersion read is always old."""

    def __init__(self, core, writer) -> None:
        self._core, self._writer, self._writes = core, writer, 0

    def read_namespaced_pod(self, name, namespace, **options):
        answer = self._core.read_namespaced_pod(name, namespace, **options)
        self._writes += 1
        change = {"metadata": {"annotations": {"churn": str(self._writes)}}}
        self._writer.patch_namespaced_pod(name, namespace, change)
        return answer

    def __getattr__(self, name):
        return getattr(self._core, name)


def test_a_pod_its_owner_keeps_changing_is_still_deleted(emulator):
    """Changed after every read, it is refused once on its resourceVersion, then deleted on
    its UID alone: writing the pod cannot hold its removal off."""
    emulator.create_pod("default", "web-1", creation_timestamp=NOW - timedelta(minutes=5))
    writer = KubeApis(kube_api_client(emulator, "t"))
    apis = KubeApis(kube_api_client(emulator, "t"))
    apis.__dict__["core"] = _Churning(apis.core, writer.core)
    ctx = _context(apis)  # and the pod changed right after the read
    _assert_deleted_after_one_refusal(emulator, ctx)


def test_a_rule_that_labels_the_pod_then_evicts_it_evicts_once(emulator):
    """The label moves the pod's resourceVersion: an eviction asks on the UID alone, as a
    refused one may already have spent the PodDisruptionBudget's allowance."""
    ctx, _ = _stale_read(emulator)
    LabelPod(action="label_pod", add={"suspect": "true"}).run(ctx)
    mark = len(emulator.requests)
    result = EvictPod(action="evict_pod", grace_period_seconds=1).run(ctx)
    assert (result.outcome, result.reason) == ("done", "evicted, grace period 1s")
    evictions = [r.status for r in emulator.requests_since(mark) if r.path.endswith("/eviction")]
    assert evictions == [201]
