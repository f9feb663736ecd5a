"""Resource semantics of the API server's generic registry, independent of HTTP.

Mirrors ``registry.Store`` (create/get/list/delete with ``rest.BeforeCreate`` and
``rest.BeforeDelete``), the NamespaceLifecycle admission plugin, the namespace storage's own
Delete, and two controllers: the kubelet finishing graceful pod deletion and the namespace
controller emptying a terminating namespace. Updates and patches are ``updates.py``, the
eviction subresource ``eviction.py``.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from . import clock
from .admission import Admit, Attributes
from .codec import decode, typed
from .kinds import NAMESPACES, Registry, ResourceKind
from .options import DeleteOptions
from .paging import page
from .scheduler import Scheduler
from .selectors import parse_field_selector, parse_label_selector
from .status import (
    already_exists,
    bad_request,
    conflict,
    forbidden,
    invalid,
    not_found,
    success,
)
from .store import ObjectStore, Resource

# NamespaceLifecycle refuses to delete these.
IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
# How long a deleted namespace stays Terminating before the namespace controller stand-in
# purges it: long enough to observe (and test) that phase, short for tests that wait it out.
NAMESPACE_PURGE_SECONDS = 1.0
# names.SimpleNameGenerator: no vowels (no words), no 0/1/3 (no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NAMESPACE_PURGE = (
    "The system is ensuring all content is removed from this namespace.  "
    "Upon completion, this namespace will automatically be purged by the system."
)


def _resource(kind: ResourceKind) -> Resource:
    return (kind.group, kind.plural)


def _field_value(obj: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = obj
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class ResourceApi:
    def __init__(self, registry: Registry, store: ObjectStore, scheduler: Scheduler) -> None:
        self._registry = registry
        self._store = store
        self._scheduler = scheduler

    # --- reads -------------------------------------------------------------------------

    def get(self, kind: ResourceKind, namespace: str, name: str) -> dict[str, Any]:
        with self._store.lock:
            obj = self._store.get(_resource(kind), namespace, name)
            if obj is None:
                raise not_found(kind.plural, name, kind.group)
            kind.strategy.decorate(obj, self._store)
        return typed(kind, obj)

    def list(
        self,
        kind: ResourceKind,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> dict[str, Any]:
        """A ``<Kind>List``; ``namespace=None`` lists every namespace; ``limit`` and
        ``continue_token`` page it (paging.py)."""
        try:
            labels_match = parse_label_selector(label_selector or "")
            field_requirements = parse_field_selector(field_selector or "")
        except ValueError as error:
            raise bad_request(str(error)) from None
        fields = kind.selectable_fields()
        for requirement in field_requirements:
            if requirement.field not in fields:
                raise bad_request(f"field label not supported: {requirement.field}")
        with self._store.lock:
            items = self._store.list(_resource(kind), namespace)
            for obj in items:
                kind.strategy.decorate(obj, self._store)
            revision = self._store.revision

        def matches(obj: dict[str, Any]) -> bool:
            return labels_match(obj["metadata"].get("labels") or {}) and all(
                (_field_value(obj, fields[r.field]) == r.value) == r.equal
                for r in field_requirements
            )

        filtered = bool(label_selector or field_selector)
        selected, paged = page(
            items, namespace, matches, filtered, limit, continue_token, int(revision)
        )
        # List items carry no kind/apiVersion on the wire; the list itself does.
        return {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": revision, **paged},
            "items": selected,
        }

    # --- create ------------------------------------------------------------------------

    def create(
        self,
        kind: ResourceKind,
        namespace: str,
        body: Any,
        *,
        dry_run: bool = False,
        uid: str | None = None,
        creation_timestamp: datetime | str | None = None,
        admit: Admit | None = None,
    ) -> dict[str, Any]:
        """Create from a request body. ``uid``/``creation_timestamp`` are test-seeding overrides
        of fields the server otherwise owns; ``admit`` is the admission check of the request."""
        obj = decode(kind, body)
        meta = obj["metadata"]
        requested_name = meta.get("name") or ""
        if kind.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match "
                    "the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        resource = _resource(kind)
        with self._store.lock:
            if kind.namespaced:
                self._admit_create(kind, namespace, meta.get("name") or "")
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = self._generate_name(resource, namespace, meta["generateName"])
            errors = kind.strategy.create_errors(obj)
            if errors:
                raise invalid(kind.kind, meta.get("name") or "", errors, kind.group)
            if admit is not None:
                admit(
                    Attributes(
                        "CREATE",
                        kind,
                        namespace,
                        requested_name,
                        typed(kind, obj),
                        None,
                        dry_run=dry_run,
                    )
                )
            if self._store.get(resource, namespace, meta["name"]) is not None:
                raise already_exists(kind.plural, meta["name"], kind.group)
            # rest.BeforeCreate: these metadata fields belong to the server.
            for owned in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(owned, None)
            meta["uid"] = uid or str(uuid.uuid4())
            meta["creationTimestamp"] = clock.normalize(creation_timestamp or clock.now())
            kind.strategy.prepare_for_create(obj)
            if dry_run:
                return typed(kind, obj)
            return typed(kind, self._store.put(resource, obj))

    def _admit_create(self, kind: ResourceKind, namespace: str, name: str) -> None:
        """NamespaceLifecycle: no new content in a missing or terminating namespace."""
        ns = self._store.get(_resource(NAMESPACES), "", namespace)
        if ns is None:
            raise not_found("namespaces", namespace)
        if ns["status"].get("phase") == "Terminating":
            cause = {
                "reason": "NamespaceTerminating",
                "message": f"namespace {namespace} is being terminated",
                "field": "metadata.namespace",
            }
            raise forbidden(
                kind.plural,
                name,
                f"unable to create new content in namespace {namespace} "
                "because it is being terminated",
                kind.group,
                causes=[cause],
            )

    def _generate_name(self, resource: Resource, namespace: str, prefix: str) -> str:
        prefix = prefix[:58]  # leaves room for the suffix within 63 characters
        while True:
            name = prefix + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
            if self._store.get(resource, namespace, name) is None:
                return name

    # --- delete ------------------------------------------------------------------------

    def delete(
        self,
        kind: ResourceKind,
        namespace: str,
        name: str,
        options: DeleteOptions,
        admit: Admit | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Returns (HTTP status, body): the object for pods and namespaces, else a Status."""
        with self._store.lock:
            obj = self._store.get(_resource(kind), namespace, name)
            if obj is None:
                raise not_found(kind.plural, name, kind.group)

            def admitted() -> None:
                """After the preconditions: ``object`` null, ``oldObject`` the stored one."""
                if admit is not None:
                    scope = name if kind is NAMESPACES else namespace
                    attrs = Attributes("DELETE", kind, scope, name, None, typed(kind, obj))
                    admit(replace(attrs, dry_run=options.dry_run))

            if kind is NAMESPACES:
                body, deleted = self._delete_namespace(obj, options, admitted), False
            else:
                body, deleted = self._delete(kind, obj, options, admitted)
        # handlers/delete.go: 202 only when not yet gone and orphanDependents=false was asked.
        return (202 if not deleted and options.orphan_dependents is False else 200), body

    def _delete(
        self,
        kind: ResourceKind,
        obj: dict[str, Any],
        options: DeleteOptions,
        admitted: Callable[[], None],
    ) -> tuple[dict[str, Any], bool]:
        meta = obj["metadata"]
        self._check_preconditions(kind, obj, options)
        admitted()
        requested = options.grace_period_seconds
        if requested is not None and requested < 0:
            requested = 1  # rest.BeforeDelete: negative means one second
        key = self._kubelet_key(kind, obj)
        action, deadline = self._graceful_update(kind, obj, requested, key)
        if action == "pending":
            return typed(kind, obj), False
        if action == "graceful" and meta["deletionGracePeriodSeconds"] > 0:
            if not options.dry_run:
                obj = self._store.put(_resource(kind), obj)
                self._scheduler.schedule(key, deadline, lambda: self._kubelet_delete(kind, key))
            return typed(kind, obj), False
        if not options.dry_run:
            if action == "graceful":
                # Graceful with zero seconds is an update stamping the deletion, then the delete.
                obj = self._store.put(_resource(kind), obj)
            self._remove(kind, obj)
        if kind.strategy.return_deleted_object:
            return typed(kind, obj), True
        return success(meta["name"], kind.group, kind.plural, meta["uid"]), True

    @staticmethod
    def _check_preconditions(
        kind: ResourceKind, obj: dict[str, Any], options: DeleteOptions
    ) -> None:
        """rest.BeforeDelete's early check; its Conflict names the Kind, not the resource."""
        meta = obj["metadata"]
        if options.uid is not None and options.uid != meta["uid"]:
            raise conflict(
                kind.kind,
                meta["name"],
                f"the UID in the precondition ({options.uid}) does not match the UID in record "
                f"({meta['uid']}). The object might have been deleted and then recreated",
                kind.group,
            )
        if (
            options.resource_version is not None
            and options.resource_version != meta["resourceVersion"]
        ):
            raise conflict(
                kind.kind,
                meta["name"],
                f"the ResourceVersion in the precondition ({options.resource_version}) does not "
                f"match the ResourceVersion in record ({meta['resourceVersion']}). "
                "The object might have been modified",
                kind.group,
            )

    def _graceful_update(
        self, kind: ResourceKind, obj: dict[str, Any], requested: int | None, key: tuple[str, ...]
    ) -> tuple[str, float]:
        """rest.BeforeDelete's grace handling, stamping ``obj`` in place.

        Returns ("now" | "pending" | "graceful", monotonic deadline of the kubelet stand-in).
        """
        meta = obj["metadata"]
        now_wall, now_mono = clock.now(), time.monotonic()
        if meta.get("deletionTimestamp"):
            current = meta.get("deletionGracePeriodSeconds")
            if not current:
                return "now", now_mono
            if requested is None or requested >= current:
                return "pending", now_mono
            # Only shortening is allowed: both move back by the difference. The stamp may
            # land in the past, as upstream's does; the kubelet stand-in acts at once then.
            shift = requested - current
            deadline = max(now_mono, (self._scheduler.deadline(key) or now_mono) + shift)
            stamp = datetime.fromisoformat(meta["deletionTimestamp"]) + timedelta(seconds=shift)
            meta["deletionTimestamp"] = clock.format_time(stamp)
            meta["deletionGracePeriodSeconds"] = requested
            return "graceful", deadline
        period = kind.strategy.grace_period(obj, requested)
        if period is None:
            return "now", now_mono
        meta["deletionTimestamp"] = clock.format_time(now_wall + timedelta(seconds=period))
        meta["deletionGracePeriodSeconds"] = period
        return "graceful", now_mono + period

    @staticmethod
    def _kubelet_key(kind: ResourceKind, obj: dict[str, Any]) -> tuple[str, ...]:
        meta = obj["metadata"]
        return (
            "kubelet",
            kind.group,
            kind.plural,
            meta.get("namespace", ""),
            meta["name"],
            meta["uid"],
        )

    def _kubelet_delete(self, kind: ResourceKind, key: tuple[str, ...]) -> None:
        """The kubelet's final grace-0 delete once the pod's grace period has run out."""
        namespace, name, uid = key[3:]
        with self._store.lock:
            obj = self._store.get(_resource(kind), namespace, name)
            if obj is not None and obj["metadata"]["uid"] == uid:
                self._remove(kind, obj)

    def _remove(self, kind: ResourceKind, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self._store.delete(_resource(kind), meta.get("namespace", ""), meta["name"])
        self._scheduler.cancel(self._kubelet_key(kind, obj))

    # --- namespaces --------------------------------------------------------------------

    def _delete_namespace(
        self, obj: dict[str, Any], options: DeleteOptions, admitted: Callable[[], None]
    ) -> dict[str, Any]:
        """The namespace storage's Delete: the first call only starts termination."""
        meta = obj["metadata"]
        name, uid = meta["name"], meta["uid"]
        if name in IMMORTAL_NAMESPACES:
            raise forbidden("namespaces", name, "this namespace may not be deleted")
        # This storage has its own precondition messages, unlike the generic store.
        if options.uid is not None and options.uid != uid:
            raise conflict(
                "namespaces",
                name,
                f"Precondition failed: UID in precondition: {options.uid}, "
                f"UID in object meta: {uid}",
            )
        if (
            options.resource_version is not None
            and options.resource_version != meta["resourceVersion"]
        ):
            raise conflict(
                "namespaces",
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{options.resource_version}, ResourceVersion in object meta: "
                f"{meta['resourceVersion']}",
            )
        admitted()
        if meta.get("deletionTimestamp"):
            raise conflict("namespaces", name, _NAMESPACE_PURGE)
        meta["deletionTimestamp"] = clock.format_time(clock.now())
        obj["status"]["phase"] = "Terminating"
        if options.dry_run:
            return typed(NAMESPACES, obj)
        stored = self._store.put(_resource(NAMESPACES), obj)
        self._scheduler.schedule(
            ("namespace-controller", name, uid),
            time.monotonic() + NAMESPACE_PURGE_SECONDS,
            lambda: self._purge_namespace(name, uid),
        )
        return typed(NAMESPACES, stored)

    def _purge_namespace(self, name: str, uid: str) -> None:
        """The namespace controller: delete the contents without grace, then the namespace."""
        with self._store.lock:
            ns = self._store.get(_resource(NAMESPACES), "", name)
            if ns is None or ns["metadata"]["uid"] != uid:
                return
            for kind in self._registry:
                if kind.namespaced:
                    for obj in self._store.list(_resource(kind), name):
                        self._remove(kind, obj)
            self._store.delete(_resource(NAMESPACES), "", name)
