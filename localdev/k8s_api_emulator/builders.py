"""Bodies for the emulator's Python helpers: objects as the controllers and the kubelet would
have left them for a healthy, running workload, so tests start from a realistic cluster."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from .core import pod_conditions
from .discovery import VERSION_INFO
from .meta import owner_reference
from .workloads import compact_counters

KUBELET_VERSION = VERSION_INFO["gitVersion"]
# Seeded pods need a valid spec; tests rarely care what it is.
DEFAULT_CONTAINER = {"name": "app", "image": "registry.k8s.io/pause:3.10"}
# rand.SafeEncodeString's alphabet, which pod-template-hash values are drawn from.
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(*parts: str) -> str:
    """A stable stand-in for a controller's pod-template-hash / revision hash."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return "".join(_HASH_ALPHABET[byte % len(_HASH_ALPHABET)] for byte in digest[:10])


def _template(labels: Mapping[str, str]) -> dict[str, Any]:
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": [dict(DEFAULT_CONTAINER)]}}


def pod(
    name: str,
    labels: Mapping[str, str] | None,
    annotations: Mapping[str, str] | None,
    spec: Mapping[str, Any] | None,
    *,
    phase: str | None,
    ready: bool,
    owner: Mapping[str, Any] | None,
    node_name: str | None,
    when: str,
) -> dict[str, Any]:
    """A pod; with ``owner`` it carries the controller reference and the owner's template
    labels (under ``labels``), as pods a controller creates do."""
    template_labels = (owner or {}).get("spec", {}).get("template", {}).get("metadata", {})
    metadata: dict[str, Any] = {
        "name": name,
        "labels": {**(template_labels.get("labels") or {}), **(labels or {})},
    }
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [owner_reference(owner)]
    body: dict[str, Any] = {
        "metadata": metadata,
        "spec": {"containers": [dict(DEFAULT_CONTAINER)], **(spec or {})},
    }
    if node_name:
        body["spec"]["nodeName"] = node_name
    status: dict[str, Any] = {}
    if phase:
        status["phase"] = phase
    if not ready:
        status["conditions"] = pod_conditions(phase or "Running", False, when)
    if status:
        body["status"] = status
    return body


def node(
    name: str, labels: Mapping[str, str] | None, unschedulable: bool, when: str
) -> dict[str, Any]:
    """A registered, Ready node (an unschedulable one carries the taint the node lifecycle
    controller adds)."""
    digest = hashlib.sha256(name.encode()).digest()
    spec: dict[str, Any] = {}
    if unschedulable:
        spec["unschedulable"] = True
        spec["taints"] = [
            {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": when}
        ]
    resources = {"cpu": "4", "ephemeral-storage": "100Gi", "memory": "16Gi", "pods": "110"}
    return {
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                **(labels or {}),
            },
        },
        "spec": spec,
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": when,
                    "lastTransitionTime": when,
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{digest[0]}.{digest[1] % 254 + 1}"},
                {"type": "Hostname", "address": name},
            ],
            # What the kubelet registers; NodeSystemInfo's fields are all required.
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": digest[:16].hex(),
                "systemUUID": str(uuid.UUID(bytes=digest[16:32])),
                "bootID": str(uuid.UUID(bytes=digest[:16])),
                "kernelVersion": "6.1.0-emulated",
                "osImage": "Container-Optimized OS",
                "containerRuntimeVersion": "containerd://2.0.0",
                "kubeletVersion": KUBELET_VERSION,
                "kubeProxyVersion": KUBELET_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def deployment(
    name: str, replicas: int, selector: Mapping[str, str], ready: int, when: str
) -> dict[str, Any]:
    available = ready >= replicas
    return {
        "metadata": {
            "name": name,
            "labels": dict(selector),
            "annotations": {"deployment.kubernetes.io/revision": "1"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            "template": _template(selector),
        },
        "status": compact_counters(
            "Deployment",
            {
                "observedGeneration": 1,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "unavailableReplicas": max(0, replicas - ready),
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True" if available else "False",
                        "lastUpdateTime": when,
                        "lastTransitionTime": when,
                        "reason": "MinimumReplicasAvailable"
                        if available
                        else "MinimumReplicasUnavailable",
                        "message": "Deployment has minimum availability."
                        if available
                        else "Deployment does not have minimum availability.",
                    },
                    {
                        "type": "Progressing",
                        "status": "True",
                        "lastUpdateTime": when,
                        "lastTransitionTime": when,
                        "reason": "NewReplicaSetAvailable",
                        "message": f'ReplicaSet "{replicaset_name(name, selector)}" has '
                        "successfully progressed.",
                    },
                ],
            },
        ),
    }


def replicaset_name(deployment_name: str, selector: Mapping[str, str]) -> str:
    labels = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return f"{deployment_name}-{template_hash(deployment_name, labels)}"


def replicaset(owner: Mapping[str, Any], ready: int) -> dict[str, Any]:
    """The ReplicaSet the deployment controller would have created for ``owner``."""
    selector = owner["spec"]["selector"]["matchLabels"]
    replicas = owner["spec"]["replicas"]
    name = replicaset_name(owner["metadata"]["name"], selector)
    labels = {**selector, "pod-template-hash": name.rpartition("-")[2]}
    return {
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "deployment.kubernetes.io/desired-replicas": str(replicas),
                "deployment.kubernetes.io/max-replicas": str(replicas + -(-replicas // 4)),
                "deployment.kubernetes.io/revision": "1",
            },
            "ownerReferences": [owner_reference(owner)],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": _template(labels),
        },
        "status": compact_counters(
            "ReplicaSet",
            {
                "replicas": replicas,
                "fullyLabeledReplicas": replicas,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "observedGeneration": 1,
            },
        ),
    }


def statefulset(
    name: str, replicas: int, selector: Mapping[str, str], ready: int
) -> dict[str, Any]:
    revision = f"{name}-{template_hash(name)}"
    return {
        "metadata": {"name": name, "labels": dict(selector)},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": dict(selector)},
            "template": _template(selector),
        },
        "status": compact_counters(
            "StatefulSet",
            {
                "observedGeneration": 1,
                "replicas": replicas,
                "readyReplicas": ready,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": ready,
                "currentRevision": revision,
                "updateRevision": revision,
            },
        ),
    }


def daemonset(name: str, selector: Mapping[str, str], nodes: int) -> dict[str, Any]:
    """A DaemonSet running one ready pod on each of ``nodes`` nodes."""
    return {
        "metadata": {"name": name, "labels": dict(selector)},
        "spec": {"selector": {"matchLabels": dict(selector)}, "template": _template(selector)},
        "status": compact_counters(
            "DaemonSet",
            {
                "currentNumberScheduled": nodes,
                "numberMisscheduled": 0,
                "desiredNumberScheduled": nodes,
                "numberReady": nodes,
                "observedGeneration": 1,
                "updatedNumberScheduled": nodes,
                "numberAvailable": nodes,
            },
        ),
    }


def pdb(
    name: str,
    selector: Mapping[str, str],
    min_available: int | str | None,
    max_unavailable: int | str | None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": {"matchLabels": dict(selector)}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"metadata": {"name": name}, "spec": spec}
