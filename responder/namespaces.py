"""A namespace's labels, for the opt-out rail, read at most once per LABELS_MAX_AGE.

In a burst every alert of a namespace asked the API server for the same namespace. The
labels are kept per cluster and namespace for LABELS_MAX_AGE, so an opt-out label put on
(or taken off) a namespace takes effect within that time; the pod's own label is read
with the pod, never kept.
"""

import threading
import time
from collections.abc import Callable
from typing import Any

# How stale a namespace's labels may be (docs/policy.md, "Safety rails").
LABELS_MAX_AGE_SECONDS = 5.0


class NamespaceLabels:
    """The labels of one cluster's namespaces, each kept LABELS_MAX_AGE_SECONDS."""

    def __init__(
        self,
        read_namespace: Callable[..., Any],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_namespace = read_namespace
        self.clock = clock
        self._kept: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, timeout: float) -> dict[str, str]:
        """The namespace's labels, read now or less than LABELS_MAX_AGE_SECONDS ago.

        A failed read (404 included) raises and keeps nothing.
        """
        with self._lock:
            kept = self._kept.get(name)
        if kept is not None and self.clock() - kept[0] < LABELS_MAX_AGE_SECONDS:
            return kept[1]
        read_at = self.clock()
        namespace = self.read_namespace(name, _request_timeout=timeout)
        labels = dict(namespace.metadata.labels or {})
        with self._lock:
            self._kept[name] = (read_at, labels)
        return labels
