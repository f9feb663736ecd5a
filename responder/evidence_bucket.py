"""The evidence bucket, written create-only: an object is never overwritten or read back.

google.cloud.storage is imported on first use, so a responder whose policy captures no
evidence never pays for it at cold start. Failures propagate as the client raises them
and are classified in responder.failures.

Cloud Storage may answer an upload with `ifGenerationMatch=0` onto an existing object
with 412 (the precondition) or, to an identity with only `roles/storage.objectCreator`,
with 403 (overwriting needs `storage.objects.delete`; a retention policy refuses it too).
Which one it checks first is not documented, so both mean "already there", but a 403
only once this capture has shown that it may create objects: a 403 is also what a bucket
that refuses us answers. When nothing was created yet, a marker object with a name never
used before is created under the same prefix: it succeeds only if we may create there.
The responder cannot read objects (`storage.objects.get`), so it cannot simply look.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from google.cloud.storage import Client

# Under a capture's prefix: one small object per attempt that found the capture stored
# and had to prove it may create objects (listed by `falco-responder evidence`).
REDELIVERY_MARKERS = "redeliveries/"

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


class CreateOnlyWriter:
    """Creates objects under one prefix of one bucket, each only if it does not exist."""

    def __init__(self, bucket: str, prefix: str, timeout: float) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.timeout = timeout
        self._may_create = False  # proven by an object this writer created

    def create(self, name: str, data: bytes, content_type: str) -> bool:
        """Create `prefix + name` unless it exists: True if created, False if already there.

        Any other failure propagates (a 403 from a bucket that refuses us included).
        """
        from google.api_core.exceptions import Forbidden, PreconditionFailed

        try:
            self._upload(name, data, content_type)
        except PreconditionFailed:
            return False
        except Forbidden:
            if not (self._may_create or self._prove_we_may_create(name)):
                raise
            return False
        self._may_create = True
        return True

    def _prove_we_may_create(self, refused: str) -> bool:
        """Create a marker no attempt ever named: True if Cloud Storage let us."""
        from google.api_core.exceptions import Forbidden

        now = datetime.now(UTC)
        marker = f"{REDELIVERY_MARKERS}{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.json"
        note = {"at": now.isoformat(), "found_stored": refused}
        try:
            self._upload(marker, json.dumps(note).encode(), "application/json")
        except Forbidden:
            return False
        self._may_create = True
        return True

    def _upload(self, name: str, data: bytes, content_type: str) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        blob = _storage_client().bucket(self.bucket).blob(self.prefix + name)
        # ifGenerationMatch=0 (create if absent) makes a retried upload safe; retries stop
        # after `timeout`, so one alert stays within the responder's time budget (Pub/Sub
        # retries the rest).
        blob.upload_from_string(
            data,
            content_type=content_type,
            if_generation_match=0,
            timeout=self.timeout,
            retry=DEFAULT_RETRY.with_timeout(self.timeout),
        )
