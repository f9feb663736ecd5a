"""The circuit breaker's count as an instance keeps it between writes: each counted
change's stored key, namespace, change and time, oldest first.

Parsed once from a ConfigMap the instance reads, then kept up to date by the instance's
own writes, so counting one more change costs no parse of the whole count: the totals
the breaker asks for (all, per namespace, per change) are kept as counters, and those of
a window are the totals less the few changes at its old end (`since`). Only changes no
rule's window holds any more are dropped (`forget_until`): rules may count in one
ConfigMap over windows of their own.
"""

from __future__ import annotations

import bisect
import json
import operator
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
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


def _aware_time(text: Any) -> datetime | None:
    """An aware time, or None: a naive one cannot be compared with the window's cutoff."""
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None


_WHEN = operator.itemgetter(0)


@dataclass(frozen=True)
class InWindow:
    """A count's totals over a window: the count's, less those of the changes counted at
    or before the window's start."""

    count: Count
    older: list[tuple[datetime, str]]

    def __len__(self) -> int:
        return len(self.count) - len(self.older)

    def counts(self, change: str) -> bool:
        """Whether `change` is counted in the window, whichever namespace counted it."""
        older = sum(1 for _, key in self.older if split_key(key)[1] == change)
        return self.count.changes[change] > older

    def taken(self, namespace: str | None) -> int:
        """How many changes in the window `namespace`'s alerts counted."""
        older = sum(1 for _, key in self.older if split_key(key)[0] == namespace)
        return self.count.namespaces[namespace] - older


class Count:
    """Counted changes: what a ConfigMap's data key holds (`texts`, key to time as
    stored, written back unchanged until no window holds it), and the totals."""

    def __init__(self, texts: Mapping[str, Any] | None = None) -> None:
        """A time that is not an ISO 8601 time with an offset is dropped: it can never be
        told to be in the window."""
        self.texts: dict[str, str] = {}
        self._by_time: list[tuple[datetime, str]] = []  # oldest first
        self.changes: Counter[str] = Counter()
        self.namespaces: Counter[str | None] = Counter()
        for key, text in (texts or {}).items():
            when = _aware_time(text)
            if when is not None:
                self._by_time.append((when, key))
                self._note(key, text, 1)
        self._by_time.sort(key=_WHEN)

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

    def since(self, cutoff: datetime) -> InWindow:
        """The totals of the changes counted after `cutoff`."""
        return InWindow(self, self._by_time[: self._older_than(cutoff)])

    def forget_until(self, cutoff: datetime) -> None:
        """Drop the changes counted at or before `cutoff`."""
        gone = self._older_than(cutoff)
        for _, key in self._by_time[:gone]:
            self._note(key, None, -1)
        del self._by_time[:gone]

    def _older_than(self, cutoff: datetime) -> int:
        """How many changes, oldest first, were counted at or before `cutoff`."""
        return bisect.bisect_right(self._by_time, cutoff, key=_WHEN)

    def texts_with(self, key: str, moment: datetime) -> dict[str, str]:
        """What the data key holds once `key` is counted at `moment`."""
        return {**self.texts, key: moment.isoformat()}

    def add(self, key: str, moment: datetime) -> None:
        """Count `key` at `moment`, as `texts_with` writes it. A key counted already (a
        change made again after its rule's window, kept for a longer one) moves to
        `moment`: kept at its old time, the count would leave the window early and the
        next write would put the old time back, admitting past the limit."""
        counted = self.texts.get(key)
        if counted is not None:
            self._by_time.remove((datetime.fromisoformat(counted), key))
            self._note(key, None, -1)
        bisect.insort(self._by_time, (moment, key), key=_WHEN)
        self._note(key, moment.isoformat(), 1)

    def _note(self, key: str, text: str | None, sign: int) -> None:
        """Add a key (`sign` 1, with its time as stored) or take it away (-1)."""
        namespace, change = split_key(key)
        _tally(self.changes, change, sign)
        _tally(self.namespaces, namespace, sign)
        if text is not None:
            self.texts[key] = text
        else:
            del self.texts[key]


def _tally(counter: Counter[Any], item: Any, sign: int) -> None:
    """Add `sign` to `item`'s count; none left, none kept (an instance lives for days)."""
    counter[item] += sign
    if counter[item] == 0:
        del counter[item]
