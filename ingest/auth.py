"""Bearer-token authentication of the sender (Falcosidekick's webhook custom header)."""

import functools
import hmac

from shared import config
from shared.secrets import read_secret


@functools.cache
def expected_token() -> bytes | None:
    """INGEST_TOKEN, else the Secret Manager version named by INGEST_TOKEN_SECRET, else None.

    Read once per instance. A failed secret read raises and is not cached, so the next
    request tries again.
    """
    token = config.env(config.INGEST_TOKEN)
    if token is not None:
        return token.encode()
    secret = config.env(config.INGEST_TOKEN_SECRET)
    if secret is not None:
        value = read_secret(secret).strip()
        if not value:
            raise RuntimeError(f"secret {secret} is empty")
        return value
    return None


def token_configured() -> bool:
    """Whether a token is set up (checked without reading the secret)."""
    return config.env(config.INGEST_TOKEN) is not None or (
        config.env(config.INGEST_TOKEN_SECRET) is not None
    )


def is_authorized(authorization: str | None, expected: bytes) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    return hmac.compare_digest(presented.strip().encode(), expected)
