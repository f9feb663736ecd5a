"""Updates (PUT) and patches (PATCH): ``registry.Store.Update`` with ``rest.BeforeUpdate``.

* A PUT body's non-empty ``metadata.uid`` is a precondition (409, in the storage layer's
  words); a PATCH that changes the uid fails validation instead (422, field is immutable),
  as upstream (the patcher passes no preconditions).
* A ``metadata.resourceVersion`` that differs from the stored one is a 409 (optimistic
  concurrency); an empty one updates unconditionally (every emulated kind allows that).
* A PUT of a missing object is a 404 unless the kind allows create-on-update (leases,
  events), which answers 201.
* ``status`` of kinds with a status subresource, ``creationTimestamp``, ``generation`` and
  deletion fields are kept from the stored object; generation goes up on spec changes.
* A write that changes nothing is not written: the resourceVersion stays, as with etcd.
* The ``status`` subresource writes the status only (everything else is kept from the
  stored object); ``scale`` (``scale.py``) writes ``spec.replicas`` only.
* Admission (``admission.py``) sees every update, no-ops included, once it is validated.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .admission import Admit, Attributes
from .api import ResourceApi
from .codec import decode, typed
from .kinds import ResourceKind
from .meta import validate_metadata_update
from .patches import apply_patch
from .status import bad_request, conflict, invalid, not_found
from .store import ObjectStore

OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
# etcd key prefixes that differ from the plural.
_STORAGE_PREFIX = {"nodes": "minions"}

UpdateHook = Callable[[ResourceKind, dict[str, Any], dict[str, Any]], None]
# Admission of an update, given the new and the stored object (both typed).
AdmitUpdate = Callable[[dict[str, Any], dict[str, Any]], None]


def storage_key(kind: ResourceKind, namespace: str, name: str) -> str:
    prefix = _STORAGE_PREFIX.get(kind.plural, kind.plural)
    return "/registry/" + "/".join(part for part in (prefix, namespace, name) if part)


def _check_name(meta: dict[str, Any], name: str, namespace: str) -> None:
    """handlers.checkName: the body must name what the URL names."""
    body_name = meta.get("name") or ""
    if body_name != name:
        raise bad_request(
            f"the name of the object ({body_name}) does not match the name on the URL ({name})"
        )
    body_namespace = meta.get("namespace") or ""
    if namespace and body_namespace and body_namespace != namespace:
        raise bad_request(
            f"the namespace of the object ({body_namespace}) does not match the namespace on "
            f"the request ({namespace})"
        )


class UpdateApi:
    def __init__(self, api: ResourceApi, store: ObjectStore, on_update: UpdateHook) -> None:
        self._api = api
        self._store = store
        self._on_update = on_update  # controllers reacting to a committed update

    def update(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        body: Any,
        *,
        dry_run: bool = False,
        admit: Admit | None = None,
        subresource: str = "",
    ) -> tuple[int, dict[str, Any]]:
        """PUT: (200, updated object), or (201, created) for create-on-update kinds."""
        obj = decode(kind, body)
        _check_name(obj["metadata"], name, namespace)
        with self._store.lock:
            current = self._store.get(kind.resource, namespace, name)
            if current is None:
                if subresource or not kind.strategy.allow_create_on_update:
                    raise not_found(kind.plural, name, kind.group)
                created = self._api.create(kind, namespace, body, dry_run=dry_run, admit=admit)
                return 201, created
            uid, stored_uid = obj["metadata"].get("uid"), current["metadata"]["uid"]
            if uid and uid != stored_uid:
                raise conflict(
                    kind.plural,
                    name,
                    "StorageError: invalid object, Code: 4, Key: "
                    f"{storage_key(kind, namespace, name)}, ResourceVersion: 0, "
                    f"AdditionalErrorMsg: Precondition failed: UID in precondition: {uid}, "
                    f"UID in object meta: {stored_uid}",
                    kind.group,
                )
            admitted = _admission(kind, namespace, name, subresource, dry_run, admit)
            return 200, self.commit(kind, namespace, current, obj, dry_run, admitted, subresource)

    def patch(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        content_type: str,
        raw: bytes,
        *,
        dry_run: bool = False,
        admit: Admit | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        with self._store.lock:
            current = self._store.get(kind.resource, namespace, name)
            if current is None:
                raise not_found(kind.plural, name, kind.group)
            obj = decode(kind, apply_patch(content_type, typed(kind, current), raw))
            meta = obj["metadata"]
            if kind.namespaced and meta.get("namespace") not in (None, "", namespace):
                raise bad_request(
                    "the namespace of the provided object does not match "
                    "the namespace sent on the request"
                )
            _check_name(meta, name, "")
            admitted = _admission(kind, namespace, name, subresource, dry_run, admit)
            return self.commit(kind, namespace, current, obj, dry_run, admitted, subresource)

    def commit(
        self,
        kind: ResourceKind,
        namespace: str,
        current: dict[str, Any],
        obj: dict[str, Any],
        dry_run: bool,
        admitted: AdmitUpdate | None = None,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Store ``obj`` over ``current`` (both untyped) as an update of the main resource,
        or with ``subresource="status"`` of the status only."""
        meta, old = obj["metadata"], current["metadata"]
        name = old["name"]
        version = meta.get("resourceVersion")
        if version and version != old["resourceVersion"]:
            raise conflict(kind.plural, name, OPTIMISTIC_LOCK, kind.group)
        if subresource == "status":
            # statusStrategy.PrepareForUpdate: the status is all a status write changes.
            status = obj.get("status")
            obj = copy.deepcopy(current)
            obj.pop("status", None)
            if status is not None:
                obj["status"] = status
            meta = obj["metadata"]
        # rest.BeforeUpdate
        if kind.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        meta.pop("generation", None)
        if "generation" in old:
            meta["generation"] = old["generation"]
        if subresource != "status":
            kind.strategy.prepare_for_update(obj, current)
        meta["uid"] = meta.get("uid") or old["uid"]
        for system in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if system in old:
                meta[system] = old[system]
            else:
                meta.pop(system, None)
        meta["resourceVersion"] = old["resourceVersion"]
        errors = validate_metadata_update(meta, old) + kind.strategy.validate_update(obj, current)
        if errors:
            raise invalid(kind.kind, name, errors, kind.group)
        if admitted is not None:
            admitted(typed(kind, obj), typed(kind, current))
        if obj == current or dry_run:
            return typed(kind, obj)
        stored = self._store.put(kind.resource, obj)
        self._on_update(kind, current, stored)
        return typed(kind, stored)


def _admission(
    kind: ResourceKind,
    namespace: str,
    name: str,
    subresource: str,
    dry_run: bool,
    admit: Admit | None,
) -> AdmitUpdate | None:
    """Admission of an update of the object itself (main resource or status)."""
    if admit is None:
        return None
    scope = name if kind.plural == "namespaces" else namespace

    def admitted(new: dict[str, Any], old: dict[str, Any]) -> None:
        admit(Attributes("UPDATE", kind, scope, name, new, old, subresource, dry_run=dry_run))

    return admitted
