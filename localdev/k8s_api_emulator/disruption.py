"""PodDisruptionBudgets: validation, and the disruption controller's arithmetic.

The disruption controller is not a background loop here: a budget's status is computed from
the current pods whenever the budget is read (and by the eviction subresource), so it never
trails, and reading it does not change its resourceVersion.

Arithmetic follows upstream ``getExpectedPodCount``: an integer ``minAvailable`` expects every
selected pod; a percentage ``minAvailable`` or any ``maxUnavailable`` expects the sum of the
selected pods' controllers' ``spec.replicas`` (a Deployment's for pods of its ReplicaSet), with
percentages rounded up (``GetScaledValueFromIntOrPercent(..., true)``). Approximation: a pod
without such a controller counts as one expected pod, where upstream ignores unmanaged pods
and stops computing (no disruptions allowed) for controllers without a scale (DaemonSets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import is_pod_ready
from .meta import controller_of, is_empty_selector, label_selector
from .status import FieldError
from .store import ObjectStore
from .strategy import Strategy
from .validation import percent

PODS = ("", "pods")
PODDISRUPTIONBUDGETS = ("policy", "poddisruptionbudgets")
_REPLICASETS = ("apps", "replicasets")
_DEPLOYMENTS = ("apps", "deployments")
_STATEFULSETS = ("apps", "statefulsets")
_POLICIES = ["AlwaysAllow", "IfHealthyBudget"]


@dataclass(frozen=True)
class Budget:
    expected: int
    desired: int
    healthy: int
    failure: str = ""  # why the numbers could not be computed (condition SyncFailed)

    @property
    def allowed(self) -> int:
        allowed = self.healthy - self.desired
        return 0 if self.failure or self.expected <= 0 or allowed <= 0 else allowed


def scaled_value(value: int | str, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    if percent(value):
        raise ValueError("invalid value for IntOrString: invalid type: string is not a percentage")
    return -(-int(value[:-1]) * total // 100)


def selects(pdb: dict[str, Any], pod: dict[str, Any]) -> bool:
    """Whether eviction applies ``pdb`` to ``pod``: an empty selector matches nothing there."""
    selector = (pdb.get("spec") or {}).get("selector")
    if is_empty_selector(selector):
        return False
    try:
        return label_selector(selector)(pod["metadata"].get("labels") or {})
    except ValueError:
        return False


def budgets_for(store: ObjectStore, pod: dict[str, Any]) -> list[dict[str, Any]]:
    namespace = pod["metadata"]["namespace"]
    return [pdb for pdb in store.list(PODDISRUPTIONBUDGETS, namespace) if selects(pdb, pod)]


def _replicas(obj: dict[str, Any]) -> int:
    replicas = (obj.get("spec") or {}).get("replicas")
    return 1 if replicas is None else replicas


def _owned(
    store: ObjectStore, resource: tuple[str, str], namespace: str, ref: dict[str, Any]
) -> dict[str, Any] | None:
    obj = store.get(resource, namespace, ref.get("name", ""))
    return obj if obj is not None and obj["metadata"]["uid"] == ref.get("uid") else None


def _scale_of(store: ObjectStore, namespace: str, ref: dict[str, Any]) -> tuple[str, int] | None:
    """The (uid, spec.replicas) the disruption controller's finders give for a pod's controller."""
    group = ref.get("apiVersion", "").rpartition("/")[0]
    if group != "apps":
        return None
    if ref.get("kind") == "StatefulSet":
        owner = _owned(store, _STATEFULSETS, namespace, ref)
        return (owner["metadata"]["uid"], _replicas(owner)) if owner else None
    if ref.get("kind") != "ReplicaSet":
        return None
    replicaset = _owned(store, _REPLICASETS, namespace, ref)
    if replicaset is None:
        return None
    deployment_ref = controller_of(replicaset)
    if deployment_ref is None or deployment_ref.get("kind") != "Deployment":
        return replicaset["metadata"]["uid"], _replicas(replicaset)
    deployment = _owned(store, _DEPLOYMENTS, namespace, deployment_ref)
    return (deployment["metadata"]["uid"], _replicas(deployment)) if deployment else None


def _expected_scale(store: ObjectStore, namespace: str, pods: list[dict[str, Any]]) -> int:
    scales: dict[str, int] = {}
    loose = 0
    for pod in pods:
        ref = controller_of(pod)
        found = _scale_of(store, namespace, ref) if ref else None
        if found is None:
            loose += 1
        else:
            scales[found[0]] = found[1]
    return sum(scales.values()) + loose


def budget(store: ObjectStore, pdb: dict[str, Any]) -> Budget:
    namespace = pdb["metadata"]["namespace"]
    spec = pdb.get("spec") or {}
    try:
        selected = label_selector(spec.get("selector"))
    except ValueError as error:
        return Budget(0, 0, 0, str(error))
    pods = [p for p in store.list(PODS, namespace) if selected(p["metadata"].get("labels") or {})]
    healthy = sum(1 for p in pods if not p["metadata"].get("deletionTimestamp") and is_pod_ready(p))
    try:
        if spec.get("maxUnavailable") is not None:
            expected = _expected_scale(store, namespace, pods)
            desired = max(0, expected - scaled_value(spec["maxUnavailable"], expected))
        elif isinstance(spec.get("minAvailable"), int):
            expected, desired = len(pods), spec["minAvailable"]
        elif spec.get("minAvailable") is not None:
            expected = _expected_scale(store, namespace, pods)
            desired = scaled_value(spec["minAvailable"], expected)
        else:
            expected = desired = 0
    except ValueError as error:
        return Budget(0, 0, healthy, str(error))
    return Budget(expected, desired, healthy)


def budget_status(store: ObjectStore, pdb: dict[str, Any]) -> dict[str, Any]:
    """What the disruption controller would have written into ``pdb.status``."""
    numbers = budget(store, pdb)
    allowed = numbers.allowed
    generation = pdb["metadata"].get("generation", 1)
    if numbers.failure:
        reason, message = "SyncFailed", numbers.failure
    else:
        reason, message = ("SufficientPods" if allowed > 0 else "InsufficientPods"), ""
    return {
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": numbers.healthy,
        "desiredHealthy": numbers.desired,
        "expectedPods": numbers.expected,
        "conditions": [
            {
                "type": "DisruptionAllowed",
                "status": "True" if allowed > 0 else "False",
                "observedGeneration": generation,
                "lastTransitionTime": pdb["metadata"]["creationTimestamp"],
                "reason": reason,
                "message": message,
            }
        ],
    }


def _int_or_percent_errors(field: str, value: Any) -> list[FieldError]:
    """ValidatePositiveIntOrPercent and IsNotMoreThan100Percent; IntOrString prints bare."""

    def invalid(detail: str) -> FieldError:
        return FieldError("FieldValueInvalid", field, f"Invalid value: {value}: {detail}")

    if isinstance(value, bool) or not isinstance(value, int | str):
        return [invalid("must be an integer or percentage (e.g '5%')")]
    if isinstance(value, int):
        return [invalid("must be greater than or equal to 0")] if value < 0 else []
    errors = [invalid(problem) for problem in percent(value)]
    if not errors and int(value[:-1]) > 100:
        errors.append(invalid("must not be greater than 100%"))
    return errors


class PodDisruptionBudgetStrategy(Strategy):
    status_subresource = True
    tracks_generation = True

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errors = []
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            # Upstream prints the internal Go struct here; the emulator prints the JSON spec.
            errors.append(
                FieldError(
                    "FieldValueInvalid",
                    "spec",
                    f"Invalid value: {spec}: minAvailable and maxUnavailable cannot be both set",
                )
            )
        for key in ("minAvailable", "maxUnavailable"):
            if spec.get(key) is not None:
                errors += _int_or_percent_errors(f"spec.{key}", spec[key])
        policy = spec.get("unhealthyPodEvictionPolicy")
        if policy is not None and policy not in _POLICIES:
            errors.append(
                FieldError.not_supported("spec.unhealthyPodEvictionPolicy", policy, _POLICIES)
            )
        return errors

    def decorate(self, obj: dict[str, Any], store: ObjectStore) -> None:
        obj["status"] = budget_status(store, obj)
