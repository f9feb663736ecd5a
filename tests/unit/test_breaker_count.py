"""The breaker's count between writes: what it holds, what leaves the window, the totals,
and that the breaker keeps the count the server stored."""

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.client import ApiException

from responder.breaker_count import Count, split_key, stored_key
from responder.circuit_breaker import DATA_KEY, Breaker
from responder.policy import CircuitBreaker

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def test_a_stored_key_names_its_namespace_and_a_legacy_key_none():
    assert split_key(stored_key("shop", "pod/u-1")) == ("shop", "pod/u-1")
    assert split_key("pod/u-1") == (None, "pod/u-1")
    assert split_key(stored_key("shop", "node/n-1")) == ("shop", "node/n-1")


def test_the_totals_come_from_the_stored_keys():
    count = Count(
        {
            "shop:pod/a": T0.isoformat(),
            "shop:pod/b": T0.isoformat(),
            "blog:node/n": T0.isoformat(),
            "pod/legacy": T0.isoformat(),
        }
    )
    assert len(count) == 4
    assert (count.taken("shop"), count.taken("blog"), count.taken(None)) == (2, 1, 1)
    assert count.counts("node/n") and count.counts("pod/legacy")
    assert not count.counts("pod/c")


@pytest.mark.parametrize(
    "text",
    ["yesterday", 42, None, "2026-12-07T04:00:00"],  # the last: no offset, no window
)
def test_a_time_that_cannot_be_placed_in_the_window_is_dropped(text):
    count = Count({"shop:pod/bad": text, "shop:pod/good": T0.isoformat()})
    assert count.texts == {"shop:pod/good": T0.isoformat()}
    assert not count.counts("pod/bad")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"', "", None])
def test_a_broken_count_starts_again(text):
    assert len(Count.from_json(text)) == 0


def test_changes_at_or_before_the_cutoff_leave_the_window_with_their_totals():
    count = Count(
        {
            "shop:pod/old": T0.isoformat(),
            "shop:pod/edge": (T0 + timedelta(seconds=1)).isoformat(),
            "blog:pod/new": (T0 + timedelta(seconds=2)).isoformat(),
        }
    )
    count.forget_until(T0 + timedelta(seconds=1))
    assert set(count.texts) == {"blog:pod/new"}
    assert (count.taken("shop"), count.taken("blog")) == (0, 1)
    assert not count.counts("pod/old") and not count.counts("pod/edge")


def test_times_in_other_offsets_are_placed_by_the_instant_they_name():
    plus_two = timezone(timedelta(hours=2))
    count = Count({"shop:pod/a": (T0 + timedelta(seconds=5)).astimezone(plus_two).isoformat()})
    count.forget_until(T0 + timedelta(seconds=4))
    assert count.counts("pod/a")
    count.forget_until(T0 + timedelta(seconds=5))
    assert not count.counts("pod/a")


def test_an_added_change_is_written_and_counted_as_stored():
    count = Count({"shop:pod/a": T0.isoformat()})
    moment = T0 + timedelta(seconds=3)
    assert count.texts_with("blog:pod/b", moment) == {
        "shop:pod/a": T0.isoformat(),
        "blog:pod/b": moment.isoformat(),
    }
    assert not count.counts("pod/b")  # asking what would be written counts nothing
    count.add("blog:pod/b", moment)
    assert count.counts("pod/b") and count.taken("blog") == 1
    assert Count(count.texts).texts == count.texts


def test_totals_of_changes_gone_from_the_window_are_not_kept():
    count = Count()
    for second in range(1000):
        count.add(stored_key(f"ns-{second}", f"pod/u-{second}"), T0 + timedelta(seconds=second))
        count.forget_until(T0 + timedelta(seconds=second - 10))
    assert len(count) == 10  # seconds 990 to 999
    assert len(count._changes) == 10 and len(count._namespaces) == 10


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 30), st.integers(0, 5)),
        max_size=40,
    ),
    st.integers(-1, 31),
)
def test_the_kept_totals_are_those_of_the_changes_in_the_window(adds, cutoff_second):
    """Whatever the order changes come in, the totals after a cutoff are those counted
    again from every change added and its time, as the breaker once did on every write."""
    count = Count()
    added: dict[str, datetime] = {}
    for namespace, second, change in adds:
        if not count.counts(f"pod/{change}"):
            key, when = stored_key(namespace, f"pod/{change}"), T0 + timedelta(seconds=second)
            count.add(key, when)
            added[key] = when
    cutoff = T0 + timedelta(seconds=cutoff_second)
    count.forget_until(cutoff)
    live = {k: t for k, t in added.items() if t > cutoff}
    assert count.texts == {k: t.isoformat() for k, t in live.items()}
    assert len(count) == len(live)
    for namespace in "abc":
        assert count.taken(namespace) == sum(1 for k in live if split_key(k)[0] == namespace)
    for change in (f"pod/{n}" for n in range(6)):
        assert count.counts(change) == any(split_key(k)[1] == change for k in live)


class _Answer:
    def __init__(self, document: dict) -> None:
        self.data = json.dumps(document).encode()

    def release_conn(self) -> None:
        pass


class _StoresItsOwnCount:
    """An API server that answers a write with a count other than the one sent (a
    mutating admission webhook, say): the breaker must keep what was stored."""

    def __init__(self, stored_count: dict[str, str]) -> None:
        self.stored_count = stored_count
        self.version = 0

    def _stored(self, body: dict) -> _Answer:
        self.version += 1
        metadata = {**body["metadata"], "resourceVersion": str(self.version)}
        data = {DATA_KEY: json.dumps(self.stored_count)}
        return _Answer({**body, "metadata": metadata, "data": data})

    def read_namespaced_config_map(self, *_: object, **__: object) -> _Answer:
        raise ApiException(status=404)

    def create_namespaced_config_map(self, _namespace: str, body: dict, **_: object) -> _Answer:
        return self._stored(body)

    def replace_namespaced_config_map(self, _n: str, _ns: str, body: dict, **_: object) -> _Answer:
        return self._stored(body)


def test_the_breaker_keeps_the_count_the_server_stored_not_the_one_it_sent():
    stored = {"other:pod/x": T0.isoformat(), "other:pod/y": T0.isoformat()}
    settings = CircuitBreaker(max_actions=3, window="1h", namespace_share=1)
    breaker = Breaker(SimpleNamespace(core=_StoresItsOwnCount(stored)), settings, 5, now=lambda: T0)
    assert breaker.admit("pod/a", "shop", dry_run=False) is None
    assert breaker.last_seen.count.texts == stored
    # Two stored, one more fits; the one sent (pod/a) is not counted.
    assert breaker.admit("pod/b", "shop", dry_run=False) is None
    assert breaker.admit("pod/x", "shop", dry_run=False) is None  # stored: counted
