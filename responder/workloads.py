"""The workload that owns a pod (its controller), found through owner references.

Guards use it (DaemonSet and StatefulSet pods, min_healthy_replicas) and so does
`scale_to_zero`. A Deployment's pods are owned by a ReplicaSet, which the Deployment owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from responder.actions.base import KubeApis

if TYPE_CHECKING:
    from kubernetes.client import V1LabelSelector, V1Pod

    from responder.pods import ReadPod

# Kinds whose pods a responder may reason about; anything else counts as "other".
SCALABLE = ("Deployment", "StatefulSet")


@dataclass(frozen=True)
class Workload:
    """A pod's controller: its kind, name, desired replicas and pod selector."""

    kind: str
    name: str
    namespace: str
    desired: int | None = None
    # The label selector in list syntax (`app=web,tier in (a,b)`); None: none usable.
    selector: str | None = None

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.namespace}/{self.name}"


def _controller(metadata: object) -> object | None:
    references = getattr(metadata, "owner_references", None) or []
    return next((r for r in references if r.controller), None)


def owning_workload(apis: KubeApis, pod: ReadPod, timeout: float) -> Workload | None:
    """The pod's top controller, or None for a standalone pod."""
    namespace = pod.metadata.namespace
    owner = _controller(pod.metadata)
    if owner is None:
        return None
    if owner.kind == "ReplicaSet":
        replica_set = apis.apps.read_namespaced_replica_set(
            owner.name, namespace, _request_timeout=timeout
        )
        parent = _controller(replica_set.metadata)
        if parent is None or parent.kind != "Deployment":
            return _described("ReplicaSet", replica_set, namespace)
        deployment = apis.apps.read_namespaced_deployment(
            parent.name, namespace, _request_timeout=timeout
        )
        return _described("Deployment", deployment, namespace)
    if owner.kind == "StatefulSet":
        statefulset = apis.apps.read_namespaced_stateful_set(
            owner.name, namespace, _request_timeout=timeout
        )
        return _described("StatefulSet", statefulset, namespace)
    return Workload(owner.kind, owner.name, namespace)


_OPERATORS = {"In": "in", "NotIn": "notin"}


def selector_text(selector: V1LabelSelector | None) -> str | None:
    """A LabelSelector as `list` takes it, with its expressions; None if empty or unknown.

    Empty would select every pod of the namespace: never a safe count of a workload.
    """
    if selector is None:
        return None
    terms = [f"{k}={v}" for k, v in sorted((selector.match_labels or {}).items())]
    for expression in selector.match_expressions or []:
        key, operator = expression.key, expression.operator
        if operator in _OPERATORS:
            terms.append(f"{key} {_OPERATORS[operator]} ({','.join(expression.values or [])})")
        elif operator == "Exists":
            terms.append(key)
        elif operator == "DoesNotExist":
            terms.append(f"!{key}")
        else:
            return None
    return ",".join(terms) or None


def _described(kind: str, obj: object, namespace: str) -> Workload:
    spec = obj.spec  # type: ignore[attr-defined]
    replicas = spec.replicas if spec.replicas is not None else 1
    name = obj.metadata.name  # type: ignore[attr-defined]
    return Workload(kind, name, namespace, replicas, selector_text(spec.selector))


def is_ready(pod: V1Pod) -> bool:
    """Ready condition true, and not on its way out."""
    if pod.metadata.deletion_timestamp is not None:
        return False
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


# Pods read per list call: a page bounds what one read may hold, however many pods carry
# the workload's labels (anyone who may create pods in the namespace can add some).
READY_PAGE = 100


def count_ready_pods(
    apis: KubeApis, workload: Workload, timeout: float, enough: int, other_than: str
) -> int:
    """How many of the workload's pods (by its selector) but the one of UID `other_than`
    are ready now, counted page by page and no further than `enough`."""
    ready, token = 0, None
    while True:
        page = apis.core.list_namespaced_pod(
            workload.namespace,
            label_selector=workload.selector,
            limit=READY_PAGE,
            _continue=token,
            _request_timeout=timeout,
        )
        ready += sum(1 for p in page.items if p.metadata.uid != other_than and is_ready(p))
        token = page.metadata._continue if page.metadata else None
        if ready >= enough or not token:
            return ready
