"""Deferred work standing in for cluster components (the kubelet, the namespace controller).

One daemon thread runs each callback at its monotonic deadline. Scheduling an existing key
replaces its deadline, which is how a shortened grace period moves a pending pod deletion.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

_log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self) -> None:
        self._jobs: dict[Hashable, tuple[float, Callable[[], None]]] = {}
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._run, name="k8s-api-emulator-scheduler", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._jobs.clear()
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()

    def schedule(self, key: Hashable, deadline: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` once ``time.monotonic()`` reaches ``deadline``."""
        with self._wake:
            self._jobs[key] = (deadline, callback)
            self._wake.notify()

    def deadline(self, key: Hashable) -> float | None:
        with self._wake:
            job = self._jobs.get(key)
            return job[0] if job else None

    def cancel(self, key: Hashable) -> None:
        with self._wake:
            self._jobs.pop(key, None)

    def _run(self) -> None:
        while True:
            with self._wake:
                due = self._next_due()
                while due is None and not self._stopped:
                    self._wake.wait(self._sleep_time())
                    due = self._next_due()
                if self._stopped:
                    return
            try:
                due()
            except Exception:
                # A failing callback must not stop later pod or namespace cleanups.
                _log.exception("deferred emulator job failed")

    def _next_due(self) -> Callable[[], None] | None:
        now = time.monotonic()
        for key, (deadline, callback) in self._jobs.items():
            if deadline <= now:
                del self._jobs[key]
                return callback
        return None

    def _sleep_time(self) -> float | None:
        if not self._jobs:
            return None
        return max(0.0, min(deadline for deadline, _ in self._jobs.values()) - time.monotonic())
