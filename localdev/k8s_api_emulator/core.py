"""Strategies of the core-group kinds: pods, namespaces, nodes, configmaps, events."""

from __future__ import annotations

from typing import Any

from .status import FieldError
from .strategy import Strategy
from .validate_common import kube_finalizer_errors
from .validate_core import (
    validate_configmap,
    validate_configmap_update,
    validate_event,
    validate_namespace,
    validate_node,
    validate_node_update,
    validate_pod_update,
)
from .validation import dns1123_label, path_segment_name

# Stands in for the scheduler: pods created without a node are bound here (see PodStrategy).
EMULATOR_NODE = "emulator-node"


def _condition(kind: str, ready: bool, when: str, reason: str = "") -> dict[str, Any]:
    condition: dict[str, Any] = {
        "type": kind,
        "status": "True" if ready else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }
    if reason:
        condition["reason"] = reason
    return condition


def pod_conditions(phase: str, ready: bool, when: str) -> list[dict[str, Any]]:
    """The conditions the kubelet (or, for Pending, the scheduler) reports for ``phase``."""
    if phase == "Pending":
        return [_condition("PodScheduled", False, when, "Unschedulable")]
    if phase in ("Succeeded", "Failed"):
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        return [
            _condition("Initialized", True, when, reason),
            _condition("Ready", False, when, reason),
            _condition("ContainersReady", False, when, reason),
            _condition("PodScheduled", True, when),
        ]
    unready = "" if ready else "ContainersNotReady"
    return [
        _condition("Initialized", True, when),
        _condition("Ready", ready, when, unready),
        _condition("ContainersReady", ready, when, unready),
        _condition("PodScheduled", True, when),
    ]


def is_pod_ready(pod: dict[str, Any]) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in pod.get("status", {}).get("conditions") or []
    )


def _containers_errors(spec: Any, prefix: str) -> list[FieldError]:
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not containers or not isinstance(containers, list):
        return [FieldError.required(f"{prefix}.containers")]
    return [
        FieldError.required(f"{prefix}.containers[{index}].{key}")
        for index, container in enumerate(containers)
        for key in ("name", "image")
        if not isinstance(container, dict) or not container.get(key)
    ]


def default_pod_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec, for the fields the emulator fills in."""
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")


def pod_spec_errors(spec: Any, prefix: str = "spec") -> list[FieldError]:
    """The part of ValidatePodSpec the emulator checks: containers with a name and image."""
    return _containers_errors(spec, prefix)


class PodStrategy(Strategy):
    return_deleted_object = True
    status_subresource = True
    tracks_generation = True  # PodObservedGenerationTracking, on by default since 1.34

    def default(self, obj: dict[str, Any]) -> None:
        default_pod_spec(obj.setdefault("spec", {}))

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        super().prepare_for_create(obj)
        spec = obj["spec"]
        status = obj.setdefault("status", {})
        # Upstream resets status to Pending on create and lets the scheduler and kubelet move
        # it on; with neither running, a given status is kept and the default is a Running,
        # Ready pod bound to a node, as tests usually want.
        status.setdefault("phase", "Running")
        if not spec.get("nodeName") and status["phase"] != "Pending":
            spec["nodeName"] = EMULATOR_NODE
        when = obj["metadata"]["creationTimestamp"]
        status.setdefault("conditions", pod_conditions(status["phase"], True, when))
        if status["phase"] == "Running":
            status.setdefault("startTime", when)
            ready = is_pod_ready(obj)
            status.setdefault(
                "containerStatuses",
                [
                    {
                        "name": c.get("name"),
                        "image": c.get("image"),
                        "imageID": "",
                        "ready": ready,
                        "restartCount": 0,
                        "started": True,
                        "state": {"running": {"startedAt": when}},
                    }
                    for c in spec.get("containers") or []
                    if isinstance(c, dict)
                ],
            )

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        finalizers = kube_finalizer_errors(obj["metadata"].get("finalizers"))
        return finalizers + pod_spec_errors(obj.get("spec"))

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        return self.validate(new) + validate_pod_update(new, old)

    def grace_period(self, obj: dict[str, Any], requested: int | None) -> int | None:
        # podStrategy.CheckGracefulDelete: unscheduled or finished pods go at once.
        if requested is None:
            requested = obj["spec"].get("terminationGracePeriodSeconds") or 0
        if not obj["spec"].get("nodeName"):
            return 0
        if obj.get("status", {}).get("phase") in ("Failed", "Succeeded"):
            return 0
        return 1 if requested < 0 else requested


class NamespaceStrategy(Strategy):
    name_rule = staticmethod(dns1123_label)
    status_subresource = True

    def default(self, obj: dict[str, Any]) -> None:
        name = obj.get("metadata", {}).get("name")
        if name:  # SetDefaults_Namespace
            labels = obj["metadata"].get("labels") or {}
            labels["kubernetes.io/metadata.name"] = name
            obj["metadata"]["labels"] = labels

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        spec = obj.setdefault("spec", {})
        finalizers = spec.get("finalizers") or []
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, new: dict[str, Any], old: dict[str, Any]) -> None:
        super().prepare_for_update(new, old)
        new["spec"] = old.get("spec", {})  # finalizers change only through /finalize

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return validate_namespace(obj)


# NodeSystemInfo: Go writes every field, empty or not.
NODE_INFO_FIELDS = (
    "machineID",
    "systemUUID",
    "bootID",
    "kernelVersion",
    "osImage",
    "containerRuntimeVersion",
    "kubeletVersion",
    "kubeProxyVersion",
    "operatingSystem",
    "architecture",
)


class NodeStrategy(Strategy):
    # Nodes keep a status given on create (the kubelet registers with one); updates through
    # the main resource do not change it.
    status_subresource = True

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        """The struct-valued status fields Go always writes, zero when none was given."""
        super().prepare_for_create(obj)
        status = obj.setdefault("status", {})
        status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 0}})
        info = status.setdefault("nodeInfo", {})
        for key in NODE_INFO_FIELDS:
            info.setdefault(key, "")

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return validate_node(obj)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        return validate_node_update(new, old)


class ConfigMapStrategy(Strategy):
    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return validate_configmap(obj)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        return validate_configmap_update(new, old)


class EventStrategy(Strategy):
    allow_create_on_update = True
    name_rule = staticmethod(path_segment_name)

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return validate_event(obj)
