"""The create-only writer tells "already stored" from "refused" for each answer Cloud
Storage may give an upload with ifGenerationMatch=0: 412, or 403 when the identity lacks
storage.objects.delete. The fake stands at the client boundary (Client.bucket().blob()
.upload_from_string) and raises what google-cloud-storage raises for those answers."""

import pytest
from google.api_core import exceptions as google_errors

from responder import evidence_bucket
from responder.evidence_bucket import REDELIVERY_MARKERS, CreateOnlyWriter

PREFIX = "single-cluster/default/web-1/A/"


class Bucket:
    """Objects by name; `existing_answer` is what an upload onto one of them gets;
    `refuse_creates`: IAM without storage.objects.create (everything is 403)."""

    def __init__(self, existing_answer: type[Exception], refuse_creates: bool = False) -> None:
        self.objects: dict[str, bytes] = {}
        self.existing_answer = existing_answer
        self.refuse_creates = refuse_creates

    def bucket(self, name: str) -> "Bucket":
        assert name == "evidence"
        return self

    def blob(self, name: str) -> "Blob":
        return Blob(self, name)


class Blob:
    def __init__(self, bucket: Bucket, name: str) -> None:
        self.bucket, self.name = bucket, name

    def upload_from_string(self, data: bytes, if_generation_match: int, **_: object) -> None:
        assert if_generation_match == 0
        if self.bucket.refuse_creates:
            raise google_errors.Forbidden("no storage.objects.create access")
        if self.name in self.bucket.objects:
            raise self.bucket.existing_answer("exists")
        self.bucket.objects[self.name] = data


def writer(monkeypatch, bucket: Bucket) -> CreateOnlyWriter:
    monkeypatch.setattr(evidence_bucket, "_storage_client", lambda: bucket)
    return CreateOnlyWriter("evidence", PREFIX, timeout=5)


def markers(bucket: Bucket) -> list[str]:
    return [n for n in bucket.objects if n.startswith(PREFIX + REDELIVERY_MARKERS)]


@pytest.mark.parametrize(
    "existing_answer", [google_errors.PreconditionFailed, google_errors.Forbidden]
)
def test_a_redelivery_finds_every_object_stored_whichever_the_answer(monkeypatch, existing_answer):
    bucket = Bucket(existing_answer)
    first = writer(monkeypatch, bucket)
    assert [first.create(n, b"x", "text/plain") for n in ("a", "b")] == [True, True]
    again = writer(monkeypatch, bucket)
    assert [again.create(n, b"y", "text/plain") for n in ("a", "b")] == [False, False]
    assert bucket.objects[PREFIX + "a"] == b"x"  # never overwritten
    # 412 needs no proof; a 403 gets one marker for the whole capture.
    assert len(markers(bucket)) == (existing_answer is google_errors.Forbidden)


def test_a_403_after_this_capture_created_an_object_needs_no_marker(monkeypatch):
    bucket = Bucket(google_errors.Forbidden)
    bucket.objects[PREFIX + "b"] = b"from an interrupted attempt"
    capture = writer(monkeypatch, bucket)
    assert capture.create("a", b"x", "text/plain") is True
    assert capture.create("b", b"x", "text/plain") is False
    assert markers(bucket) == []


def test_a_bucket_that_refuses_us_is_still_a_refusal(monkeypatch):
    """A new object refused: the marker is refused too, so the 403 propagates."""
    bucket = Bucket(google_errors.Forbidden, refuse_creates=True)
    capture = writer(monkeypatch, bucket)
    with pytest.raises(google_errors.Forbidden, match=r"storage\.objects\.create"):
        capture.create("alert.json", b"{}", "application/json")
    assert bucket.objects == {}
