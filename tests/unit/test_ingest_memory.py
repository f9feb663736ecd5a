"""Ingest parses bodies only while their memory fits the instance's (ingest/memory.py)."""

import threading

import pytest

from ingest import auth
from ingest.memory import PARSE_MEMORY_FACTOR, RUNTIME_BYTES, MemoryBusyError, ParseBudget
from ingest.service import Settings, handle
from shared import config

MIB = 1024 * 1024
BODY = 4 * MIB
# Room for exactly two of the largest bodies beside the runtime.
TWO_BODIES = RUNTIME_BYTES + 2 * PARSE_MEMORY_FACTOR * BODY


def test_without_a_memory_every_body_is_parsed_at_once():
    budget = ParseBudget(None, BODY)
    with budget.hold(10**12, timeout=0), budget.hold(10**12, timeout=0):
        pass


def test_a_memory_too_small_for_one_largest_body_fails_the_start():
    with pytest.raises(ValueError, match=r"INGEST_MEMORY of 128 MiB cannot parse one body"):
        ParseBudget(RUNTIME_BYTES, BODY)


def test_bodies_that_do_not_fit_wait_until_others_are_parsed():
    budget = ParseBudget(TWO_BODIES, BODY)
    first_parsing, first_may_end, third_parsing = (threading.Event() for _ in range(3))

    def first() -> None:
        with budget.hold(BODY, timeout=5):
            first_parsing.set()
            first_may_end.wait(5)

    def third() -> None:
        with budget.hold(BODY, timeout=5):
            third_parsing.set()

    threads = [threading.Thread(target=first), threading.Thread(target=third)]
    threads[0].start()
    assert first_parsing.wait(5)
    with budget.hold(BODY, timeout=5):  # the second fits beside the first
        threads[1].start()
        assert not third_parsing.wait(0.2)  # the third does not, while both are held
        first_may_end.set()
        assert third_parsing.wait(5)  # and goes ahead once the first is done
    for thread in threads:
        thread.join(5)
    assert budget.held == 0


def test_a_body_that_never_fits_within_its_wait_is_refused_and_holds_nothing():
    budget = ParseBudget(TWO_BODIES, BODY)
    with budget.hold(BODY, timeout=1), budget.hold(BODY, timeout=1):
        with pytest.raises(MemoryBusyError, match="this one needs"), budget.hold(1, timeout=0.05):
            pass
        assert budget.held == 2 * PARSE_MEMORY_FACTOR * BODY
    assert budget.held == 0


def test_small_alerts_fit_beside_large_bodies():
    budget = ParseBudget(TWO_BODIES + PARSE_MEMORY_FACTOR * 64 * 1024, BODY)
    with budget.hold(BODY, timeout=1), budget.hold(BODY, timeout=1), budget.hold(3000, timeout=0):
        pass  # a real alert (a few kilobytes) fits beside two of the largest bodies


def test_ingest_answers_503_with_retry_after_when_no_memory_frees_in_time(monkeypatch):
    monkeypatch.setenv(config.INGEST_TOKEN, "s3cret")
    monkeypatch.delenv(config.INGEST_TOKEN_SECRET, raising=False)
    auth.secret_tokens.cache_clear()
    budget = ParseBudget(TWO_BODIES, BODY)
    settings = Settings(
        topic="falco-alerts",
        max_body_bytes=BODY,
        max_alerts=2,
        body_timeout_seconds=0.05,
        parse_budget=budget,
    )
    with budget.hold(BODY, timeout=1), budget.hold(BODY, timeout=1):
        reply = handle("POST", "Bearer s3cret", "application/json", lambda: b"{}", settings)
    assert reply.status == 503
    assert reply.headers["Retry-After"] == "1"
    assert "being parsed" in reply.body["error"]


def test_the_instance_memory_comes_from_ingest_memory(monkeypatch):
    monkeypatch.setenv(config.INGEST_MEMORY, "512Mi")
    assert Settings.from_env().parse_budget.total == 512 * MIB - RUNTIME_BYTES
    monkeypatch.delenv(config.INGEST_MEMORY)
    assert Settings.from_env().parse_budget.total is None
