"""The evidence bucket, written create-only: an object is never overwritten or read back.

google.cloud.storage is imported on first use, so a responder whose policy captures no
evidence never pays for it at cold start. Failures propagate as the client raises them
and are classified in responder.failures.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.storage import Client

_lock = threading.Lock()
_client: Client | None = None


def _storage_client() -> Client:
    """One client per instance, made on first use (STORAGE_EMULATOR_HOST points it locally)."""
    global _client
    with _lock:
        if _client is None:
            from google.cloud import storage

            _client = storage.Client()
        return _client


def create_object(bucket: str, name: str, data: bytes, content_type: str, timeout: float) -> bool:
    """Create `name` unless it exists (ifGenerationMatch=0): True if created, False if there.

    The precondition makes the write idempotent, and means the responder never needs
    the right to overwrite (or delete) evidence.
    """
    from google.api_core.exceptions import PreconditionFailed
    from google.cloud.storage.retry import DEFAULT_RETRY

    blob = _storage_client().bucket(bucket).blob(name)
    try:
        # The precondition makes a retried upload safe; retries stop after `timeout`, so
        # one alert stays within the responder's time budget (Pub/Sub retries the rest).
        blob.upload_from_string(
            data,
            content_type=content_type,
            if_generation_match=0,
            timeout=timeout,
            retry=DEFAULT_RETRY.with_timeout(timeout),
        )
    except PreconditionFailed:
        return False
    return True
