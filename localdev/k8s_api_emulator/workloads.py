"""Strategies of the apps/v1 workloads: Deployment, ReplicaSet, StatefulSet, DaemonSet.

No workload controller runs, so no pods are created or removed and a workload keeps the
status it is created with (upstream resets status on create; tests need to seed it), its
required counters at zero when none is given. The one
exception is scaling, see ``controllers.py``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from .core import default_pod_spec, pod_spec_errors
from .json_shapes import Body
from .meta import label_selector
from .status import FieldError
from .strategy import Strategy
from .validate_apps import workload_selector_errors, workload_update_errors
from .validate_common import go_label_selector, kube_finalizer_errors

# Status counters Go serialises even when zero (no omitempty), by kind (k8s.io/api apps/v1).
REQUIRED_COUNTERS = {
    "Deployment": (),
    "ReplicaSet": ("replicas",),
    "StatefulSet": ("replicas", "availableReplicas"),
    "DaemonSet": (
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
    ),
}
REPLICA_COUNTERS = (
    "replicas",
    "fullyLabeledReplicas",
    "readyReplicas",
    "availableReplicas",
    "currentReplicas",
    "updatedReplicas",
)


def compact_counters(kind: str, status: dict[str, Any]) -> dict[str, Any]:
    """Drop zero counters the API omits (``omitempty``), keeping the required ones."""
    required = REQUIRED_COUNTERS.get(kind, ())
    return {k: v for k, v in status.items() if v != 0 or k in required or not isinstance(v, int)}


def go_map(labels: dict[str, Any]) -> str:
    """``%#v`` of a ``map[string]string``, as field errors print it."""
    entries = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(labels.items()))
    return f"map[string]string{{{entries}}}"


class WorkloadStrategy(Strategy):
    status_subresource = True
    tracks_generation = True
    scaled = True  # has spec.replicas
    kind: ClassVar[str]
    defaults: ClassVar[dict[str, Any]] = {}

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        """A status is always written, with the counters Go never omits (a ReplicaSet's
        ``replicas``...) at zero when the creator gave none."""
        super().prepare_for_create(obj)
        status = obj.setdefault("status", {})
        for counter in REQUIRED_COUNTERS[self.kind]:
            status.setdefault(counter, 0)

    def default(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        if self.scaled:
            spec.setdefault("replicas", 1)
        for key, value in self.defaults.items():
            spec.setdefault(key, json.loads(json.dumps(value)))
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        body = Body(self.kind, "apps/v1")
        spec = obj.get("spec") or {}
        errors = []
        replicas = body.integer(spec.get("replicas"), "spec.replicas")
        if replicas is not None and replicas < 0:
            errors.append(
                FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0")
            )
        selector = spec.get("selector")
        if selector is None:
            errors.append(FieldError.required("spec.selector"))
        else:
            selector = body.mapping(selector, "spec.selector")
        template = body.mapping(spec.get("template"), "spec.template")
        template_meta = body.mapping(template.get("metadata"), "spec.template.metadata")
        labels = body.string_map(template_meta.get("labels"), "spec.template.metadata.labels")
        if isinstance(selector, dict):
            errors += workload_selector_errors(self.kind, selector)
            try:
                matches = label_selector(selector)(labels)
            except ValueError:
                errors.append(
                    FieldError.invalid_rendered(
                        "spec.selector", go_label_selector(selector), "invalid label selector"
                    )
                )
                matches = True
            if not matches:
                errors.append(
                    FieldError(
                        "FieldValueInvalid",
                        "spec.template.metadata.labels",
                        f"Invalid value: {go_map(labels)}: `selector` does not match template "
                        "`labels`",
                    )
                )
        errors += kube_finalizer_errors(obj["metadata"].get("finalizers"))
        template_spec = body.mapping(template.get("spec"), "spec.template.spec")
        return errors + pod_spec_errors(template_spec, "spec.template.spec")

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        return self.validate(new) + workload_update_errors(self.kind, new, old)


class DeploymentStrategy(WorkloadStrategy):
    kind = "Deployment"
    defaults: ClassVar[dict[str, Any]] = {
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
        },
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }

    def spec_changed(self, new: dict[str, Any], old: dict[str, Any]) -> bool:
        # Annotations are copied to the ReplicaSets, so they count as a change too.
        annotations = new["metadata"].get("annotations") != old["metadata"].get("annotations")
        return annotations or super().spec_changed(new, old)


class ReplicaSetStrategy(WorkloadStrategy):
    kind = "ReplicaSet"


class StatefulSetStrategy(WorkloadStrategy):
    kind = "StatefulSet"
    defaults: ClassVar[dict[str, Any]] = {
        "podManagementPolicy": "OrderedReady",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
        "revisionHistoryLimit": 10,
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
    }


class DaemonSetStrategy(WorkloadStrategy):
    kind = "DaemonSet"
    scaled = False
    defaults: ClassVar[dict[str, Any]] = {
        "updateStrategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
        },
        "revisionHistoryLimit": 10,
    }
