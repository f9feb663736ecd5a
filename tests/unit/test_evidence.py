"""capture_evidence's pure parts: cutting logs, failure classes, RBAC, the CLI's check."""

import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from google.api_core import exceptions as google_errors

from falco_responder_cli.evidence import check
from falco_responder_cli.main import cli
from responder import rbac
from responder.actions.evidence import (
    MANIFEST,
    CaptureEvidence,
    Evidence,
    cut_at_start,
    evidence_prefix,
    read_at_most,
    read_tail,
    sha256,
)
from responder.failures import classify
from responder.policy import Policy
from shared.errors import PermanentError, TransientError


def test_logs_are_cut_at_the_start_on_a_line_boundary():
    assert cut_at_start(b"short\n", 100) == b"short\n"
    assert cut_at_start(b"aaaa\nbbbb\ncccc\n", 8) == b"cccc\n"
    # No line starts in what is kept: the bytes are kept as they are.
    assert cut_at_start(b"x" * 20, 5) == b"xxxxx"


def test_prefix_is_cluster_namespace_pod_alert():
    assert evidence_prefix("prod", "shop", "web-1", "A") == "prod/shop/web-1/A/"
    assert evidence_prefix(None, "shop", "web-1", "A") == "single-cluster/shop/web-1/A/"


@pytest.mark.parametrize("error", [google_errors.Forbidden, google_errors.NotFound])
def test_a_bucket_that_refuses_us_is_retried_and_logged_loudly(error, caplog):
    with caplog.at_level(logging.CRITICAL, logger="falco_responder.responder"):
        failure = classify(error("no storage.objects.create access"))
    assert isinstance(failure, TransientError)
    assert "Cloud Storage answered" in str(failure)
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)


@pytest.mark.parametrize(
    "error", [google_errors.ServiceUnavailable("x"), google_errors.TooManyRequests("x")]
)
def test_storage_failures_that_may_pass_are_transient(error):
    assert isinstance(classify(error), TransientError)


def test_a_request_storage_refuses_for_good_is_permanent():
    failure = classify(google_errors.BadRequest("invalid object name"))
    assert isinstance(failure, PermanentError)
    assert failure.reason == "storage_rejected"


def test_rbac_of_a_policy_that_captures_evidence():
    policy = Policy.model_validate(
        {
            "rules": [
                {
                    "name": "r",
                    "match": {"rule": "x"},
                    "actions": [{"action": "capture_evidence"}, {"action": "delete_pod"}],
                }
            ]
        }
    )
    rules = {
        (r["apiGroups"][0], resource): r["verbs"]
        for r in rbac.cluster_rules(policy)
        for resource in r["resources"]
    }
    assert rules[("", "pods/log")] == ["get"]
    assert "list" in rules[("", "events")]
    assert rules[("apps", "daemonsets")] == ["get"]


def test_a_bucket_name_that_cannot_exist_stops_the_policy():
    rule = {"name": "r", "match": {"rule": "x"}}
    action = {"action": "capture_evidence", "bucket": "gs://Evidence"}
    with pytest.raises(ValueError, match="bucket"):
        Policy.model_validate({"rules": [{**rule, "actions": [action]}]})


def _stored(**objects: bytes) -> dict[str, bytes]:
    manifest = {
        "objects": [{"name": n, "sha256": sha256(d), "bytes": len(d)} for n, d in objects.items()]
    }
    return {**objects, MANIFEST: json.dumps(manifest).encode()}


def test_check_verifies_every_object_against_the_manifest():
    stored = _stored(**{"pod.json": b"{}", "logs/app.log": b"hi\n"})
    assert {c.name: c.verdict for c in check(stored)} == {
        MANIFEST: "ok",
        "pod.json": "ok",
        "logs/app.log": "ok",
    }
    stored["redeliveries/20260101T000000-0123456789ab.json"] = b"{}"
    assert check(stored)[-1].verdict == "redelivery"  # not evidence, not a failure
    stored["pod.json"] = b'{"altered": true}'
    stored["extra"] = b"?"
    del stored["logs/app.log"]
    assert {c.name: c.verdict for c in check(stored)} == {
        MANIFEST: "ok",
        "pod.json": "MISMATCH",
        "extra": "unlisted",
        "redeliveries/20260101T000000-0123456789ab.json": "redelivery",
        "logs/app.log": "MISSING",
    }


@pytest.mark.parametrize("alert_id", ["../../x", "*", "a/b", ""])
def test_the_evidence_command_refuses_what_is_no_alert_id(alert_id):
    result = CliRunner().invoke(cli, ["evidence", "--project", "p", "--bucket", "b", alert_id])
    assert result.exit_code == 2
    assert "is not an alert id" in result.output


class _Streamed:
    """What the client returns for `_preload_content=False`: a urllib3 response."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self.chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        self.released = self.closed = False

    def stream(self, amount: int, decode_content: bool) -> Iterator[bytes]:
        yield from self.chunks

    def release_conn(self) -> None:
        self.released = True

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize("chunk", [1, 7, 64 * 1024])
def test_a_streamed_log_keeps_its_last_bytes_from_a_whole_line(chunk):
    log = b"".join(b"line %04d %s\n" % (i, b"x" * 40) for i in range(100))
    response = _Streamed(log, chunk)
    kept, read = read_tail(response, 1024)
    assert read == len(log) and response.released
    assert kept == cut_at_start(log, 1024)
    assert kept.startswith(b"line ") and log.endswith(kept)


def test_a_line_starting_exactly_at_the_cut_is_kept_whole():
    assert cut_at_start(b"aaaa\nbbbb\n", 5) == b"bbbb\n"


def test_reading_at_most_stops_and_closes_the_connection():
    response = _Streamed(b"x" * 100, 7)
    assert read_at_most(response, 30) == b"x" * 30
    assert response.closed and not response.released
    whole = _Streamed(b"y" * 10, 7)
    assert read_at_most(whole, 30) == b"y" * 10 and whole.released


def test_events_are_not_listed_once_the_alert_and_pod_fill_the_capture():
    action = CaptureEvidence(action="capture_evidence", max_total_bytes=64 * 1024)
    evidence = Evidence()
    evidence.add("pod.json", b"x" * (64 * 1024 + 1))  # annotations are the tenant's to size

    class _Unlisted:
        def list_namespaced_event(self, *args, **kwargs):
            raise AssertionError("the Events were listed with no room to keep them")

    ctx = SimpleNamespace(apis=SimpleNamespace(core=_Unlisted()))
    action._events(ctx, evidence)
    assert evidence.notes == [
        {"object": "events.json", "reason": "not read: the capture holds max_total_bytes (65536)"}
    ]
    assert "events.json" not in evidence.objects
