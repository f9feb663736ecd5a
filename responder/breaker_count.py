"""The circuit breaker's count as an instance keeps it between writes: each counted
change's stored key, namespace, change and time, oldest first.

Parsed once from a ConfigMap the instance reads, then kept up to date by the instance's
own writes, so counting one more change costs no parse of the whole count: the changes
that left the window are dropped from the front, and the totals the breaker asks for
(all, per namespace, per change) are kept as counters.
"""

from __future__ import annotations

import bisect
import json
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

# Between a key's namespace and the key: never in a namespace's name, nor in the keys
# (pod/UID, kind/namespace/name, node/name).
NAMESPACE_SEPARATOR = ":"


def stored_key(namespace: str, change: str) -> str:
    """The key a change is counted under in the ConfigMap: the alert's namespace first."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{change}"


def split_key(key: str) -> tuple[str | None, str]:
    """A stored key's namespace (None for a key from before prefixes) and the change."""
    namespace, separator, change = key.partition(NAMESPACE_SEPARATOR)
    return (namespace, change) if separator else (None, key)


def parse_time(text: Any) -> datetime | None:
    """An aware time, or None: a naive one cannot be compared with the window's cutoff."""
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


class Count:
    """Counted changes: what a ConfigMap's data key holds (`texts`, key to time as
    stored, written back unchanged while in the window), oldest first."""

    def __init__(self, texts: Mapping[str, Any] | None = None) -> None:
        """A time that is not an ISO 8601 time with an offset is dropped: it can never be
        told to be in the window."""
        self.texts: dict[str, str] = {}
        self._by_time: list[tuple[datetime, str]] = []
        self._changes: Counter[str] = Counter()
        self._namespaces: Counter[str | None] = Counter()
        for key, text in (texts or {}).items():
            when = parse_time(text)
            if when is not None:
                self._by_time.append((when, key))
                self._note(key, text, 1)
        self._by_time.sort()

    @classmethod
    def from_json(cls, text: str | None) -> Count:
        """The count as stored; a hand-edited, broken count starts again rather than
        blocking forever."""
        try:
            stored = json.loads(text or "{}")
        except ValueError:
            return cls()
        return cls(stored if isinstance(stored, dict) else {})

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self, change: str) -> bool:
        """Whether `change` is counted, whichever namespace's alert counted it (or none)."""
        return self._changes[change] > 0

    def taken(self, namespace: str | None) -> int:
        """How many changes `namespace`'s alerts counted."""
        return self._namespaces[namespace]

    def forget_until(self, cutoff: datetime) -> None:
        """Drop the changes counted at or before `cutoff`."""
        gone = bisect.bisect_right(self._by_time, (cutoff, "\U0010ffff"))
        for _, key in self._by_time[:gone]:
            self._note(key, self.texts[key], -1)
        del self._by_time[:gone]

    def texts_with(self, key: str, moment: datetime) -> dict[str, str]:
        """What the data key holds once `key` is counted at `moment`."""
        return {**self.texts, key: moment.isoformat()}

    def add(self, key: str, moment: datetime) -> None:
        """Count `key` at `moment` (a key not counted yet: the breaker asks `counts`)."""
        bisect.insort(self._by_time, (moment, key))
        self._note(key, moment.isoformat(), 1)

    def _note(self, key: str, text: str, sign: int) -> None:
        namespace, change = split_key(key)
        _tally(self._changes, change, sign)
        _tally(self._namespaces, namespace, sign)
        if sign > 0:
            self.texts[key] = text
        else:
            del self.texts[key]


def _tally(counter: Counter[Any], item: Any, sign: int) -> None:
    """Add `sign` to `item`'s count; none left, none kept (an instance lives for days)."""
    counter[item] += sign
    if counter[item] == 0:
        del counter[item]
