"""In-memory object storage standing in for etcd: one map per resource, one global revision.

Like etcd, every write (create, update, delete) takes the next revision, and an object's
``metadata.resourceVersion`` is the revision of its last write. Callers hold ``lock`` around
read-check-write sequences; each method also takes it, so single calls are atomic.
"""

from __future__ import annotations

import threading
from typing import Any

# (group, plural) identifies a resource independent of version, as etcd keys do.
Resource = tuple[str, str]


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON-shaped value (dicts, lists, scalars), which is all the store
    holds: several times faster than ``copy.deepcopy``, which every request pays for."""
    if type(value) is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [json_copy(item) for item in value]
    return value


class ObjectStore:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._revision = 0
        self._objects: dict[Resource, dict[tuple[str, str], dict[str, Any]]] = {}

    @property
    def revision(self) -> str:
        with self.lock:
            return str(self._revision)

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects.get(resource, {}).get((namespace, name))
            return json_copy(obj)

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects sorted by (namespace, name) like an etcd range read; None = every namespace."""
        with self.lock:
            stored = self._objects.get(resource, {})
            keys = sorted(k for k in stored if namespace is None or k[0] == namespace)
            return [json_copy(stored[key]) for key in keys]

    def shared(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        """As ``list``, but the stored objects themselves, for readers that never change
        them (admission reads every policy on every write): stored objects are replaced
        on each write, never changed in place, so a reader sees one consistent version."""
        with self.lock:
            stored = self._objects.get(resource, {})
            return [stored[k] for k in sorted(stored) if namespace is None or k[0] == namespace]

    def shared_object(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """As ``get``, but the stored object itself (see ``shared``)."""
        with self.lock:
            return self._objects.get(resource, {}).get((namespace, name))

    def put(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj`` at the next revision; returns the stored copy."""
        stored = json_copy(obj)
        meta = stored["metadata"]
        with self.lock:
            self._revision += 1
            meta["resourceVersion"] = str(self._revision)
            self._objects.setdefault(resource, {})[(meta.get("namespace", ""), meta["name"])] = (
                stored
            )
            return json_copy(stored)

    def delete(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self._objects.get(resource, {}).pop((namespace, name), None)
            if obj is not None:
                self._revision += 1
            return obj
