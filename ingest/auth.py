"""Bearer-token authentication of the sender (Falcosidekick's webhook custom header).

The token comes from INGEST_TOKEN, or from the Secret Manager version INGEST_TOKEN_SECRET
names. A secret is re-read at most TOKEN_MAX_AGE_SECONDS after the last read, so a
rotation reaches every instance within that bound without a redeploy. When the name
ends in `latest`, the version before it is accepted too (if it is still enabled): add a
version, move Falcosidekick to it, then disable the old one (docs/deploy.md, "Rotating the
ingest token").
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


@dataclass(frozen=True)
class _Tokens:
    accepted: tuple[bytes, ...]
    read_at: float


def _payload(version: SecretVersion) -> bytes:
    value = version.data.strip()
    if not value:
        raise RuntimeError(f"secret {version.name} is empty")
    return value


class SecretTokens:
    """The tokens one secret version name accepts, re-read on a bounded interval."""

    def __init__(
        self,
        version_name: str,
        read: Callable[[str], SecretVersion] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.version_name = version_name
        self._read = read or read_secret_version
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: _Tokens | None = None

    def _fetch(self) -> tuple[bytes, ...]:
        current = self._read(self.version_name)
        accepted = [_payload(current)]
        previous = (
            previous_version_name(current.name) if self.version_name.endswith("/latest") else None
        )
        if previous is not None:
            # Disabled, destroyed or never there: no rotation under way.
            with contextlib.suppress(
                google_exceptions.NotFound, google_exceptions.FailedPrecondition
            ):
                accepted.append(_payload(self._read(previous)))
        return tuple(accepted)

    def accepted(self) -> tuple[bytes, ...]:
        """The tokens to accept now; raises if they cannot be read and none are fresh enough."""
        with self._lock:
            now = self._clock()
            cached = self._tokens
            if cached is not None and now - cached.read_at < TOKEN_MAX_AGE_SECONDS:
                return cached.accepted
            try:
                self._tokens = _Tokens(self._fetch(), now)
            except Exception as exc:
                if cached is None or now - cached.read_at >= STALE_TOKEN_LIMIT_SECONDS:
                    raise
                log(logger, logging.ERROR, "cannot re-read the ingest token", error=repr(exc))
                return cached.accepted
            return self._tokens.accepted


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
