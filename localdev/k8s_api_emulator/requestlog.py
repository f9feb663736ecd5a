"""A thread-safe record of every request the emulator answered, for test assertions."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    user: str | None  # None when no valid token was presented
    # time.time() when the answer was ready: a bench measures an alert's way to its DELETE.
    at: float = field(default_factory=time.time)
    # Seconds the emulator took, from reading the request's headers to the answer ready
    # (before it is encoded and sent): a bench tells its own time from the caller's.
    seconds: float = 0.0


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def since(self, mark: int) -> list[RequestRecord]:
        """The records from position ``mark`` on: a poller that keeps its place copies only
        what is new, not the whole log each time."""
        with self._lock:
            return self._records[mark:]
