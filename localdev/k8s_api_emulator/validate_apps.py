"""Update rules of the apps/v1 workloads and the autoscaling/v1 Scale they serve:
pkg/apis/apps/validation/validation.go, the apps strategies' ValidateUpdate and
pkg/apis/autoscaling/validation/validation.go (ValidateScale)."""

from __future__ import annotations

from typing import Any

from .json_shapes import Body
from .meta import validate_metadata
from .status import FieldError
from .validate_common import (
    go_label_selector,
    kube_finalizer_errors,
    label_selector_errors,
    without_empty,
)
from .validation import dns1123_subdomain

# ValidateStatefulSetUpdate's refusal, as a real API server words it.
STATEFULSET_UPDATE_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
    "'minReadySeconds' are forbidden"
)
_SCALE = Body("Scale", "autoscaling/v1")
_STATEFULSET_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


# The kind each ValidateXSpec names when the selector is empty (ReplicaSet's says deployment).
_EMPTY_SELECTOR_NAME = {
    "Deployment": "deployment",
    "ReplicaSet": "deployment",
    "StatefulSet": "statefulset",
    "DaemonSet": "daemonset",
}


def workload_selector_errors(kind: str, selector: dict[str, Any]) -> list[FieldError]:
    """ValidateDeploymentSpec / ValidateReplicaSetSpec / ValidateStatefulSetSpec /
    ValidateDaemonSetSpec on spec.selector: label selector syntax, and not empty."""
    errors = label_selector_errors(_body(kind), selector, "spec.selector")
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(
            FieldError.invalid_rendered(
                "spec.selector",
                go_label_selector(selector),
                f"empty selector is invalid for {_EMPTY_SELECTOR_NAME[kind]}",
            )
        )
    return errors


def _body(kind: str) -> Body:
    return Body(kind, "apps/v1")


def workload_update_errors(kind: str, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """What an update adds to the create rules: the apps/v1 strategies' ValidateUpdate make
    spec.selector immutable (ValidateImmutableField) and ValidateStatefulSetUpdate lets
    only a few spec fields change."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    errors = kube_finalizer_errors(new["metadata"].get("finalizers"))
    selector = spec.get("selector")
    if selector != old_spec.get("selector") and isinstance(selector, dict):
        errors.append(
            FieldError.invalid_rendered(
                "spec.selector", go_label_selector(selector), "field is immutable"
            )
        )
    if kind == "StatefulSet":
        kept = {k: v for k, v in spec.items() if k not in _STATEFULSET_MUTABLE}
        old_kept = {k: v for k, v in old_spec.items() if k not in _STATEFULSET_MUTABLE}
        if without_empty(kept) != without_empty(old_kept):
            errors.append(FieldError.forbidden("spec", STATEFULSET_UPDATE_FORBIDDEN))
    return errors


def validate_scale(scale: dict[str, Any]) -> list[FieldError]:
    """ValidateScale: the Scale's own metadata (a DNS-subdomain name, labels, annotations)
    and non-negative replicas."""
    meta = _SCALE.mapping(scale.get("metadata"), "metadata")
    for part in ("labels", "annotations"):
        _SCALE.string_map(meta.get(part), f"metadata.{part}")
    name = meta.get("name") or ""
    if not name:
        errors = [FieldError.required("metadata.name", "name or generateName is required")]
    else:
        errors = [FieldError.invalid("metadata.name", name, p) for p in dns1123_subdomain(name)]
    errors += validate_metadata(meta)
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if replicas < 0:
        errors.append(
            FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
        )
    return errors
