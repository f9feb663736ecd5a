"""A stand-in for Secret Manager's `access_secret_version`, the one call the code makes.

Secret Manager has no emulator. This answers as the API does for the cases the code meets
(https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets.versions/access):
versions are numbered from 1; `latest` is an alias of the most recently created version
whatever its state, so a disabled or destroyed newest version makes a read of `latest`
fail (never fall back to an older one); a version that is not ENABLED is
FAILED_PRECONDITION, "Secret Version [.../versions/N] is in DISABLED state." (the
resolved number, as google-github-actions/get-secretmanager-secrets#268 quotes it); an
unknown secret or version is NOT_FOUND; an outage is UNAVAILABLE.
"""

import enum
import threading
from dataclasses import dataclass

from google.api_core import exceptions as google_exceptions

from shared.secrets import SecretVersion


class State(enum.Enum):
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    DESTROYED = "DESTROYED"  # final: the payload is gone


@dataclass
class _Version:
    payload: bytes
    state: State = State.ENABLED


class SecretManagerStandIn:
    """Secrets by name (`projects/P/secrets/S`), each a list of versions numbered from 1."""

    def __init__(self) -> None:
        self._secrets: dict[str, list[_Version]] = {}
        self.reads: list[str] = []
        self.down = False
        # Closed: every read blocks until it opens (Secret Manager slow), within a deadline.
        self.gate = threading.Event()
        self.gate.set()
        self.reading = threading.Event()

    def add_version(self, secret: str, payload: bytes) -> str:
        """`gcloud secrets versions add`: the new version's full name."""
        versions = self._secrets.setdefault(secret, [])
        versions.append(_Version(payload))
        return f"{secret}/versions/{len(versions)}"

    def disable(self, secret: str, number: int) -> None:
        self._set_state(secret, number, State.DISABLED)

    def enable(self, secret: str, number: int) -> None:
        self._set_state(secret, number, State.ENABLED)

    def destroy(self, secret: str, number: int) -> None:
        version = self._secrets[secret][number - 1]
        version.state = State.DESTROYED
        version.payload = b""

    def _set_state(self, secret: str, number: int, state: State) -> None:
        version = self._secrets[secret][number - 1]
        if version.state is State.DESTROYED:
            raise google_exceptions.FailedPrecondition(
                f"Secret Version [{secret}/versions/{number}] is in DESTROYED state."
            )
        version.state = state

    def access_secret_version(self, name: str) -> SecretVersion:
        """What `shared.secrets.read_secret_version` returns for `name`, or its error."""
        self.reads.append(name)
        self.reading.set()
        assert self.gate.wait(timeout=10), "the test never let the read finish"
        if self.down:
            raise google_exceptions.ServiceUnavailable("Secret Manager is unavailable")
        secret, _, version = name.rpartition("/versions/")
        versions = self._secrets.get(secret, [])
        if version == "latest":
            number = len(versions)  # the newest, whatever its state
        elif version.isdigit():
            number = int(version)
        else:
            raise google_exceptions.InvalidArgument(f"invalid secret version name {name!r}")
        if not 1 <= number <= len(versions):
            raise google_exceptions.NotFound(f"Secret Version [{name}] not found.")
        resolved = f"{secret}/versions/{number}"
        stored = versions[number - 1]
        if stored.state is not State.ENABLED:
            raise google_exceptions.FailedPrecondition(
                f"Secret Version [{resolved}] is in {stored.state.value} state."
            )
        return SecretVersion(resolved, stored.payload)

    def read_secret(self, name: str) -> bytes:
        """What `shared.secrets.read_secret` returns for `name`, or its error."""
        return self.access_secret_version(name).data


class Clock:
    """A clock for `SecretTokens` that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Background:
    """Starts each re-read in its own thread, as ingest does, and can wait for them."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def __call__(self, target) -> None:
        thread = threading.Thread(target=target, daemon=True)
        self.threads.append(thread)
        thread.start()

    def settle(self) -> None:
        for thread in self.threads:
            thread.join(timeout=10)
            assert not thread.is_alive(), "a re-read did not finish"
