"""At most N destructive actions per window per cluster, and a share of them per
namespace, counted where every function instance sees the same number: a ConfigMap in the
cluster itself, written with optimistic concurrency (resourceVersion), so it needs no new
service.

Each admitted change is stored under its key (what it changes: a pod by UID, a workload,
a node), prefixed by the namespace of the alert's pod, with its time, so a redelivery, or
another alert about the same target, is admitted again without being counted twice. A key
with no prefix (written before namespaces were counted) counts for the cluster only.

An instance keeps the ConfigMap as it last read or wrote it (`LastSeen`) and writes
with that resourceVersion without reading first: the API server refuses the write (409)
if anyone changed the count since, and only then is it read again. So the cached copy
can make a write fail, never a wrong decision: a decision made without a write (the key
is already counted, the breaker is open) is always made on a fresh read.

The ConfigMap goes to and from the API server as plain JSON: the client's V1ConfigMap
model would be built from every answer and serialized back for every write, once per
destructive action, to change one string. The count in it is parsed when read, and kept
parsed after the instance's own write, which it knows (responder.breaker_count).

Rules may count in one ConfigMap over windows of their own: a change stays in it until
the longest of them (`LastSeen.keep`) has passed, so a rule with a short window never
drops what one with a longer window still counts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from responder import k8s
from responder.actions.base import KubeApis
from responder.breaker_count import Count, InWindow, split_key, stored_key
from responder.policy import CircuitBreaker
from shared.errors import TransientError

# A ConfigMap as the API server's JSON has it.
ConfigMap = dict[str, Any]

CONFIGMAP = "falco-responder-circuit-breaker"
DATA_KEY = "admitted"
# Concurrent instances conflicting this often in a row is an outage, not bad luck.
MAX_CONFLICTS = 8


@dataclass
class LastSeen:
    """The count's ConfigMap as this instance last read or wrote it (None: absent), and
    the count it holds.

    `keep`: the longest window any rule counts over in this ConfigMap (None: the
    breaker's own). `lock` lets one thread of the instance at a time count: threads of
    one instance would only conflict with each other, each conflict costing a read and a
    write more.
    """

    configmap: ConfigMap | None = None
    count: Count = field(default_factory=Count)
    known: bool = False
    keep: timedelta | None = None
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

    def admit(self, key: str, namespace: str, dry_run: bool) -> str | None:
        """None if the change may go ahead (and is now counted), else why it may not.

        `namespace` is the alert's pod's: the share it may take is counted there. In dry
        run nothing is written: the answer is what would happen, on a fresh read.
        """
        with self.last_seen.lock:
            return self._admit(stored_key(namespace, key), dry_run)

    def _admit(self, key: str, dry_run: bool) -> str | None:
        namespace, change = split_key(key)
        known, fresh = self.last_seen.known, False
        for _ in range(MAX_CONFLICTS):
            if dry_run or not known:
                self._read()
                known, fresh = True, True
            moment = self.now()
            count = self.last_seen.count
            window = self.settings.window
            count.forget_until(moment - max(window, self.last_seen.keep or window))
            admitted = count.since(moment - window)
            # The change, whichever namespace's alert counted it (a node is no namespace's),
            # or counted before namespaces were (no prefix).
            counted = admitted.counts(change)
            refusal = None if counted else self._refusal(admitted, namespace)
            if counted or refusal:
                if not fresh:
                    known = False  # never decide without writing on a cached copy
                    continue
                return refusal
            if dry_run:
                return None
            text = json.dumps(count.texts_with(key, moment), sort_keys=True)
            written = self._write(self.last_seen.configmap, text)
            if written is not None:
                if _count_text(written) == text:  # as sent: no need to parse it back
                    count.add(key, moment)
                else:
                    count = Count.from_json(_count_text(written))
                self._remember(written, count)
                return None
            known, fresh = False, False  # someone wrote first: read again
        raise TransientError(
            f"circuit breaker: {MAX_CONFLICTS} write conflicts in a row",
            "circuit_breaker_conflicts",
        )

    def _refusal(self, admitted: InWindow, namespace: str | None) -> str | None:
        """Why one more change may not be counted: the cluster's or the namespace's full."""
        settings, window = self.settings, self.settings.window
        if len(admitted) >= settings.max_actions:
            return (
                f"circuit breaker open: {len(admitted)} destructive actions in the last "
                f"{window} in this cluster (max {settings.max_actions})"
            )
        taken = admitted.taken(namespace)
        if taken >= settings.max_actions_per_namespace:
            return (
                f"circuit breaker open for namespace {namespace}: {taken} of the last "
                f"{window}'s destructive actions were for its alerts (max "
                f"{settings.max_actions_per_namespace}, namespace_share "
                f"{settings.namespace_share:g} of {settings.max_actions})"
            )
        return None

    def _read(self) -> None:
        """Read the ConfigMap, and keep it and the count it holds."""
        try:
            stored = _json(
                self.apis.core.read_namespaced_config_map(
                    CONFIGMAP,
                    self.settings.namespace,
                    _request_timeout=self.timeout,
                    _preload_content=False,
                )
            )
        except k8s.ApiException as exc:
            if exc.status != 404:
                raise
            stored = None
        self._remember(stored, Count.from_json(_count_text(stored)))

    def _remember(self, configmap: ConfigMap | None, count: Count) -> None:
        """`count`: what `configmap` holds."""
        seen = self.last_seen
        seen.configmap, seen.count, seen.known = configmap, count, True

    def _write(self, stored: ConfigMap | None, text: str) -> ConfigMap | None:
        """Create, or replace at `stored`'s resourceVersion; what the server stored, or
        None when what we saw is out of date (someone else wrote or deleted it first)."""
        data = {DATA_KEY: text}
        namespace = self.settings.namespace
        try:
            if stored is None:
                return _json(
                    self.apis.core.create_namespaced_config_map(
                        namespace,
                        {"metadata": {"name": CONFIGMAP}, "data": data},
                        _request_timeout=self.timeout,
                        _preload_content=False,
                    )
                )
        except k8s.ApiException as exc:
            if exc.status == 409:  # AlreadyExists
                return None
            raise
        # A new dict: the cached copy is shared, never changed. Every other field goes
        # back as read, resourceVersion included, which makes the write conditional.
        replacement = {**stored, "data": data}
        try:
            return _json(
                self.apis.core.replace_namespaced_config_map(
                    CONFIGMAP,
                    namespace,
                    replacement,
                    _request_timeout=self.timeout,
                    _preload_content=False,
                )
            )
        except k8s.ApiException as exc:
            if exc.status in (404, 409):  # deleted (a reset), or a newer resourceVersion
                return None
            raise


def _json(answer: Any) -> ConfigMap:
    """The object in an undecoded answer (urllib3's response); its connection goes back
    to the pool."""
    try:
        return json.loads(answer.data)
    finally:
        answer.release_conn()


def _count_text(configmap: ConfigMap | None) -> str | None:
    """The count as the ConfigMap stores it (None: no count)."""
    data = configmap.get("data") if configmap else None
    return data.get(DATA_KEY) if isinstance(data, dict) else None
