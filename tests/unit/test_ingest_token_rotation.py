"""Rotating the ingest token without a redeploy.

Secret Manager has no emulator: the secret read (shared.secrets.read_secret_version) is
answered by tests/secret_manager.py, which resolves `latest` as Secret Manager does (the
newest version, disabled or not). Re-reads run in background threads, as in ingest;
`Background.settle` waits for them (bounded).
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from google.api_core import exceptions as google_exceptions

from ingest import auth
from ingest.auth import (
    RETRY_BACKOFF_SECONDS,
    STALE_TOKEN_LIMIT_SECONDS,
    TOKEN_MAX_AGE_SECONDS,
    SecretTokens,
    TokensUnavailableError,
)
from ingest.service import Settings, handle
from shared import config
from tests.secret_manager import Background, Clock, SecretManagerStandIn

SECRET = "projects/p/secrets/ingest-token"
SETTINGS = Settings(topic="falco-alerts", max_body_bytes=1000, max_alerts=2)


@pytest.fixture
def store() -> SecretManagerStandIn:
    manager = SecretManagerStandIn()
    manager.add_version(SECRET, b"old-token\n")
    return manager


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def background() -> Background:
    return Background()


def _tokens(
    store: SecretManagerStandIn, clock: Clock, background: Background, version: str = "latest"
) -> SecretTokens:
    return SecretTokens(
        f"{SECRET}/versions/{version}",
        read=store.access_secret_version,
        clock=clock,
        spawn=background,
    )


LATEST = f"{SECRET}/versions/latest"


def test_a_rotation_reaches_the_instance_within_the_bound(store, clock, background):
    tokens = _tokens(store, clock, background)
    assert tokens.accepted() == (b"old-token",)
    store.add_version(SECRET, b"new-token")
    clock.now += TOKEN_MAX_AGE_SECONDS - 1
    assert tokens.accepted() == (b"old-token",)  # still within the bound: not re-read
    assert store.reads == [LATEST]
    clock.now += 1
    # Due: the re-read starts in the background; this request is served the tokens it has.
    assert tokens.accepted() == (b"old-token",)
    background.settle()
    # The new version, and the old one while it stays enabled (Falcosidekick moves over).
    assert tokens.accepted() == (b"new-token", b"old-token")
    store.disable(SECRET, 1)
    clock.now += TOKEN_MAX_AGE_SECONDS
    tokens.accepted()
    background.settle()
    assert tokens.accepted() == (b"new-token",)


def _rotated(store, clock, background) -> SecretTokens:
    """An instance that has read version 2 (new-token) and version 1 (old-token)."""
    store.add_version(SECRET, b"new-token")
    tokens = _tokens(store, clock, background)
    assert tokens.accepted() == (b"new-token", b"old-token")
    return tokens


def _re_read(tokens: SecretTokens, clock: Clock, background: Background) -> None:
    clock.now += TOKEN_MAX_AGE_SECONDS
    tokens.accepted()
    background.settle()


def test_a_disabled_newest_version_withdraws_the_tokens_at_once(store, clock, background):
    tokens = _rotated(store, clock, background)
    store.disable(SECRET, 2)
    _re_read(tokens, clock, background)
    # `latest` is version 2, refused: no grace, and no falling back to the enabled version 1.
    with pytest.raises(TokensUnavailableError, match=r"versions/2\] is in DISABLED state"):
        tokens.accepted()
    assert store.reads[-1] == LATEST
    assert f"{SECRET}/versions/1" not in store.reads[2:]
    # Enabled again: the next read (after the backoff) restores both.
    store.enable(SECRET, 2)
    clock.now += RETRY_BACKOFF_SECONDS
    with pytest.raises(TokensUnavailableError):
        tokens.accepted()  # starts the read, waits for nothing
    background.settle()
    assert tokens.accepted() == (b"new-token", b"old-token")


@pytest.mark.parametrize("withdraw", ["disable", "destroy"])
def test_a_withdrawn_previous_version_is_not_accepted(store, clock, background, withdraw):
    tokens = _rotated(store, clock, background)
    getattr(store, withdraw)(SECRET, 1)
    _re_read(tokens, clock, background)
    assert tokens.accepted() == (b"new-token",)
    assert store.reads[-2:] == [LATEST, f"{SECRET}/versions/1"]


def test_a_pinned_version_accepts_only_itself(store, clock, background):
    store.add_version(SECRET, b"new-token")
    assert _tokens(store, clock, background, version="2").accepted() == (b"new-token",)


def test_secret_manager_down_keeps_the_last_tokens_for_the_grace(store, clock, background):
    tokens = _tokens(store, clock, background)
    tokens.accepted()
    store.down = True
    clock.now += TOKEN_MAX_AGE_SECONDS
    assert tokens.accepted() == (b"old-token",)
    background.settle()
    clock.now = 1000.0 + STALE_TOKEN_LIMIT_SECONDS - 1
    assert tokens.accepted() == (b"old-token",)
    background.settle()
    clock.now += 1
    with pytest.raises(TokensUnavailableError, match="beyond the 300 s grace") as raised:
        tokens.accepted()
    assert isinstance(raised.value.__cause__, google_exceptions.ServiceUnavailable)
    # Back up: the next read (after the backoff) restores service.
    store.down = False
    clock.now += TOKEN_MAX_AGE_SECONDS
    with pytest.raises(TokensUnavailableError):
        tokens.accepted()  # starts the read, waits for nothing
    background.settle()
    assert tokens.accepted() == (b"old-token",)


def test_a_failed_read_is_remembered_with_backoff(store, clock, background):
    tokens = _tokens(store, clock, background)
    tokens.accepted()
    store.down = True
    clock.now += TOKEN_MAX_AGE_SECONDS
    for _ in range(50):
        tokens.accepted()
        background.settle()
    assert len(store.reads) == 2  # the first read, then one failure: not one per request
    clock.now += RETRY_BACKOFF_SECONDS
    tokens.accepted()
    background.settle()
    assert len(store.reads) == 3
    clock.now += RETRY_BACKOFF_SECONDS  # the backoff doubled: not due yet
    tokens.accepted()
    background.settle()
    assert len(store.reads) == 3
    clock.now += RETRY_BACKOFF_SECONDS
    tokens.accepted()
    background.settle()
    assert len(store.reads) == 4


def test_no_request_waits_behind_a_slow_re_read(store, clock, background):
    tokens = _tokens(store, clock, background)
    tokens.accepted()
    store.add_version(SECRET, b"new-token")
    store.gate.clear()  # Secret Manager hangs from now on
    store.reading.clear()
    clock.now += TOKEN_MAX_AGE_SECONDS
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda _: tokens.accepted(), range(64)))
    assert time.monotonic() - started < 2  # none waited for the hung read (10 s)
    assert answers == [(b"old-token",)] * 64
    assert store.reading.wait(timeout=5)
    assert store.reads == [LATEST, LATEST]  # one re-read for all of them
    store.gate.set()
    background.settle()
    assert tokens.accepted() == (b"new-token", b"old-token")


def test_only_the_first_read_waits_and_only_for_its_bound(store, clock, background, monkeypatch):
    monkeypatch.setattr(auth, "FIRST_READ_WAIT_SECONDS", 0.2)
    tokens = _tokens(store, clock, background)
    store.gate.clear()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        waits = [pool.submit(tokens.accepted) for _ in range(4)]
        for wait in waits:
            with pytest.raises(TokensUnavailableError, match="has not been read yet"):
                wait.result(timeout=5)
    assert time.monotonic() - started < 2
    assert store.reads == [LATEST]  # the four waited on one read
    store.gate.set()
    background.settle()
    assert tokens.accepted() == (b"old-token",)


def test_the_first_read_can_start_before_the_first_request(store, clock, background):
    tokens = _tokens(store, clock, background)
    tokens.start_reading()
    background.settle()
    assert store.reads == [LATEST]
    assert tokens.accepted() == (b"old-token",)
    assert store.reads == [LATEST]  # the request read nothing itself


def _outage(store: SecretManagerStandIn) -> None:
    store.down = True


def _newest_disabled(store: SecretManagerStandIn) -> None:
    """A new instance: `latest` is version 2, disabled; version 1 is never tried instead."""
    store.add_version(SECRET, b"new-token")
    store.disable(SECRET, 2)


@pytest.mark.parametrize(
    ("failure", "cause"),
    [
        (_outage, google_exceptions.ServiceUnavailable),
        (_newest_disabled, google_exceptions.FailedPrecondition),
    ],
)
def test_a_first_read_that_fails_is_not_retried_per_request(
    store, clock, background, failure, cause
):
    failure(store)
    tokens = _tokens(store, clock, background)
    for _ in range(3):
        with pytest.raises(TokensUnavailableError) as raised:
            tokens.accepted()
        assert isinstance(raised.value.__cause__, cause)
    assert store.reads == [LATEST]


def test_ingest_answers_by_the_rotated_secret(monkeypatch, store, background):
    monkeypatch.delenv(config.INGEST_TOKEN, raising=False)
    monkeypatch.setenv(config.INGEST_TOKEN_SECRET, LATEST)
    clock = Clock()
    tokens = {}

    def secret_tokens(name: str) -> SecretTokens:
        return tokens.setdefault(
            name,
            SecretTokens(name, read=store.access_secret_version, clock=clock, spawn=background),
        )

    monkeypatch.setattr(auth, "secret_tokens", secret_tokens)

    def status(token: str) -> int:
        # text/csv: 415 means the token passed, 401 that it did not (the body is never read).
        return handle("POST", f"Bearer {token}", "text/csv", bytes, SETTINGS).status

    def after_the_re_read() -> None:
        clock.now += TOKEN_MAX_AGE_SECONDS
        status("any")
        background.settle()

    assert status("old-token") == 415
    assert status("new-token") == 401
    store.add_version(SECRET, b"new-token")
    after_the_re_read()
    assert (status("old-token"), status("new-token")) == (415, 415)
    store.disable(SECRET, 1)
    after_the_re_read()
    assert (status("old-token"), status("new-token")) == (401, 415)
    assert store.reads.count(LATEST) == 3
    store.down = True
    clock.now += STALE_TOKEN_LIMIT_SECONDS
    assert status("new-token") == 503
