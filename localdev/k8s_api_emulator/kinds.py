"""The registry of served resource kinds; per-kind behaviour lives in their strategies.

Adding a kind is a ``ResourceKind(...)`` entry in ``default_registry``; a ``Strategy`` subclass
(``core.py``, ``workloads.py``, ``disruption.py``) is only needed when the kind defaults fields,
validates its spec, guards its status or deletes gracefully.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from .core import (
    EMULATOR_NODE,
    ConfigMapStrategy,
    EventStrategy,
    NamespaceStrategy,
    NodeStrategy,
    PodStrategy,
)
from .disruption import PodDisruptionBudgetStrategy
from .policies import ValidatingAdmissionPolicyBindingStrategy, ValidatingAdmissionPolicyStrategy
from .strategy import CreateOnUpdateStrategy, Strategy
from .validate_networking import NetworkPolicyStrategy
from .workloads import (
    DaemonSetStrategy,
    DeploymentStrategy,
    ReplicaSetStrategy,
    StatefulSetStrategy,
)

__all__ = ["EMULATOR_NODE", "Registry", "ResourceKind", "Strategy", "Subresource"]

ALL_VERBS = ("create", "delete", "get", "list", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    """A subresource served under ``{kind}/{name}/{name}``, with its own kind (Eviction,
    Scale), or with an empty kind the object itself (status)."""

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


# Reads and writes of the object's status only (the main resource keeps the stored status).
STATUS = Subresource("status", "", "", "", ("get", "patch", "update"))
# autoscaling/v1 Scale of a workload's spec.replicas.
SCALE = Subresource("scale", "autoscaling", "v1", "Scale", ("get", "patch", "update"))
EVICTION = Subresource("eviction", "policy", "v1", "Eviction", ("create",))
# A container's logs: plain text, read with GET only (logs.py).
LOG = Subresource("log", "", "", "", ("get",))


@dataclass(frozen=True)
class ResourceKind:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str
    short_names: tuple[str, ...] = ()
    strategy: Strategy = field(default_factory=Strategy)
    # Extra fieldSelector labels -> path into the object (metadata.name/namespace are implicit).
    field_paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Verbs the emulator implements for the kind; discovery advertises exactly these.
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[Subresource, ...] = ()

    @property
    def resource(self) -> tuple[str, str]:
        """(group, plural): the storage key, the same across versions as in etcd."""
        return (self.group, self.plural)

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def selectable_fields(self) -> dict[str, tuple[str, ...]]:
        fields = {"metadata.name": ("metadata", "name")}
        if self.namespaced:
            fields["metadata.namespace"] = ("metadata", "namespace")
        fields.update(self.field_paths)
        return fields


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[tuple[str, str, str], ResourceKind] = {}

    def register(self, kind: ResourceKind) -> None:
        self._kinds[(kind.group, kind.version, kind.plural)] = kind

    def lookup(self, group: str, version: str, plural: str) -> ResourceKind | None:
        return self._kinds.get((group, version, plural))

    def resolve(self, resource: str) -> ResourceKind:
        """``pods`` or ``deployments.apps`` -> kind; the core group wins a bare plural."""
        plural, _, group = resource.partition(".")
        matches = [k for k in self if k.plural == plural and (k.group == group or not group)]
        matches.sort(key=lambda k: k.group != "")
        if not matches:
            raise KeyError(f"unknown resource {resource!r}")
        return matches[0]

    def for_kind(self, api_version: str, kind: str) -> ResourceKind:
        """The served resource of ``kind`` in ``api_version`` (``v1``, ``apps/v1``...)."""
        for candidate in self:
            if (candidate.api_version, candidate.kind) == (api_version, kind):
                return candidate
        raise KeyError(f"no served resource for kind {kind!r} in {api_version!r}")

    def __iter__(self) -> Iterator[ResourceKind]:
        return iter(self._kinds.values())

    def group_versions(self) -> dict[str, list[str]]:
        """API group -> served versions, core group under ``""``."""
        served: dict[str, list[str]] = {}
        for kind in self:
            versions = served.setdefault(kind.group, [])
            if kind.version not in versions:
                versions.append(kind.version)
        return served


NAMESPACES = ResourceKind(
    group="",
    version="v1",
    plural="namespaces",
    kind="Namespace",
    namespaced=False,
    singular="namespace",
    short_names=("ns",),
    strategy=NamespaceStrategy(),
    field_paths={"status.phase": ("status", "phase")},
    subresources=(STATUS,),
)

PODS = ResourceKind(
    group="",
    version="v1",
    plural="pods",
    kind="Pod",
    namespaced=True,
    singular="pod",
    short_names=("po",),
    strategy=PodStrategy(),
    field_paths={
        "spec.nodeName": ("spec", "nodeName"),
        "spec.restartPolicy": ("spec", "restartPolicy"),
        "spec.schedulerName": ("spec", "schedulerName"),
        "spec.serviceAccountName": ("spec", "serviceAccountName"),
        "status.phase": ("status", "phase"),
        "status.podIP": ("status", "podIP"),
        "status.nominatedNodeName": ("status", "nominatedNodeName"),
    },
    subresources=(EVICTION, LOG, STATUS),
)

NODES = ResourceKind(
    group="",
    version="v1",
    plural="nodes",
    kind="Node",
    namespaced=False,
    singular="node",
    short_names=("no",),
    strategy=NodeStrategy(),
    field_paths={"spec.unschedulable": ("spec", "unschedulable")},
    subresources=(STATUS,),
)

CONFIGMAPS = ResourceKind(
    group="",
    version="v1",
    plural="configmaps",
    kind="ConfigMap",
    namespaced=True,
    singular="configmap",
    short_names=("cm",),
    strategy=ConfigMapStrategy(),
)

EVENTS = ResourceKind(
    group="",
    version="v1",
    plural="events",
    kind="Event",
    namespaced=True,
    singular="event",
    short_names=("ev",),
    strategy=EventStrategy(),
    field_paths={
        **{
            f"involvedObject.{key}": ("involvedObject", key)
            for key in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        },
        "reason": ("reason",),
        "reportingComponent": ("reportingComponent",),
        "source": ("source", "component"),
        "type": ("type",),
    },
)

DEPLOYMENTS = ResourceKind(
    group="apps",
    version="v1",
    plural="deployments",
    kind="Deployment",
    namespaced=True,
    singular="deployment",
    short_names=("deploy",),
    strategy=DeploymentStrategy(),
    subresources=(SCALE, STATUS),
)

REPLICASETS = ResourceKind(
    group="apps",
    version="v1",
    plural="replicasets",
    kind="ReplicaSet",
    namespaced=True,
    singular="replicaset",
    short_names=("rs",),
    strategy=ReplicaSetStrategy(),
    field_paths={"status.replicas": ("status", "replicas")},
    subresources=(SCALE, STATUS),
)

STATEFULSETS = ResourceKind(
    group="apps",
    version="v1",
    plural="statefulsets",
    kind="StatefulSet",
    namespaced=True,
    singular="statefulset",
    short_names=("sts",),
    strategy=StatefulSetStrategy(),
    subresources=(SCALE, STATUS),
)

DAEMONSETS = ResourceKind(
    group="apps",
    version="v1",
    plural="daemonsets",
    kind="DaemonSet",
    namespaced=True,
    singular="daemonset",
    short_names=("ds",),
    strategy=DaemonSetStrategy(),
    subresources=(STATUS,),
)

NETWORKPOLICIES = ResourceKind(
    group="networking.k8s.io",
    version="v1",
    plural="networkpolicies",
    kind="NetworkPolicy",
    namespaced=True,
    singular="networkpolicy",
    short_names=("netpol",),
    strategy=NetworkPolicyStrategy(),
)

PODDISRUPTIONBUDGETS = ResourceKind(
    group="policy",
    version="v1",
    plural="poddisruptionbudgets",
    kind="PodDisruptionBudget",
    namespaced=True,
    singular="poddisruptionbudget",
    short_names=("pdb",),
    strategy=PodDisruptionBudgetStrategy(),
    subresources=(STATUS,),
)

LEASES = ResourceKind(
    group="coordination.k8s.io",
    version="v1",
    plural="leases",
    kind="Lease",
    namespaced=True,
    singular="lease",
    strategy=CreateOnUpdateStrategy(),
)

VALIDATING_ADMISSION_POLICIES = ResourceKind(
    group="admissionregistration.k8s.io",
    version="v1",
    plural="validatingadmissionpolicies",
    kind="ValidatingAdmissionPolicy",
    namespaced=False,
    singular="validatingadmissionpolicy",
    strategy=ValidatingAdmissionPolicyStrategy(),
    subresources=(STATUS,),
)

VALIDATING_ADMISSION_POLICY_BINDINGS = ResourceKind(
    group="admissionregistration.k8s.io",
    version="v1",
    plural="validatingadmissionpolicybindings",
    kind="ValidatingAdmissionPolicyBinding",
    namespaced=False,
    singular="validatingadmissionpolicybinding",
    strategy=ValidatingAdmissionPolicyBindingStrategy(),
)

# Registration order is discovery order; named groups follow kube-apiserver's group order.
ALL_KINDS = (
    NAMESPACES,
    PODS,
    NODES,
    CONFIGMAPS,
    EVENTS,
    DEPLOYMENTS,
    REPLICASETS,
    STATEFULSETS,
    DAEMONSETS,
    NETWORKPOLICIES,
    PODDISRUPTIONBUDGETS,
    VALIDATING_ADMISSION_POLICIES,
    VALIDATING_ADMISSION_POLICY_BINDINGS,
    LEASES,
)


def default_registry() -> Registry:
    registry = Registry()
    for kind in ALL_KINDS:
        registry.register(kind)
    return registry
