"""The workload that owns a pod (its controller), found through owner references.

Guards use it (DaemonSet and StatefulSet pods, min_healthy_replicas) and so does
`scale_to_zero`. A Deployment's pods are owned by a ReplicaSet, which the Deployment owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from responder.actions.base import KubeApis
from responder.network_policies import selects

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


class OwnerMismatchError(Exception):
    """The pod's owner references name a workload that does not control it."""


def owning_workload(apis: KubeApis, pod: ReadPod, timeout: float) -> Workload | None:
    """The pod's top controller, or None for a standalone pod.

    A ReplicaSet, Deployment or StatefulSet is read, and taken as the controller only if
    it is the one the reference names (its UID) and its selector selects the pod: owner
    references are the pod's own metadata, which whoever may edit the pod can point
    anywhere, while a controller keeps only the pods its selector selects (upstream's
    ControllerRefManager.ClaimPods releases the others). Raises OwnerMismatchError if
    not; a Deployment named as a pod's controller is never one (its pods are its
    ReplicaSets'). Other kinds are named as the reference names them, unread.
    """
    namespace = pod.metadata.namespace
    labels = pod.metadata.labels or {}
    owner = _controller(pod.metadata)
    if owner is None:
        return None
    if owner.kind == "ReplicaSet":
        replica_set = apis.apps.read_namespaced_replica_set(
            owner.name, namespace, _request_timeout=timeout
        )
        _check_controls(apis, owner, replica_set, labels)
        parent = _controller(replica_set.metadata)
        if parent is None or parent.kind != "Deployment":
            return _described("ReplicaSet", replica_set, namespace)
        deployment = apis.apps.read_namespaced_deployment(
            parent.name, namespace, _request_timeout=timeout
        )
        # A Deployment keeps the ReplicaSets its selector selects (ClaimReplicaSets).
        _check_controls(apis, parent, deployment, replica_set.metadata.labels or {})
        return _described("Deployment", deployment, namespace)
    if owner.kind == "StatefulSet":
        statefulset = apis.apps.read_namespaced_stateful_set(
            owner.name, namespace, _request_timeout=timeout
        )
        _check_controls(apis, owner, statefulset, labels)
        return _described("StatefulSet", statefulset, namespace)
    if owner.kind == "Deployment":
        raise OwnerMismatchError(
            f"the pod names deployment/{namespace}/{owner.name} its controller, which a "
            "Deployment never is (its pods are its ReplicaSets')"
        )
    return Workload(owner.kind, owner.name, namespace)


def _check_controls(
    apis: KubeApis, reference: object, workload: object, labels: dict[str, str]
) -> None:
    """Raise OwnerMismatchError unless `workload` is the one `reference` names and its
    selector selects what carries `labels` (the pod, or the ReplicaSet a Deployment
    keeps)."""
    metadata, spec = workload.metadata, workload.spec  # type: ignore[attr-defined]
    named = f"{reference.kind.lower()}/{metadata.namespace}/{metadata.name}"  # type: ignore[attr-defined]
    if metadata.uid != reference.uid:  # type: ignore[attr-defined]
        raise OwnerMismatchError(f"{named} is not the one the owner reference names (its UID)")
    selector = apis.client.sanitize_for_serialization(spec.selector)
    if not spec.selector or not selects(selector, labels):
        raise OwnerMismatchError(f"{named} does not select what it is named the owner of")


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
