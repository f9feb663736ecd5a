"""Reading a Secret Manager secret version (the ingest token, kubeconfigs)."""

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud import secretmanager

SECRET_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SecretVersion:
    """A version's full name (`latest` resolved to its number) and its payload."""

    name: str
    data: bytes


@functools.cache
def _client() -> "secretmanager.SecretManagerServiceClient":
    """One client per instance: the ingest token is re-read every minute.

    Imported here: only an instance configured with a secret pays for the client.
    """
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()


def read_secret_version(version_name: str) -> SecretVersion:
    """`projects/P/secrets/S/versions/V` (V may be `latest`); a failure propagates."""
    response = _client().access_secret_version(
        request={"name": version_name}, timeout=SECRET_TIMEOUT_SECONDS
    )
    return SecretVersion(response.name, response.payload.data)


def read_secret(version_name: str) -> bytes:
    """The payload of `projects/P/secrets/S/versions/V` (V may be `latest`).

    The caller decides how long to keep it and whether a failure is a 503 or a retry.
    """
    return read_secret_version(version_name).data


def previous_version_name(version_name: str) -> str | None:
    """`.../versions/6` for `.../versions/7`; None for version 1 or a name without a number."""
    base, _, number = version_name.rpartition("/versions/")
    if not base or not number.isdigit() or int(number) <= 1:
        return None
    return f"{base}/versions/{int(number) - 1}"
