"""At most N destructive actions per window per cluster, counted where every function
instance sees the same number: a ConfigMap in the cluster itself, written with optimistic
concurrency (resourceVersion), so it needs no new service.

Each admitted action is stored under its key (alert, action, target) with its time, so a
redelivery of the same alert is admitted again without being counted twice.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime

from kubernetes.client import V1ConfigMap, V1ObjectMeta
from kubernetes.client.exceptions import ApiException

from responder.actions.base import KubeApis
from responder.policy import CircuitBreaker
from shared.errors import TransientError

CONFIGMAP = "falco-responder-circuit-breaker"
DATA_KEY = "admitted"
# Concurrent instances conflicting this often in a row is an outage, not bad luck.
MAX_CONFLICTS = 8


class Breaker:
    """The breaker of one cluster."""

    def __init__(
        self,
        apis: KubeApis,
        settings: CircuitBreaker,
        timeout: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.apis = apis
        self.settings = settings
        self.timeout = timeout
        self.now = now

    def admit(self, key: str, dry_run: bool) -> str | None:
        """None if the action may go ahead (and is now counted), else why it may not.

        In dry run nothing is written: the answer is what would happen.
        """
        for _ in range(MAX_CONFLICTS):
            stored = self._read()
            moment = self.now()
            cutoff = moment - self.settings.window
            admitted = {k: t for k, t in _entries(stored).items() if _after(t, cutoff)}
            if key in admitted:
                return None
            if len(admitted) >= self.settings.max_actions:
                return (
                    f"circuit breaker open: {len(admitted)} destructive actions in the last "
                    f"{self.settings.window} in this cluster (max {self.settings.max_actions})"
                )
            if dry_run:
                return None
            admitted[key] = moment.isoformat()
            if self._write(stored, admitted):
                return None
        raise TransientError(f"circuit breaker: {MAX_CONFLICTS} write conflicts in a row")

    def _read(self) -> V1ConfigMap | None:
        try:
            return self.apis.core.read_namespaced_config_map(
                CONFIGMAP, self.settings.namespace, _request_timeout=self.timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _write(self, stored: V1ConfigMap | None, admitted: dict[str, str]) -> bool:
        """Create or replace; False on a conflict (someone else wrote first: read again)."""
        data = {DATA_KEY: json.dumps(admitted, sort_keys=True)}
        namespace = self.settings.namespace
        try:
            if stored is None:
                self.apis.core.create_namespaced_config_map(
                    namespace,
                    V1ConfigMap(metadata=V1ObjectMeta(name=CONFIGMAP), data=data),
                    _request_timeout=self.timeout,
                )
            else:
                stored.data = data
                self.apis.core.replace_namespaced_config_map(
                    CONFIGMAP, namespace, stored, _request_timeout=self.timeout
                )
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise
        return True


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
