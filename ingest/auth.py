"""Bearer-token authentication of the sender (Falcosidekick's webhook custom header).

The token comes from INGEST_TOKEN, or from the Secret Manager version INGEST_TOKEN_SECRET
names. A secret is re-read once the tokens are TOKEN_MAX_AGE_SECONDS old, so a rotation
reaches every instance within that bound without a redeploy. When the name ends in
`latest`, the version before it is accepted too (if it is still enabled): add a version,
move Falcosidekick to it, then disable the old one (docs/deploy.md, "Rotating the
ingest token").

No request waits behind a re-read: one background thread reads while requests keep using
the tokens last read, for up to STALE_TOKEN_LIMIT_SECONDS after that read (the grace). A
failed read is remembered and not tried again before a backoff, so a slow or failing
Secret Manager costs one read at a time, never one per request. Only while an instance
has no tokens yet does a request wait, at most FIRST_READ_WAIT_SECONDS.

The grace is for a Secret Manager that cannot be reached. When it answers that the version
cannot be used (disabled, destroyed or deleted: `latest` names the newest version whatever
its state, and Secret Manager refuses the read), the operator withdrew the token: the
tokens held are dropped at once and requests get 503 until a read succeeds.
"""

import contextlib
import functools
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from google.api_core import exceptions as google_exceptions

from shared import config
from shared.secrets import SecretVersion, previous_version_name, read_secret_version
from shared.structured_log import log

logger = logging.getLogger("falco_responder.ingest")

TOKEN_MAX_AGE_SECONDS = 60.0
# Secret Manager unreachable: the tokens last read keep serving this long, then 503.
STALE_TOKEN_LIMIT_SECONDS = 5 * TOKEN_MAX_AGE_SECONDS
# A new instance's first requests wait this long for the first read, then get 503.
FIRST_READ_WAIT_SECONDS = 5.0
# After a failed read, the next one waits 2 s, then 4, 8... up to 60 s.
RETRY_BACKOFF_SECONDS = 2.0
RETRY_BACKOFF_MAX_SECONDS = TOKEN_MAX_AGE_SECONDS


# Secret Manager's answers that the version named cannot be used, as opposed to an outage.
_WITHDRAWN = (google_exceptions.FailedPrecondition, google_exceptions.NotFound)


class TokensUnavailableError(RuntimeError):
    """No tokens fresh enough to use: never read yet, or the grace after the last read ended."""


@dataclass(frozen=True)
class _Tokens:
    accepted: tuple[bytes, ...]
    read_at: float


def _payload(version: SecretVersion) -> bytes:
    value = version.data.strip()
    if not value:
        raise RuntimeError(f"secret {version.name} is empty")
    return value


def _in_background(target: Callable[[], None]) -> None:
    threading.Thread(target=target, name="ingest-token-refresh", daemon=True).start()


class SecretTokens:
    """The tokens one secret version name accepts, re-read in the background."""

    def __init__(
        self,
        version_name: str,
        read: Callable[[str], SecretVersion] | None = None,
        clock: Callable[[], float] = time.monotonic,
        spawn: Callable[[Callable[[], None]], None] = _in_background,
    ) -> None:
        self.version_name = version_name
        self._read = read or read_secret_version
        self._clock = clock
        self._spawn = spawn
        self._changed = threading.Condition()
        self._tokens: _Tokens | None = None
        self._reading = False
        self._failures = 0
        self._retry_at = float("-inf")
        self._error: Exception | None = None

    def _fetch(self) -> tuple[bytes, ...]:
        current = self._read(self.version_name)
        accepted = [_payload(current)]
        previous = (
            previous_version_name(current.name) if self.version_name.endswith("/latest") else None
        )
        if previous is not None:
            # Disabled, destroyed or never there: no rotation under way, accept it not.
            with contextlib.suppress(*_WITHDRAWN):
                accepted.append(_payload(self._read(previous)))
        return tuple(accepted)

    def _refresh(self) -> None:
        """One read, in the background thread; its result is published under the lock."""
        started = self._clock()
        try:
            accepted = self._fetch()
        except Exception as exc:
            with self._changed:
                self._failures += 1
                backoff = RETRY_BACKOFF_SECONDS * 2 ** (self._failures - 1)
                self._retry_at = self._clock() + min(backoff, RETRY_BACKOFF_MAX_SECONDS)
                self._error = exc
                if isinstance(exc, _WITHDRAWN):
                    self._tokens = None  # withdrawn by the operator: no grace
                self._reading = False
                self._changed.notify_all()
            log(logger, logging.ERROR, "cannot read the ingest token", error=repr(exc))
            return
        with self._changed:
            self._tokens = _Tokens(accepted, started)
            self._failures = 0
            self._retry_at = float("-inf")
            self._error = None
            self._reading = False
            self._changed.notify_all()

    def _start_refresh(self, now: float) -> None:
        """Start a read unless one is running or the last failure's backoff is not over."""
        if self._reading or now < self._retry_at:
            return
        self._reading = True
        try:
            self._spawn(self._refresh)
        except BaseException:
            self._reading = False
            raise

    def start_reading(self) -> None:
        """Start the first read now (at instance start), so the first request finds it done."""
        with self._changed:
            self._start_refresh(self._clock())

    def _why_none(self) -> str:
        if isinstance(self._error, _WITHDRAWN):
            return f"Secret Manager refuses the ingest token {self.version_name}: {self._error}"
        return f"the ingest token {self.version_name} has not been read yet"

    def accepted(self) -> tuple[bytes, ...]:
        """The tokens to accept now; TokensUnavailableError if none are fresh enough."""
        with self._changed:
            now = self._clock()
            cached = self._tokens
            if cached is not None and now - cached.read_at < TOKEN_MAX_AGE_SECONDS:
                return cached.accepted
            self._start_refresh(now)
            if cached is None:
                if not isinstance(self._error, _WITHDRAWN):
                    # A new instance: nothing to serve yet, so wait for the first read (bounded).
                    self._changed.wait_for(
                        lambda: self._tokens is not None or not self._reading,
                        timeout=FIRST_READ_WAIT_SECONDS,
                    )
                    if self._tokens is not None:
                        return self._tokens.accepted
                raise TokensUnavailableError(self._why_none()) from self._error
            if now - cached.read_at < STALE_TOKEN_LIMIT_SECONDS:
                return cached.accepted
            age = now - cached.read_at
            raise TokensUnavailableError(
                f"the ingest token {self.version_name} was last read {age:.0f} s ago, "
                f"beyond the {STALE_TOKEN_LIMIT_SECONDS:.0f} s grace"
            ) from self._error


@functools.cache
def secret_tokens(version_name: str) -> SecretTokens:
    """One cache per secret name per instance."""
    return SecretTokens(version_name)


def expected_tokens() -> tuple[bytes, ...] | None:
    """The tokens to accept: INGEST_TOKEN, else those of INGEST_TOKEN_SECRET, else None."""
    token = config.env(config.INGEST_TOKEN)
    if token is not None:
        return (token.encode(),)
    secret = config.env(config.INGEST_TOKEN_SECRET)
    if secret is None:
        return None
    return secret_tokens(secret).accepted()


def start_reading_the_secret() -> None:
    """With INGEST_TOKEN_SECRET (and no INGEST_TOKEN), start its first read in the background."""
    secret = config.env(config.INGEST_TOKEN_SECRET)
    if secret is not None and config.env(config.INGEST_TOKEN) is None:
        secret_tokens(secret).start_reading()


def token_configured() -> bool:
    """Whether a token is set up (checked without reading the secret)."""
    return config.env(config.INGEST_TOKEN) is not None or (
        config.env(config.INGEST_TOKEN_SECRET) is not None
    )


def is_authorized(authorization: str | None, accepted: tuple[bytes, ...]) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time with each accepted token."""
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    given = presented.strip().encode()
    # Every token is compared (no early exit), so timing does not tell which one matched.
    matches = [hmac.compare_digest(given, token) for token in accepted]
    return any(matches)
