"""The registry of served resource kinds and their per-kind behaviour (upstream "strategies").

Adding a kind is a ``ResourceKind(...)`` entry in ``default_registry``; a ``Strategy`` subclass
is only needed when the kind defaults fields, validates its spec or deletes gracefully.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .status import FieldError
from .validation import dns1123_label, dns1123_subdomain

# Stands in for the scheduler: pods created without a node are bound here (see PodStrategy).
EMULATOR_NODE = "emulator-node"


class Strategy:
    """Defaults for a plain kind: no defaulting, no spec validation, immediate deletion."""

    # Store.ReturnDeletedObject: DELETE answers with the object instead of a Success Status.
    return_deleted_object = False
    name_rule: Callable[[str], list[str]] = staticmethod(dns1123_subdomain)

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        """Set server-side defaults on a new object (PrepareForCreate + defaulting)."""

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        """Spec validation beyond the name; metadata.name is checked by the API layer."""
        return []

    def grace_period(self, obj: dict[str, Any], requested: int | None) -> int | None:
        """Seconds of graceful deletion for ``obj``, or None if the kind deletes at once."""
        return None


class PodStrategy(Strategy):
    return_deleted_object = True

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        status = obj.setdefault("status", {})
        spec.setdefault("terminationGracePeriodSeconds", 30)
        # Upstream resets status to Pending on create; tests seed running pods, so a given
        # phase is kept and the default is Running, bound to a node like a scheduled pod.
        status.setdefault("phase", "Running")
        if not spec.get("nodeName") and status["phase"] != "Pending":
            spec["nodeName"] = EMULATOR_NODE

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        containers = obj.get("spec", {}).get("containers")
        if not containers or not isinstance(containers, list):
            return [FieldError.required("spec.containers")]
        return [
            FieldError.required(f"spec.containers[{index}].{key}")
            for index, container in enumerate(containers)
            for key in ("name", "image")
            if not isinstance(container, dict) or not container.get(key)
        ]

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

    def prepare_for_create(self, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        finalizers = obj.setdefault("spec", {}).setdefault("finalizers", [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        obj["status"] = {"phase": "Active"}


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
    verbs: tuple[str, ...] = ("create", "delete", "get", "list")

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
)


def default_registry() -> Registry:
    registry = Registry()
    for kind in (NAMESPACES, PODS):
        registry.register(kind)
    return registry
