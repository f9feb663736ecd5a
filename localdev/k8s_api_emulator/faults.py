"""Fault injection: make the next N matching requests fail or stall.

Faults are checked before authentication, like a proxy or load balancer in front of the API
server would fail a request: the client's credentials do not matter. A fault ``after
performing`` lets the request through first, so it takes effect, and then fails or stalls
its answer: the connection lost after the server acted, which a client cannot tell from a
request that never arrived.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .status import ApiError, for_code, gateway_timeout


@dataclass
class Fault:
    method: str | None  # None: any method
    path: str | None  # None: any path; otherwise exact, without the query string
    status: int | None = None
    hang_seconds: float | None = None
    remaining: int | None = 1  # None: until cleared
    retry_after: int | None = None
    after_performing: bool = False

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path == path
        )

    def error(self) -> ApiError:
        """The answer: the injected status, or 504 once a hang has run its course."""
        if self.status is None:
            return gateway_timeout()
        return for_code(self.status, self.retry_after)


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if (fault.status is None) == (fault.hang_seconds is None):
            raise ValueError("give exactly one of status or hang_seconds")
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("count must be at least 1, or None for every request")
        with self._lock:
            self._faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first active fault matching the request, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None
