"""At most N destructive actions per window per cluster, counted where every function
instance sees the same number: a ConfigMap in the cluster itself, written with optimistic
concurrency (resourceVersion), so it needs no new service.

Each admitted change is stored under its key (what it changes: a pod by UID, a workload,
a node) with its time, so a redelivery, or another alert about the same target, is
admitted again without being counted twice.

An instance keeps the ConfigMap as it last read or wrote it (`LastSeen`) and writes
with that resourceVersion without reading first: the API server refuses the write (409)
if anyone changed the count since, and only then is it read again. So the cached copy
can make a write fail, never a wrong decision: a decision made without a write (the key
is already counted, the breaker is open) is always made on a fresh read.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from responder import k8s
from responder.actions.base import KubeApis
from responder.policy import CircuitBreaker
from shared.errors import TransientError

if TYPE_CHECKING:
    from kubernetes.client import V1ConfigMap

CONFIGMAP = "falco-responder-circuit-breaker"
DATA_KEY = "admitted"
# Concurrent instances conflicting this often in a row is an outage, not bad luck.
MAX_CONFLICTS = 8


@dataclass
class LastSeen:
    """The count's ConfigMap as this instance last read or wrote it (None: absent).

    `lock` lets one thread of the instance at a time count: threads of one instance
    would only conflict with each other, each conflict costing a read and a write more.
    """

    configmap: V1ConfigMap | None = None
    known: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class Breaker:
    """The breaker of one cluster."""

    def __init__(
        self,
        apis: KubeApis,
        settings: CircuitBreaker,
        timeout: float,
        last_seen: LastSeen | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.apis = apis
        self.settings = settings
        self.timeout = timeout
        self.last_seen = last_seen or LastSeen()
        self.now = now

    def admit(self, key: str, dry_run: bool) -> str | None:
        """None if the change may go ahead (and is now counted), else why it may not.

        In dry run nothing is written: the answer is what would happen, on a fresh read.
        """
        with self.last_seen.lock:
            return self._admit(key, dry_run)

    def _admit(self, key: str, dry_run: bool) -> str | None:
        known, stored = self.last_seen.known, self.last_seen.configmap
        fresh = False
        for _ in range(MAX_CONFLICTS):
            if dry_run or not known:
                stored, known, fresh = self._read(), True, True
            moment = self.now()
            cutoff = moment - self.settings.window
            admitted = {k: t for k, t in _entries(stored).items() if _after(t, cutoff)}
            counted = key in admitted
            if counted or len(admitted) >= self.settings.max_actions:
                if not fresh:
                    known = False  # never decide without writing on a cached copy
                    continue
                if counted:
                    return None
                return (
                    f"circuit breaker open: {len(admitted)} destructive actions in the last "
                    f"{self.settings.window} in this cluster (max {self.settings.max_actions})"
                )
            if dry_run:
                return None
            admitted[key] = moment.isoformat()
            written = self._write(stored, admitted)
            if written is not None:
                self._remember(written)
                return None
            known, fresh = False, False  # someone wrote first: read again
        raise TransientError(
            f"circuit breaker: {MAX_CONFLICTS} write conflicts in a row",
            "circuit_breaker_conflicts",
        )

    def _read(self) -> V1ConfigMap | None:
        try:
            stored = self.apis.core.read_namespaced_config_map(
                CONFIGMAP, self.settings.namespace, _request_timeout=self.timeout
            )
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            stored = None
        self._remember(stored)
        return stored

    def _remember(self, configmap: V1ConfigMap | None) -> None:
        self.last_seen.configmap, self.last_seen.known = configmap, True

    def _write(self, stored: V1ConfigMap | None, admitted: dict[str, str]) -> V1ConfigMap | None:
        """Create, or replace at `stored`'s resourceVersion; what the server stored, or
        None when what we saw is out of date (someone else wrote or deleted it first)."""
        data = {DATA_KEY: json.dumps(admitted, sort_keys=True)}
        namespace = self.settings.namespace
        try:
            if stored is None:
                return self.apis.core.create_namespaced_config_map(
                    namespace,
                    k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=CONFIGMAP), data=data),
                    _request_timeout=self.timeout,
                )
        except k8s.ApiException as exc:
            if exc.status == 409:  # AlreadyExists
                return None
            raise
        replacement = copy.copy(stored)  # the cached copy is shared: never changed
        replacement.data = data
        try:
            return self.apis.core.replace_namespaced_config_map(
                CONFIGMAP, namespace, replacement, _request_timeout=self.timeout
            )
        except k8s.ApiException as exc:
            if exc.status in (404, 409):  # deleted (a reset), or a newer resourceVersion
                return None
            raise


def _after(text: str, cutoff: datetime) -> bool:
    try:
        return datetime.fromisoformat(text) > cutoff
    except (TypeError, ValueError):
        return False


def _entries(stored: V1ConfigMap | None) -> dict[str, str]:
    if stored is None or not stored.data:
        return {}
    try:
        entries = json.loads(stored.data.get(DATA_KEY, "{}"))
    except ValueError:
        return {}  # a hand-edited, broken count starts again rather than blocking forever
    return entries if isinstance(entries, dict) else {}
