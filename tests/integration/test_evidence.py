"""capture_evidence through the deployed path: Pub/Sub push subscription, the responder
under functions-framework, the Kubernetes API emulator and fake-gcs-server (which, like
Cloud Storage, enforces ifGenerationMatch). Cloud Storage may answer an upload onto an
existing object with 412 or, to an identity without storage.objects.delete, with 403:
the redelivery tests run against both answers."""

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from falco_responder_cli.main import cli
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.storage_emulator import (
    EVIDENCE_BUCKET,
    OverwriteForbiddingStorage,
    RefusingStorage,
)
from responder.actions.evidence import MANIFEST, sha256
from responder.evidence_bucket import REDELIVERY_MARKERS
from shared import config
from tests.conftest import as_bytes
from tests.integration.conftest import (
    dead_lettered_by_pubsub,
    deployment_pods,
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)
from tests.integration.test_pipeline import pod_path

CAPTURE_THEN_DELETE = policy_rule(
    "capture-then-delete", {"action": "capture_evidence"}, {"action": "delete_pod"}
)
POLICY = {
    "safety": {"circuit_breaker": None},
    "rules": [
        CAPTURE_THEN_DELETE,
        policy_rule("capture", {"action": "capture_evidence", "log_lines": 5}),
        policy_rule("capture-small", {"action": "capture_evidence", "max_bytes": 1024}),
        policy_rule(
            "capture-dry", {"action": "capture_evidence"}, {"action": "delete_pod"}, dry_run=True
        ),
    ],
}


@pytest.fixture(scope="module")
def capturing(stack: LocalStack) -> Iterator[LocalStack]:
    with stack_with_policy(stack, POLICY, "falco-responder-evidence") as local:
        yield local


def send(stack: LocalStack, rule: str, pod: str, times: int = 1) -> tuple[dict, list[dict]]:
    """Publish the alert `times` times, each once the previous one was handled."""
    alert = rule_alert(pod, rule)
    for delivery in range(1, times + 1):
        stack.publish(as_bytes(alert))
        records = outcomes(stack, alert["uuid"], delivery)
    return alert, records


def manifest_of(objects: dict[str, bytes]) -> dict:
    manifest = json.loads(objects[MANIFEST])
    for entry in manifest["objects"]:
        assert sha256(objects[entry["name"]]) == entry["sha256"], entry["name"]
    evidence = {name for name in objects if not name.startswith(REDELIVERY_MARKERS)}
    assert evidence == {MANIFEST, *(e["name"] for e in manifest["objects"])}
    return manifest


def test_captured_then_deleted_and_a_redelivery_writes_nothing(capturing, unique):
    [pod] = deployment_pods(capturing, f"web-{unique}", replicas=1)
    name = pod["metadata"]["name"]
    capturing.kube.write_logs("default", name, "app", "GET /\nsh -i\n")
    capturing.kube.restart_container("default", name, "app")
    capturing.kube.write_logs("default", name, "app", "started again\n")
    alert, records = send(capturing, "capture-then-delete", name, times=2)
    assert [[a["outcome"] for a in r["actions"]] for r in records] == [
        ["done", "done"],
        ["already_done", "already_done"],
    ]
    assert capturing.kube.pod_deleted("default", name)
    objects = capturing.evidence(alert["uuid"])
    manifest = manifest_of(objects)
    assert json.loads(objects["alert.json"]) == alert
    assert json.loads(objects["pod.json"])["metadata"]["uid"] == pod["metadata"]["uid"]
    assert objects["logs/app.log"] == b"started again\n"
    assert objects["logs/app.previous.log"] == b"GET /\nsh -i\n"
    owners = json.loads(objects["owners.json"])
    assert [o["kind"] for o in owners] == ["ReplicaSet", "Deployment"]
    assert manifest["pod"] == name
    assert manifest["not_captured"] == []
    # The evidence was read from the pod before it was deleted.
    paths = [(r.method, r.path) for r in capturing.kube.requests if name in r.path]
    assert paths.index(("GET", f"/api/v1/namespaces/default/pods/{name}/log")) < paths.index(
        ("DELETE", f"/api/v1/namespaces/default/pods/{name}")
    )


def test_redelivery_of_a_capture_finds_it_stored(capturing, unique):
    name = f"web-{unique}"
    old_pod(capturing, "default", name)
    capturing.kube.write_logs("default", name, "app", "".join(f"{i}\n" for i in range(10)))
    alert = rule_alert(name, "capture")
    capturing.publish(as_bytes(alert))
    outcomes(capturing, alert["uuid"], 1)
    stored = capturing.evidence(alert["uuid"])
    # The pod printed more since: a redelivery still overwrites nothing.
    capturing.kube.write_logs("default", name, "app", "later\n")
    capturing.publish(as_bytes(alert))
    records = outcomes(capturing, alert["uuid"], 2)
    assert [r["actions"][0]["outcome"] for r in records] == ["done", "already_done"]
    assert capturing.evidence(alert["uuid"]) == stored
    manifest_of(stored)
    assert stored["logs/app.log"] == b"5\n6\n7\n8\n9\n"  # log_lines: 5


@pytest.fixture(scope="module", params=["412", "403"])
def overwrite_answered(request, stack: LocalStack, capturing: LocalStack) -> Iterator[tuple]:
    """(the answer, a pipeline whose Cloud Storage answers an upload onto an existing object
    with it): 412 from fake-gcs-server as it is, or 403 through OverwriteForbiddingStorage."""
    if request.param == "412":
        yield request.param, capturing
        return
    front = OverwriteForbiddingStorage(stack.storage_url).start()
    try:
        with stack_with_policy(
            stack, POLICY, "falco-responder-evidence-overwrite", storage_url=front.url
        ) as local:
            yield request.param, local
    finally:
        front.stop()


def test_a_redelivery_finds_the_evidence_stored_and_goes_on_to_the_delete(
    overwrite_answered, unique
):
    answer, local = overwrite_answered
    name = f"web-{unique}"
    old_pod(local, "default", name)
    local.kube.write_logs("default", name, "app", "sh -i\n")
    # The first attempt stores the evidence, then its delete fails: Pub/Sub redelivers.
    local.kube.inject_fault(method="DELETE", path=pod_path("default", name), status=500)
    alert = rule_alert(name, "capture-then-delete")
    local.publish(as_bytes(alert))
    [record] = outcomes(local, alert["uuid"], 1)
    assert [a["outcome"] for a in record["actions"]] == ["already_done", "done"]
    assert local.kube.pod_deleted("default", name)
    objects = local.evidence(alert["uuid"])
    manifest = manifest_of(objects)
    assert all(entry["sha256"] for entry in manifest["objects"])  # the first attempt's
    markers = [n for n in objects if n.startswith(REDELIVERY_MARKERS)]
    # A 403 is taken for "already there" once a marker proved we may create objects.
    expected = ["alert.json"] if answer == "403" else []
    assert [json.loads(objects[m])["found_stored"] for m in markers] == expected
    env = {config.STORAGE_EMULATOR_HOST: local.storage_url}
    arguments = ["evidence", "--project", local.project, alert["uuid"], "--bucket", EVIDENCE_BUCKET]
    result = CliRunner().invoke(cli, arguments, env=env)
    assert result.exit_code == 0, result.output


def test_a_container_that_never_started_is_a_note(capturing, unique):
    name = f"web-{unique}"
    old_pod(
        capturing,
        "default",
        name,
        spec={"containers": [{"name": "app", "image": "app"}, {"name": "side", "image": "x"}]},
    )
    capturing.kube.container_waiting("default", name, "side", "ImagePullBackOff")
    capturing.kube.write_logs("default", name, "app", "hello\n")
    alert, [record] = send(capturing, "capture", name)
    assert record["actions"][0]["outcome"] == "done"
    manifest = manifest_of(capturing.evidence(alert["uuid"]))
    assert manifest["not_captured"] == [
        {
            "object": "logs/side.log",
            "reason": f'no logs: container "side" in pod "{name}" is waiting to start: '
            "trying and failing to pull image",
        }
    ]


def test_logs_over_max_bytes_are_cut_at_the_start(capturing, unique):
    name = f"web-{unique}"
    old_pod(capturing, "default", name)
    lines = "".join(f"line {i:04d} {'x' * 40}\n" for i in range(100))
    capturing.kube.write_logs("default", name, "app", lines)
    alert, _ = send(capturing, "capture-small", name)
    objects = capturing.evidence(alert["uuid"])
    manifest = manifest_of(objects)
    kept = objects["logs/app.log"]
    assert len(kept) <= 1024
    assert lines.encode().endswith(kept)
    assert kept.startswith(b"line ")  # from a whole line
    [note] = manifest["not_captured"]
    assert note["object"] == "logs/app.log"
    assert f"of {len(lines)} bytes" in note["reason"]


def test_dry_run_reads_everything_and_writes_nothing(capturing, unique):
    name = f"web-{unique}"
    old_pod(capturing, "default", name)
    alert, [record] = send(capturing, "capture-dry", name)
    assert [a["outcome"] for a in record["actions"]] == ["dry_run", "dry_run"]
    assert capturing.evidence(alert["uuid"]) == {}
    assert capturing.kube.pod_running("default", name)
    reads = [r.path for r in capturing.kube.requests if r.path.endswith(f"/{name}/log")]
    assert reads


@pytest.fixture(scope="module")
def refused(stack: LocalStack) -> Iterator[LocalStack]:
    """A pipeline whose Cloud Storage answers 403 to everything."""
    refusing = RefusingStorage().start()
    policy = {
        "safety": {"circuit_breaker": None},
        "rules": [
            CAPTURE_THEN_DELETE,
            policy_rule(
                "kill-without-evidence",
                {"action": "capture_evidence", "continue_on_failure": True},
                {"action": "delete_pod"},
            ),
        ],
    }
    try:
        with stack_with_policy(
            stack, policy, "falco-responder-evidence-403", storage_url=refusing.url
        ) as local:
            yield local
    finally:
        refusing.stop()


def test_a_bucket_that_refuses_us_holds_the_kill_then_dead_letters(refused, unique):
    name = f"web-{unique}"
    old_pod(refused, "default", name)
    alert = rule_alert(name, "capture-then-delete")
    refused.publish(as_bytes(alert))
    dead_lettered_by_pubsub(refused, alert)
    assert refused.kube.pod_running("default", name)
    assert not [r for r in refused.kube.requests if r.method == "DELETE" and name in r.path]
    log = refused.responder.log_text()
    # Logged at CRITICAL on every attempt: a configuration fault, never skipped quietly.
    refusals = [line for line in log.splitlines() if "the evidence bucket refused us" in line]
    assert len(refusals) >= config.MAX_DELIVERY_ATTEMPTS
    assert all('"severity": "CRITICAL"' in line for line in refusals)


def test_continue_on_failure_kills_without_evidence_and_dead_letters_at_once(refused, unique):
    name = f"web-{unique}"
    old_pod(refused, "default", name)
    alert = rule_alert(name, "kill-without-evidence")
    refused.publish(as_bytes(alert))
    [record] = outcomes(refused, alert["uuid"], 1)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "action_failed")
    assert [a["outcome"] for a in record["actions"]] == ["failed", "done"]
    assert "Cloud Storage answered 403" in record["actions"][0]["reason"]
    assert refused.kube.pod_deleted("default", name)


def test_the_evidence_command_lists_verifies_and_downloads(capturing, unique, tmp_path):
    name = f"web-{unique}"
    old_pod(capturing, "default", name)
    capturing.kube.write_logs("default", name, "app", "hello\n")
    alert, _ = send(capturing, "capture", name)
    env = {
        config.STORAGE_EMULATOR_HOST: capturing.storage_url,
        config.GOOGLE_CLOUD_PROJECT: capturing.project,
    }
    arguments = ["evidence", alert["uuid"], "--bucket", EVIDENCE_BUCKET]
    result = CliRunner().invoke(cli, [*arguments, "--download", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    prefix = f"gs://{EVIDENCE_BUCKET}/single-cluster/default/{name}/{alert['uuid']}/"
    assert result.output.splitlines()[0] == prefix
    assert "MISMATCH" not in result.output
    assert (tmp_path / "logs" / "app.log").read_bytes() == b"hello\n"
    assert json.loads((tmp_path / "alert.json").read_text()) == alert

    # Someone with more rights than the responder altered the pod's spec: the check says so.
    bucket = capturing.storage().bucket(EVIDENCE_BUCKET)
    bucket.blob(prefix.split("/", 3)[3] + "pod.json").upload_from_string(b"{}")
    altered = CliRunner().invoke(cli, arguments, env=env)
    assert altered.exit_code == 1
    assert any(
        line.split() == ["MISMATCH", "2", "pod.json"] for line in altered.output.splitlines()
    )

    missing = CliRunner().invoke(
        cli, ["evidence", "no-such-alert", "--bucket", EVIDENCE_BUCKET], env=env
    )
    assert missing.exit_code == 1
    assert "no evidence for alert no-such-alert" in missing.output
