"""A stand-in for the workload controllers, reacting to scaling only.

When an update changes ``spec.replicas`` of a Deployment, StatefulSet or ReplicaSet, shortly
afterwards (as the real controllers would, in a separate write) the workload's status
counters are capped at the new replica count and ``observedGeneration`` catches up; a
Deployment also scales its newest ReplicaSet to the same count and older ones to zero.
Scaling down to zero therefore ends with ``status.replicas``/``readyReplicas``... at zero
(omitted, as the API omits zero counters). Pods are neither created nor deleted, so scaling up
leaves the counters where they were.
"""

from __future__ import annotations

import time
from typing import Any

from .kinds import ResourceKind
from .meta import controller_of
from .scheduler import Scheduler
from .store import ObjectStore
from .workloads import REPLICA_COUNTERS, compact_counters

# Delay of the controller's status write after the scaling update.
SCALE_SYNC_SECONDS = 0.1
_SCALED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
_REPLICASETS = ("apps", "replicasets")


class WorkloadScaler:
    def __init__(self, store: ObjectStore, scheduler: Scheduler) -> None:
        self._store = store
        self._scheduler = scheduler

    def observe(self, kind: ResourceKind, old: dict[str, Any], new: dict[str, Any]) -> None:
        """Called after every committed update."""
        if kind.group != "apps" or kind.kind not in _SCALED_KINDS:
            return
        if (old.get("spec") or {}).get("replicas") == (new.get("spec") or {}).get("replicas"):
            return
        meta = new["metadata"]
        key = ("workload-controller", kind.kind, meta["namespace"], meta["name"], meta["uid"])
        deadline = time.monotonic() + SCALE_SYNC_SECONDS
        self._scheduler.schedule(key, deadline, lambda: self._sync(kind, key))

    def _sync(self, kind: ResourceKind, key: tuple[str, ...]) -> None:
        namespace, name, uid = key[2:]
        with self._store.lock:
            obj = self._store.get(kind.resource, namespace, name)
            if obj is None or obj["metadata"]["uid"] != uid:
                return
            replicas = obj["spec"].get("replicas", 1)
            if kind.kind == "Deployment":
                self._scale_replicasets(obj, replicas)
            self._settle(kind.kind, kind.resource, obj, replicas)

    def _scale_replicasets(self, deployment: dict[str, Any], replicas: int) -> None:
        meta = deployment["metadata"]
        owned = [
            rs
            for rs in self._store.list(_REPLICASETS, meta["namespace"])
            if (controller_of(rs) or {}).get("uid") == meta["uid"]
        ]
        owned.sort(key=lambda rs: (rs["metadata"]["creationTimestamp"], rs["metadata"]["name"]))
        for index, replicaset in enumerate(owned):
            wanted = replicas if index == len(owned) - 1 else 0
            if replicaset["spec"].get("replicas") != wanted:
                replicaset["spec"]["replicas"] = wanted
                rs_meta = replicaset["metadata"]
                rs_meta["generation"] = rs_meta.get("generation", 0) + 1
                replicaset = self._store.put(_REPLICASETS, replicaset)
            self._settle("ReplicaSet", _REPLICASETS, replicaset, wanted)

    def _settle(
        self, kind: str, resource: tuple[str, str], obj: dict[str, Any], replicas: int
    ) -> None:
        status = dict(obj.get("status") or {})
        for counter in REPLICA_COUNTERS:
            if isinstance(status.get(counter), int) and status[counter] > replicas:
                status[counter] = replicas
        if kind == "Deployment" and "unavailableReplicas" in status:
            status["unavailableReplicas"] = max(0, replicas - status.get("availableReplicas", 0))
        status["observedGeneration"] = obj["metadata"].get("generation", 1)
        status = compact_counters(kind, status)
        if status != obj.get("status"):
            obj["status"] = status
            self._store.put(resource, obj)
