"""The memory one ingest instance lets bodies being parsed hold at once.

Cloud Run stops an instance that goes over its memory, and every request in flight with
it: alerts lost. A body of B bytes holds at most PARSE_MEMORY_FACTOR times B while it is
parsed (shared/alert.py prices JSON before parsing it; tests/unit/test_alert_limits.py
measures the peak), so with INGEST_MEMORY set a body is parsed only once its share fits
in what the runtime leaves. One that does not fit waits for others to finish, within its
deadline, then is answered 503. Real alerts are a few kilobytes: only bodies near the
size limit, many at once, ever wait.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from shared import config

# Peak parse memory is under 14 times the body; the body itself is the 15th.
PARSE_MEMORY_FACTOR = 15
# What the runtime, its libraries and the Pub/Sub client take before any request (the
# bench measures about 80 MiB at its peak).
RUNTIME_BYTES = 128 * 1024 * 1024


class MemoryBusyError(Exception):
    """The body's share did not fit within the wait."""


class ParseBudget:
    """Bytes that bodies being parsed may hold at once; `memory` None: unbounded."""

    def __init__(self, memory: int | None, max_body_bytes: int) -> None:
        self.total = None if memory is None else memory - RUNTIME_BYTES
        if self.total is not None and self.total < PARSE_MEMORY_FACTOR * max_body_bytes:
            mib = 1024 * 1024
            raise ValueError(
                f"{config.INGEST_MEMORY} of {memory // mib} MiB cannot parse one body of the "
                f"largest size ({max_body_bytes // mib} MiB needs {PARSE_MEMORY_FACTOR} times "
                f"that beside the runtime's {RUNTIME_BYTES // mib} MiB): raise ingest_memory "
                "or lower ingest_max_body_bytes"
            )
        self.held = 0
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, body_bytes: int, timeout: float) -> Iterator[None]:
        """Hold the body's share while it is parsed, once it fits (waiting up to `timeout`
        seconds); MemoryBusyError if it does not fit by then."""
        if self.total is None:
            yield
            return
        share = PARSE_MEMORY_FACTOR * body_bytes
        with self._changed:
            if not self._changed.wait_for(lambda: self.held + share <= self.total, timeout):
                raise MemoryBusyError(
                    f"bodies being parsed hold {self.held} of {self.total} bytes; this one "
                    f"needs {share}"
                )
            self.held += share
        try:
            yield
        finally:
            with self._changed:
                self.held -= share
                self._changed.notify_all()
