"""Reading a Secret Manager secret version (the ingest token, kubeconfigs)."""

SECRET_TIMEOUT_SECONDS = 10.0


def read_secret(version_name: str) -> bytes:
    """The payload of `projects/P/secrets/S/versions/V` (V may be `latest`).

    Callers cache the value once per instance; a failure propagates (the caller decides
    whether that is a 503 or a retry).
    """
    # Imported here: only an instance configured with a secret pays for the client.
    from google.cloud import secretmanager

    client = secretmanager.SecretManagerServiceClient()
    response = client.access_secret_version(
        request={"name": version_name}, timeout=SECRET_TIMEOUT_SECONDS
    )
    return response.payload.data
