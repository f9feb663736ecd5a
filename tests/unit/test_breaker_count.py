"""The breaker's count between writes: what it holds, a window's totals, what is dropped;
and that the breaker keeps the count the server stored, and what a longer window counts."""

import json
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.client import ApiException

from responder.breaker_count import Count, split_key, stored_key
from responder.circuit_breaker import CONFIGMAP, DATA_KEY, Breaker, LastSeen
from responder.policy import CircuitBreaker, parse_policy

T0 = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
BEFORE_ALL = T0 - timedelta(days=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


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
    window = count.since(BEFORE_ALL)
    assert len(count) == len(window) == 4
    assert (window.taken("shop"), window.taken("blog"), window.taken(None)) == (2, 1, 1)
    assert window.counts("node/n") and window.counts("pod/legacy")
    assert not window.counts("pod/c")


@pytest.mark.parametrize(
    "text",
    ["yesterday", 42, None, "2026-12-07T04:00:00"],  # the last: no offset, no window
)
def test_a_time_that_cannot_be_placed_in_the_window_is_dropped(text):
    count = Count({"shop:pod/bad": text, "shop:pod/good": T0.isoformat()})
    assert count.texts == {"shop:pod/good": T0.isoformat()}
    assert not count.since(BEFORE_ALL).counts("pod/bad")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"a string"', "", None])
def test_a_broken_count_starts_again(text):
    assert len(Count.from_json(text)) == 0


def test_a_window_counts_what_came_after_its_start_and_changes_nothing():
    count = Count(
        {
            "shop:pod/old": at(0).isoformat(),
            "shop:pod/edge": at(1).isoformat(),
            "blog:pod/new": at(2).isoformat(),
        }
    )
    window = count.since(at(1))
    assert len(window) == 1
    assert (window.taken("shop"), window.taken("blog")) == (0, 1)
    assert not window.counts("pod/old") and not window.counts("pod/edge")
    assert window.counts("pod/new")
    assert len(count) == 3 and count.since(BEFORE_ALL).counts("pod/old")


def test_forgetting_drops_what_came_at_or_before_the_cutoff_with_its_totals():
    count = Count({"shop:pod/old": at(0).isoformat(), "shop:pod/edge": at(1).isoformat()})
    count.add("blog:pod/new", at(2))
    count.forget_until(at(1))
    assert set(count.texts) == {"blog:pod/new"}
    assert count.changes == {"pod/new": 1} and count.namespaces == {"blog": 1}


def test_times_in_other_offsets_are_placed_by_the_instant_they_name():
    plus_two = timezone(timedelta(hours=2))
    count = Count({"shop:pod/a": at(5).astimezone(plus_two).isoformat()})
    assert count.since(at(4)).counts("pod/a")
    assert not count.since(at(5)).counts("pod/a")


def test_an_added_change_is_written_and_counted_as_stored():
    count = Count({"shop:pod/a": T0.isoformat()})
    assert count.texts_with("blog:pod/b", at(3)) == {
        "shop:pod/a": T0.isoformat(),
        "blog:pod/b": at(3).isoformat(),
    }
    assert not count.since(BEFORE_ALL).counts("pod/b")  # what would be written counts nothing
    count.add("blog:pod/b", at(3))
    assert count.texts == count.texts_with("blog:pod/b", at(3))
    count.add("blog:pod/b", at(4))  # counted again: at the time written
    assert count.texts == count.texts_with("blog:pod/b", at(4))
    assert count.since(BEFORE_ALL).taken("blog") == 1
    assert count.since(at(3)).counts("pod/b")
    assert Count(count.texts).texts == count.texts


def test_totals_of_changes_gone_from_the_count_are_not_kept():
    count = Count()
    for second in range(1000):
        count.add(stored_key(f"ns-{second}", f"pod/u-{second}"), at(second))
        count.forget_until(at(second - 10))
    assert len(count) == 10  # seconds 990 to 999
    assert len(count.changes) == 10 and len(count.namespaces) == 10


STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"), st.sampled_from(["a", "b", "c"]), st.integers(0, 30), st.integers(0, 5)
        ),
        st.tuples(st.just("forget"), st.integers(-1, 31)),
        st.tuples(st.just("reload")),
    ),
    max_size=60,
)


@given(STEPS, st.integers(-1, 31))
def test_a_windows_totals_are_those_counted_again_from_every_kept_change(steps, cutoff):
    """However adds, drops and reloads from the stored text interleave, a window's totals
    are those counted again from each change kept and its time, as the breaker once did
    on every write."""
    count = Count()
    kept: dict[str, datetime] = {}
    for step in steps:
        if step[0] == "add":
            _, namespace, second, change = step
            key = stored_key(namespace, f"pod/{change}")
            count.add(key, at(second))
            kept[key] = at(second)
        elif step[0] == "forget":
            count.forget_until(at(step[1]))
            kept = {k: t for k, t in kept.items() if t > at(step[1])}
        else:
            count = Count(count.texts)
    assert count.texts == {k: t.isoformat() for k, t in kept.items()}
    window = count.since(at(cutoff))
    live = {k for k, t in kept.items() if t > at(cutoff)}
    assert len(window) == len(live)
    for namespace in "abc":
        assert window.taken(namespace) == sum(1 for k in live if split_key(k)[0] == namespace)
    for change in (f"pod/{n}" for n in range(6)):
        assert window.counts(change) == any(split_key(k)[1] == change for k in live)


class _Answer:
    def __init__(self, document: dict[str, Any]) -> None:
        self.data = json.dumps(document).encode()

    def release_conn(self) -> None:
        pass


class _ConfigMaps:
    """The breaker's ConfigMap on an API server that answers a write with `stores(sent)`:
    what was sent, or something else (a mutating admission webhook, say)."""

    def __init__(self, count: dict[str, str] | None = None, stores: Any = None) -> None:
        self.stored: dict[str, Any] | None = None
        if count is not None:
            self.stored = self._versioned({"metadata": {"name": CONFIGMAP}}, json.dumps(count))
        self.stores = stores or (lambda sent: sent)
        self.calls: list[str] = []

    def _versioned(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        version = int((self.stored or {}).get("metadata", {}).get("resourceVersion", 0)) + 1
        metadata = {**body["metadata"], "resourceVersion": str(version)}
        return {**body, "metadata": metadata, "data": {DATA_KEY: text}}

    def read_namespaced_config_map(self, *_: object, **__: object) -> _Answer:
        self.calls.append("read")
        if self.stored is None:
            raise ApiException(status=404)
        return _Answer(self.stored)

    def create_namespaced_config_map(self, _ns: str, body: dict, **_: object) -> _Answer:
        self.calls.append("create")
        return self._write(body)

    def replace_namespaced_config_map(self, _n: str, _ns: str, body: dict, **_: object) -> _Answer:
        self.calls.append("replace")
        if body["metadata"]["resourceVersion"] != self.stored["metadata"]["resourceVersion"]:
            raise ApiException(status=409)
        return self._write(body)

    def _write(self, body: dict[str, Any]) -> _Answer:
        self.stored = self._versioned(body, self.stores(body["data"][DATA_KEY]))
        return _Answer(self.stored)

    def count(self) -> dict[str, str]:
        return json.loads(self.stored["data"][DATA_KEY])


def _breaker(server: _ConfigMaps, seen: LastSeen, now: datetime = T0, **settings: Any) -> Breaker:
    return Breaker(
        SimpleNamespace(core=server),
        CircuitBreaker(**{"namespace_share": 1, **settings}),
        5,
        seen,
        now=lambda: now,
    )


def test_the_breaker_keeps_the_count_the_server_stored_not_the_one_it_sent():
    added = {"other:pod/x": T0.isoformat(), "other:pod/y": T0.isoformat()}
    server = _ConfigMaps(stores=lambda sent: json.dumps({**json.loads(sent), **added}))
    breaker = _breaker(server, LastSeen(), max_actions=4, window="1h")
    assert breaker.admit("pod/a", "shop", dry_run=False) is None
    assert set(breaker.last_seen.count.texts) == {"shop:pod/a", *added}
    server.calls.clear()
    assert breaker.admit("pod/x", "shop", dry_run=False) is None  # the server's: counted
    assert server.calls == ["read"]  # decided on a fresh read, nothing written
    assert breaker.admit("pod/b", "shop", dry_run=False) is None  # three of four: fits
    assert breaker.admit("pod/c", "shop", dry_run=False) is not None  # four: open


def test_a_short_windows_rule_never_drops_what_a_longer_window_counts():
    """Rules counting in one ConfigMap over a 10 minute and a 1 hour window share what the
    instance last saw; the short one's admit must not shrink what the long one decides on,
    nor what is written."""
    server = _ConfigMaps(
        {"a:pod/old": (T0 - timedelta(minutes=30)).isoformat(), "a:pod/new": at(-60).isoformat()}
    )
    seen = LastSeen(keep=timedelta(hours=1))
    short = _breaker(server, seen, max_actions=2, window="10m")
    long = _breaker(server, seen, max_actions=2, window="1h")
    assert short.admit("pod/new", "a", dry_run=False) is None  # counted: a redelivery
    refusal = long.admit("pod/third", "a", dry_run=False)
    assert refusal is not None and "2 destructive actions in the last 1:00:00" in refusal
    assert short.admit("pod/fourth", "a", dry_run=False) is None  # 1 in its 10 minutes
    assert set(server.count()) == {"a:pod/old", "a:pod/new", "a:pod/fourth"}


def test_a_change_made_again_after_its_window_is_counted_at_its_new_time():
    """A node cordoned again 15 minutes after the first time, under a 10 minute window
    while another rule keeps an hour: the change is counted anew, the instance's copy as
    the server stored it, so two more changes in the next 10 minutes are one too many.
    Kept at its old time, the next write put it back, and the third was admitted."""
    server = _ConfigMaps()
    seen = LastSeen(keep=timedelta(hours=1))

    def admit(minute: int, change: str) -> str | None:
        now = T0 + timedelta(minutes=minute)
        breaker = _breaker(server, seen, now, max_actions=2, window="10m")
        return breaker.admit(change, "a", dry_run=False)

    assert admit(0, "node/n1") is None
    assert admit(15, "node/n1") is None  # out of its window: counted again
    assert seen.count.texts == server.count()
    assert admit(16, "node/n2") is None
    assert server.count()["a:node/n1"] == (T0 + timedelta(minutes=15)).isoformat()
    refusal = admit(17, "node/n3")
    assert refusal is not None and "2 destructive actions in the last 0:10:00" in refusal


def test_a_change_leaves_the_count_once_no_rules_window_holds_it():
    server = _ConfigMaps({"a:pod/old": (T0 - timedelta(minutes=61)).isoformat()})
    breaker = _breaker(server, LastSeen(keep=timedelta(hours=1)), max_actions=5, window="10m")
    assert breaker.admit("pod/new", "a", dry_run=False) is None
    assert set(server.count()) == {"a:pod/new"}


def test_the_kept_window_is_the_longest_any_rule_counts_over_in_each_configmap():
    policy = parse_policy(
        {
            "safety": {"circuit_breaker": {"window": "10m"}},
            "rules": [
                {
                    "name": "longer",
                    "match": {"rule": "a"},
                    "actions": [{"action": "delete_pod"}],
                    "safety": {"circuit_breaker": {"window": "1h"}},
                },
                {
                    "name": "elsewhere",
                    "match": {"rule": "b"},
                    "actions": [{"action": "delete_pod"}],
                    "safety": {"circuit_breaker": {"window": "2h", "namespace": "other"}},
                },
            ],
        },
        "policy.yaml",
    )
    assert policy.breaker_windows() == {
        "falco-responder": timedelta(hours=1),
        "other": timedelta(hours=2),
    }


def test_a_rules_share_is_its_own_even_after_the_policys_was_read():
    policy = parse_policy(
        {
            "rules": [
                {
                    "name": "tight",
                    "match": {"rule": "a"},
                    "actions": [{"action": "delete_pod"}],
                    "safety": {"circuit_breaker": {"max_actions": 2}},
                }
            ]
        },
        "policy.yaml",
    )
    assert policy.safety.circuit_breaker.max_actions_per_namespace == 5
    rule_safety = policy.safety.overridden_by(policy.rules[0].safety)
    assert rule_safety.circuit_breaker.max_actions_per_namespace == 1


def test_a_count_past_the_configmaps_limit_fails_the_action_for_good():
    """What `policy validate` warns of: the API server refuses a ConfigMap over 1 MiB
    (ValidateConfigMap), so the breaker's write fails and the action with it, never
    going uncounted."""
    from localdev.k8s_api_emulator import KubeApiEmulator
    from localdev.k8s_api_emulator.validate_core import MAX_CONFIGMAP_SIZE
    from responder import k8s
    from responder.failures import classify
    from shared.errors import PermanentError
    from tests.conftest import kube_api_client

    def change(i: int) -> str:
        return stored_key("shop", f"pod/{i:036d}")

    # Each entry takes the same room, `"key": "time", `: as many as fit, and no more.
    room = len(json.dumps({change(0): T0.isoformat()}))
    full = json.dumps({change(i): T0.isoformat() for i in range(MAX_CONFIGMAP_SIZE // room)})
    assert MAX_CONFIGMAP_SIZE - room < len(full) <= MAX_CONFIGMAP_SIZE
    with KubeApiEmulator().start() as emulator:
        emulator.add_token("admin", verbs="*")
        emulator.create_namespace("falco-responder")
        with kube_api_client(emulator, "admin") as api_client:
            core = k8s.CoreV1Api(api_client)
            body = {"metadata": {"name": CONFIGMAP}, "data": {DATA_KEY: full}}
            core.create_namespaced_config_map("falco-responder", body)
            settings = CircuitBreaker(max_actions=10_000_000, window="1h", namespace_share=1)
            breaker = Breaker(SimpleNamespace(core=core), settings, 5, now=lambda: at(1))
            with pytest.raises(ApiException) as refused:
                breaker.admit("pod/one-more", "shop", dry_run=False)
    assert refused.value.status == 422
    assert isinstance(classify(refused.value), PermanentError)
