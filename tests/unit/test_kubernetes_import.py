"""The Kubernetes client (0.3-0.4 s to import) is imported when an alert first needs the
cluster: neither function imports it at start, and an alert the policy skips, or that a
rail refuses before reading the cluster, never imports it (responder.k8s)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
# The settings that would change what the functions import or read at start.
UNSET = ("POLICY_FILE", "KUBECONFIG", "KUBECONFIG_SECRET", "RESPONSES_TOPIC", "DRY_RUN")


def _fresh_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a new interpreter, configured as `make bench` imports the functions."""
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, "GOOGLE_CLOUD_PROJECT": "test", "INGEST_TOKEN": "test", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("module", ["responder.main", "ingest.main"])
def test_a_function_starts_without_the_kubernetes_client(module):
    run = _fresh_python(f"import sys, {module}; print('kubernetes' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "False"


def test_an_invalid_policy_still_fails_the_start(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - name: r\n    match: {}\n    actions: [{action: explode}]\n")
    run = _fresh_python("import responder.main", POLICY_FILE=str(policy))
    assert run.returncode != 0
    assert str(policy) in run.stderr
    assert "explode" in run.stderr


# The shipped policy deletes the pod of a shell alert; the responder as main.py starts it,
# against the Kubernetes API emulator in the same interpreter (which does not import the
# client). Each alert prints what was decided and whether the client is imported by then.
ALERTS_IN_TURN = """
import json, os, sys
from datetime import UTC, datetime, timedelta

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.fixtures import aimed_at, falco_time, fixture
from shared.envelope import ReceivedMessage
import responder.main

now = datetime.now(UTC)
no_pod = fixture("host_process_no_k8s")
no_pod["time"] = falco_time(now)
alerts = {
    "no rule for it": no_pod,
    "protected namespace": aimed_at("terminal_shell_in_container", "kube-system", "web"),
    "too old": aimed_at("terminal_shell_in_container", "default", "web", now - timedelta(hours=2)),
    "acted on": aimed_at("terminal_shell_in_container", "default", "web"),
}
seen = []
with KubeApiEmulator() as kube:
    kube.add_token("admin")
    kube.create_namespace("falco-responder")
    kube.create_pod("default", "web", creation_timestamp=now - timedelta(minutes=5))
    kube.write_kubeconfig(os.environ["KUBECONFIG"], token="admin")  # read on first use
    for what, alert in alerts.items():
        message = ReceivedMessage(json.dumps(alert).encode())
        record = responder.main.RESPONDER.handle(message)
        seen.append([what, record.decision, record.outcome, "kubernetes" in sys.modules])
    seen.append(["pod left", kube.pod_running("default", "web")])
print(json.dumps(seen))
"""


def test_only_an_alert_that_needs_the_cluster_imports_the_client(tmp_path):
    run = _fresh_python(ALERTS_IN_TURN, KUBECONFIG=str(tmp_path / "kubeconfig"))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == [
        ["no rule for it", "skip", "skipped", False],
        ["protected namespace", "refuse", "skipped", False],
        ["too old", "refuse", "skipped", False],
        ["acted on", "act", "acted", True],
        ["pod left", False],
    ]
