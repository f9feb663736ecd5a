"""`falco-responder policy explain --kubeconfig` against the Kubernetes API emulator with a
read-only token: it applies every rail the responder applies, and never writes."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException

from falco_responder_cli.main import cli
from localdev.k8s_api_emulator import KubeApiEmulator
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.handler import WOULD_RUN
from tests.conftest import shell_alert

READ_ONLY = "read-only"
READS = {"get", "list"}
POLICY = {
    "safety": {"circuit_breaker": {"max_actions": 1, "namespace": "falco-responder"}},
    "rules": [
        {
            "name": "kill-shells",
            "match": {"rule": "Terminal shell in container"},
            "actions": [
                {"action": "label_pod", "add": {"falco-responder/suspicious": "true"}},
                {"action": "delete_pod"},
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator() as kube:
        kube.add_token(READ_ONLY, user="reader", verbs=READS)
        kube.create_namespace("falco-responder")  # `default` exists, as in a new cluster
        yield kube


@pytest.fixture
def files(emulator: KubeApiEmulator, tmp_path: Path) -> dict[str, Path]:
    kubeconfig = emulator.write_kubeconfig(tmp_path / "kubeconfig", token=READ_ONLY)
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(POLICY))
    return {"kubeconfig": kubeconfig, "policy": policy}


def _old_pod(emulator: KubeApiEmulator, name: str, namespace: str = "default", **options) -> dict:
    created = datetime.now(UTC) - timedelta(minutes=5)
    return emulator.create_pod(namespace, name, creation_timestamp=created, **options)


def explain(files: dict[str, Path], alert: dict, *options: str) -> dict:
    result = CliRunner().invoke(
        cli,
        ["policy", "explain", "--json", "--policy", str(files["policy"]), *options, "-"],
        input=json.dumps(alert),
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def with_cluster(files: dict[str, Path], alert: dict) -> dict:
    return explain(files, alert, "--kubeconfig", str(files["kubeconfig"]))


def _writes(emulator: KubeApiEmulator) -> list:
    return [r for r in emulator.requests if r.method not in ("GET", "HEAD")]


def test_the_token_really_is_read_only(emulator, files, unique):
    _old_pod(emulator, f"web-{unique}")
    configuration = client.Configuration()
    kube_config.load_kube_config(str(files["kubeconfig"]), client_configuration=configuration)
    with pytest.raises(ApiException) as refused:
        client.CoreV1Api(client.ApiClient(configuration)).delete_namespaced_pod(
            f"web-{unique}", "default"
        )
    assert refused.value.status == 403


def test_a_pod_the_rails_allow_would_be_acted_on_and_nothing_is_written(emulator, files, unique):
    name = f"web-{unique}"
    _old_pod(emulator, name)
    before = len(_writes(emulator))
    explained = with_cluster(files, shell_alert(name))
    assert (explained["decision"], explained["cluster_checked"]) == ("act", True)
    assert [(a["action"], a["outcome"], a["reason"]) for a in explained["actions"]] == [
        ("label_pod", "dry_run", WOULD_RUN),
        ("delete_pod", "dry_run", WOULD_RUN),
    ]
    assert len(_writes(emulator)) == before
    assert "falco-responder/suspicious" not in (
        emulator.get_pod("default", name)["metadata"].get("labels") or {}
    )
    reads = {r.path for r in emulator.requests if r.user == "reader"}
    assert f"/api/v1/namespaces/default/pods/{name}" in reads
    assert "/api/v1/namespaces/default" in reads
    # without a cluster, the same alert is not checked against it, and says so
    offline = explain(files, shell_alert(name))
    assert (offline["decision"], offline["cluster_checked"]) == ("act", False)
    assert offline["actions"][0]["reason"].startswith("would run unless a rail that reads")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("opt_out", "is labelled falco-responder/ignore=true"),
        ("replacement", "not before the alert"),
        ("other_uid", "a replacement, left alone"),
    ],
)
def test_the_rails_that_read_the_cluster_refuse_as_the_responder_would(
    emulator, files, unique, setup, reason
):
    name = f"web-{unique}"
    alert = shell_alert(name)
    if setup == "opt_out":
        namespace = f"team-{unique}"
        emulator.create_namespace(namespace, labels={"falco-responder/ignore": "true"})
        _old_pod(emulator, name, namespace=namespace)
        alert = shell_alert(name, namespace=namespace)
    elif setup == "replacement":
        emulator.create_pod("default", name)  # created now, after the alert
    else:
        _old_pod(emulator, name)
        alert["output_fields"]["k8s.pod.uid"] = "00000000-0000-4000-8000-000000000009"
    explained = with_cluster(files, alert)
    assert explained["decision"] == "refuse"
    assert reason in explained["reason"]
    assert {a["outcome"] for a in explained["actions"]} == {"skipped"}


def test_owner_rails_refuse_only_the_destructive_action(emulator, files, unique):
    daemonset = emulator.create_daemonset("default", f"agent-{unique}", {"app": unique})
    name = f"agent-{unique}-x"
    _old_pod(emulator, name, owner=daemonset)
    policy = yaml.safe_load(files["policy"].read_text())
    policy["safety"]["ignore_daemonset_pods"] = True
    files["policy"].write_text(yaml.safe_dump(policy))
    explained = with_cluster(files, shell_alert(name))
    assert explained["decision"] == "act"
    label, delete = explained["actions"]
    assert (label["outcome"], delete["outcome"]) == ("dry_run", "skipped")
    assert delete["reason"].endswith("(ignore_daemonset_pods)")


def test_past_the_circuit_breaker_it_says_the_pod_would_be_labelled_instead(
    emulator, files, unique
):
    # A breaker of its own, already full.
    namespace = f"breaker-{unique}"
    emulator.create_namespace(namespace)
    emulator.create_object(
        "configmaps",
        {
            "metadata": {"name": CONFIGMAP, "namespace": namespace},
            "data": {DATA_KEY: json.dumps({"other": datetime.now(UTC).isoformat()})},
        },
    )
    policy = {**POLICY, "safety": {"circuit_breaker": {"max_actions": 1, "namespace": namespace}}}
    files["policy"].write_text(yaml.safe_dump(policy))
    name = f"web-{unique}"
    _old_pod(emulator, name)
    delete = with_cluster(files, shell_alert(name))["actions"][1]
    assert delete["outcome"] == "dry_run"
    assert delete["reason"].startswith("circuit breaker open: 1 destructive actions")
    assert delete["reason"].endswith("would label and record instead")
    assert emulator.pod_running("default", name)


def test_a_pod_already_gone_would_be_already_handled(emulator, files, unique):
    explained = with_cluster(files, shell_alert(f"gone-{unique}"))
    assert [a["outcome"] for a in explained["actions"]] == ["already_done", "already_done"]


def test_a_context_of_the_kubeconfig_in_the_environment(emulator, files, unique, monkeypatch):
    name, namespace = f"web-{unique}", f"team-{unique}"
    emulator.create_namespace(namespace, labels={"falco-responder/ignore": "true"})
    _old_pod(emulator, name, namespace=namespace)
    monkeypatch.setenv("KUBECONFIG", str(files["kubeconfig"]))
    before = len(_writes(emulator))
    alert = shell_alert(name, namespace=namespace)
    explained = explain(files, alert, "--context", "emulator")
    assert (explained["decision"], explained["cluster_checked"]) == ("refuse", True)
    assert len(_writes(emulator)) == before
