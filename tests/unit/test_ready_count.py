"""min_healthy_replicas counts the workload's other ready pods page by page, and stops
once there are enough: however many pods carry its labels, one read holds one page."""

from dataclasses import dataclass, field

from kubernetes import client

from responder import actions  # noqa: F401 (loads responder.workloads in its order)
from responder.workloads import READY_PAGE, Workload, count_ready_pods


def _pod(uid: str, ready: bool) -> client.V1Pod:
    condition = client.V1PodCondition(type="Ready", status="True" if ready else "False")
    return client.V1Pod(
        metadata=client.V1ObjectMeta(uid=uid), status=client.V1PodStatus(conditions=[condition])
    )


@dataclass
class _Core:
    pods: list[client.V1Pod]
    calls: list[dict] = field(default_factory=list)

    def list_namespaced_pod(self, namespace, label_selector, limit, _continue, _request_timeout):
        self.calls.append({"limit": limit, "continue": _continue})
        start = int(_continue or 0)
        end = start + limit
        token = str(end) if end < len(self.pods) else None
        return client.V1PodList(
            items=self.pods[start:end], metadata=client.V1ListMeta(_continue=token)
        )


@dataclass
class _Apis:
    core: _Core


WORKLOAD = Workload("Deployment", "web", "shop", desired=3, selector="app=web")


def _count(pods, enough, other_than="self"):
    core = _Core(pods)
    return count_ready_pods(_Apis(core), WORKLOAD, 1.0, enough, other_than), core.calls


def test_every_page_is_read_when_the_ready_pods_are_too_few():
    pods = [_pod(str(i), ready=i % 2 == 0) for i in range(2 * READY_PAGE + 10)]
    count, calls = _count(pods, enough=10_000)
    assert count == READY_PAGE + 5
    assert [c["limit"] for c in calls] == [READY_PAGE] * 3


def test_counting_stops_once_there_are_enough():
    pods = [_pod(str(i), ready=True) for i in range(5 * READY_PAGE)]
    count, calls = _count(pods, enough=3)
    assert count >= 3 and len(calls) == 1


def test_the_pod_about_to_go_is_never_counted():
    count, _ = _count([_pod("self", ready=True), _pod("other", ready=True)], enough=10)
    assert count == 1
