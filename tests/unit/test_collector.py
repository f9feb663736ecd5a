"""The collector paused while libraries load, then what they made frozen."""

import gc
from collections.abc import Iterator

import pytest

from shared.collector import collector_paused


@pytest.fixture(autouse=True)
def _restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


class _Loaded:
    """Stands in for what a library makes as it loads: objects the collector tracks."""


def test_paused_inside_then_resumed_with_what_was_made_frozen():
    gc.enable()
    frozen = gc.get_freeze_count()
    with collector_paused():
        assert not gc.isenabled()
        loaded = [_Loaded() for _ in range(1000)]
    assert gc.isenabled()
    # Frozen: in no generation the collector traverses.
    assert gc.get_freeze_count() >= frozen + len(loaded)
    assert not any(o is loaded[0] for o in gc.get_objects())


def test_a_nested_use_leaves_resuming_to_the_outer_one():
    gc.enable()
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_resumed_when_loading_fails():
    gc.enable()
    with pytest.raises(ImportError), collector_paused():
        raise ImportError("no such library")
    assert gc.isenabled()


def test_never_resumed_where_it_was_off():
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
