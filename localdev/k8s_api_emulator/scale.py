"""The ``scale`` subresource of Deployments, ReplicaSets and StatefulSets (autoscaling/v1).

As the apps registry's ScaleREST: a GET answers a ``Scale`` built from the workload; a PUT or
PATCH of a Scale (a patch applies to the current Scale) checks its resourceVersion against
the workload's, refuses negative replicas (422 on ``Scale.autoscaling``) and writes
``spec.replicas`` through the workload's ordinary update, so generation, the scaling
controller and admission (which sees the old and new Scale) behave as for any update.
"""

from __future__ import annotations

import copy
from typing import Any

from .admission import Admit, Attributes
from .kinds import ResourceKind
from .patches import apply_patch
from .status import bad_request, invalid, not_found
from .store import ObjectStore
from .updates import UpdateApi
from .validate_apps import validate_scale

_API_VERSION = "autoscaling/v1"
_OPERATORS = {"In": "in", "NotIn": "notin"}


def selector_string(selector: dict[str, Any] | None) -> str:
    """labels.Selector.String() of a LabelSelector: requirements sorted by key."""
    selector = selector or {}
    requirements = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator")
        values = ",".join(sorted(expression.get("values") or []))
        if operator in _OPERATORS:
            requirements.append((key, f"{key} {_OPERATORS[operator]} ({values})"))
        elif operator == "Exists":
            requirements.append((key, key))
        elif operator == "DoesNotExist":
            requirements.append((key, f"!{key}"))
    return ",".join(text for _, text in sorted(requirements))


def scale_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The Scale of a stored workload. autoscaling/v1 omits zero spec.replicas (omitempty)
    but always writes status.replicas."""
    meta = obj["metadata"]
    replicas = (obj.get("spec") or {}).get("replicas", 0)
    status: dict[str, Any] = {"replicas": (obj.get("status") or {}).get("replicas", 0)}
    selector = selector_string((obj.get("spec") or {}).get("selector"))
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": _API_VERSION,
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": replicas} if replicas else {},
        "status": status,
    }


def _decode_scale(body: Any, name: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the object provided is unrecognized (must be of type Scale)")
    kind = body.get("kind") or "Scale"
    version = body.get("apiVersion") or _API_VERSION
    if (kind, version) != ("Scale", _API_VERSION):
        raise bad_request(
            f'{kind} in version "{version.rpartition("/")[2]}" cannot be handled as a Scale'
        )
    for part in ("metadata", "spec"):
        if not isinstance(body.get(part) or {}, dict):
            raise bad_request(f"Scale.{part}: expected an object")
    body_name = (body.get("metadata") or {}).get("name") or ""
    if body_name != name:
        raise bad_request(
            f"the name of the object ({body_name}) does not match the name on the URL ({name})"
        )
    return body


class ScaleApi:
    def __init__(self, store: ObjectStore, updates: UpdateApi) -> None:
        self._store = store
        self._updates = updates

    def get(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        obj = self._store.get(kind.resource, namespace, name)
        if obj is None:
            raise not_found(kind.plural, name, kind.group)
        return scale_of(obj)

    def update(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        body: Any | None,
        patch: tuple[str, bytes] | None = None,
        *,
        dry_run: bool = False,
        admit: Admit | None = None,
    ) -> dict[str, Any]:
        """PUT ``body`` or PATCH ``patch`` (content type, raw patch); the new Scale."""
        with self._store.lock:
            current = self._store.get(kind.resource, namespace, name)
            if current is None:
                raise not_found(kind.plural, name, kind.group)
            old_scale = scale_of(current)
            if patch is not None:
                body = apply_patch(patch[0], old_scale, patch[1])
            scale = _decode_scale(body, name)
            replicas = (scale.get("spec") or {}).get("replicas", 0)
            if isinstance(replicas, bool) or not isinstance(replicas, int):
                raise bad_request(f"Scale.spec.replicas: expected an integer, got {replicas!r}")
            errors = validate_scale(scale)
            if errors:
                raise invalid("Scale", name, errors, "autoscaling")
            obj = copy.deepcopy(current)
            obj["spec"]["replicas"] = replicas
            obj["metadata"]["resourceVersion"] = (scale.get("metadata") or {}).get(
                "resourceVersion"
            )

            def admitted(new: dict[str, Any], old: dict[str, Any]) -> None:
                if admit is not None:
                    attrs = Attributes(
                        "UPDATE",
                        kind,
                        namespace,
                        name,
                        scale_of(new),
                        scale_of(old),
                        "scale",
                        ("autoscaling", "v1", "Scale"),
                        dry_run,
                    )
                    admit(attrs)

            stored = self._updates.commit(kind, namespace, current, obj, dry_run, admitted)
            return scale_of(stored)
