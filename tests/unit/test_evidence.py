"""capture_evidence's pure parts: cutting logs, failure classes, RBAC, the CLI's check."""

import json
import logging

import pytest
from click.testing import CliRunner
from google.api_core import exceptions as google_errors

from falco_responder_cli.evidence import check
from falco_responder_cli.main import cli
from responder import rbac
from responder.actions.evidence import MANIFEST, cut_at_start, evidence_prefix, sha256
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
    stored["pod.json"] = b'{"altered": true}'
    stored["extra"] = b"?"
    del stored["logs/app.log"]
    assert {c.name: c.verdict for c in check(stored)} == {
        MANIFEST: "ok",
        "pod.json": "MISMATCH",
        "extra": "unlisted",
        "logs/app.log": "MISSING",
    }


@pytest.mark.parametrize("alert_id", ["../../x", "*", "a/b", ""])
def test_the_evidence_command_refuses_what_is_no_alert_id(alert_id):
    result = CliRunner().invoke(cli, ["evidence", "--bucket", "b", alert_id])
    assert result.exit_code == 2
    assert "is not an alert id" in result.output
