"""Rotating the ingest token without a redeploy.

Secret Manager has no emulator: as in tests/integration/test_kube_credentials.py, the
secret read (shared.secrets.read_secret_version) is replaced by a store that behaves as
Secret Manager does for these calls: `latest` resolves to the newest enabled version's
number, a disabled version is FAILED_PRECONDITION, an unknown one NOT_FOUND.
"""

import pytest
from google.api_core import exceptions as google_exceptions

from ingest import auth
from ingest.auth import STALE_TOKEN_LIMIT_SECONDS, TOKEN_MAX_AGE_SECONDS, SecretTokens
from ingest.service import Settings, handle
from shared import config
from shared.secrets import SecretVersion

SECRET = "projects/p/secrets/ingest-token"
SETTINGS = Settings(topic="falco-alerts", max_body_bytes=1000, max_alerts=2)


class SecretStore:
    """Versions of one secret, numbered from 1, as Secret Manager keeps them."""

    def __init__(self, *payloads: bytes) -> None:
        self.versions: list[bytes] = list(payloads)
        self.disabled: set[int] = set()
        self.reads: list[str] = []
        self.down = False

    def add(self, payload: bytes) -> None:
        self.versions.append(payload)

    def disable(self, number: int) -> None:
        self.disabled.add(number)

    def read(self, name: str) -> SecretVersion:
        self.reads.append(name)
        if self.down:
            raise google_exceptions.ServiceUnavailable("secret manager is down")
        base, _, version = name.rpartition("/versions/")
        assert base == SECRET
        if version == "latest":
            enabled = [n for n in range(1, len(self.versions) + 1) if n not in self.disabled]
            number = max(enabled)
        else:
            number = int(version)
        if not 1 <= number <= len(self.versions):
            raise google_exceptions.NotFound(f"{name} not found")
        if number in self.disabled:
            raise google_exceptions.FailedPrecondition(f"{name} is in DISABLED state")
        return SecretVersion(f"{SECRET}/versions/{number}", self.versions[number - 1])


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store() -> SecretStore:
    return SecretStore(b"old-token\n")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _tokens(store: SecretStore, clock: Clock, version: str = "latest") -> SecretTokens:
    return SecretTokens(f"{SECRET}/versions/{version}", read=store.read, clock=clock)


def test_a_rotation_reaches_the_instance_within_the_bound(store, clock):
    tokens = _tokens(store, clock)
    assert tokens.accepted() == (b"old-token",)
    store.add(b"new-token")
    clock.now += TOKEN_MAX_AGE_SECONDS - 1
    assert tokens.accepted() == (b"old-token",)  # still within the bound: not re-read
    clock.now += 1
    # The new version, and the old one while it stays enabled (Falcosidekick moves over).
    assert tokens.accepted() == (b"new-token", b"old-token")
    store.disable(1)
    clock.now += TOKEN_MAX_AGE_SECONDS
    assert tokens.accepted() == (b"new-token",)


def test_a_pinned_version_accepts_only_itself(store, clock):
    store.add(b"new-token")
    assert _tokens(store, clock, version="2").accepted() == (b"new-token",)


def test_secret_manager_down_keeps_the_last_tokens_for_a_bounded_time(store, clock):
    tokens = _tokens(store, clock)
    tokens.accepted()
    store.down = True
    clock.now += STALE_TOKEN_LIMIT_SECONDS - 1
    assert tokens.accepted() == (b"old-token",)
    clock.now += 1
    with pytest.raises(google_exceptions.ServiceUnavailable):
        tokens.accepted()


def test_ingest_answers_by_the_rotated_secret(monkeypatch, store):
    monkeypatch.delenv(config.INGEST_TOKEN, raising=False)
    monkeypatch.setenv(config.INGEST_TOKEN_SECRET, f"{SECRET}/versions/latest")
    clock = Clock()
    tokens = {}

    def secret_tokens(name: str) -> SecretTokens:
        return tokens.setdefault(name, SecretTokens(name, read=store.read, clock=clock))

    monkeypatch.setattr(auth, "secret_tokens", secret_tokens)

    def status(token: str) -> int:
        # text/csv: 415 means the token passed, 401 that it did not (the body is never read).
        return handle("POST", f"Bearer {token}", "text/csv", bytes, SETTINGS).status

    assert status("old-token") == 415
    assert status("new-token") == 401
    store.add(b"new-token")
    clock.now += TOKEN_MAX_AGE_SECONDS
    assert (status("old-token"), status("new-token")) == (415, 415)
    store.disable(1)
    clock.now += TOKEN_MAX_AGE_SECONDS
    assert (status("old-token"), status("new-token")) == (401, 415)
    assert store.reads.count(f"{SECRET}/versions/latest") == 3
