"""scale_to_zero when the pod's workload went away after the pod was read (a rollout, a
deletion, an orphaning delete): the 404 is retried, as the same 404 is when a rail reads
the owner, and the next delivery reads it all again; dead-lettered only on the last."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder.actions import KubeApis
from responder.handler import Responder, Settings
from responder.outcome import Decision
from responder.policy import parse_policy
from shared.envelope import ERROR_REASON, ReceivedMessage
from shared.errors import TransientError
from tests.conftest import as_bytes, kube_api_client, shell_alert

NOW = datetime.now(UTC)
MAX_ATTEMPTS = 5
POLICY = parse_policy(
    {
        "rules": [
            {
                "name": "stop-the-workload",
                "match": {"rule": "Terminal shell in container"},
                "actions": [{"action": "scale_to_zero"}],
            }
        ]
    },
    "p.yaml",
)


def _responder(emulator: KubeApiEmulator) -> Responder:
    settings = Settings(
        "dead", None, Path("p.yaml"), False, kube_timeout=5, max_delivery_attempts=MAX_ATTEMPTS
    )
    apis = KubeApis(kube_api_client(emulator, "t"))
    return Responder(settings, POLICY, lambda cluster: apis, now=lambda: NOW)


def _message() -> ReceivedMessage:
    alert = shell_alert("web-1", time=NOW - timedelta(seconds=30))
    return ReceivedMessage(as_bytes(alert), {"alert_id": alert["uuid"]}, "m-1")


def _deployment_pod(emulator: KubeApiEmulator) -> dict:
    """A Deployment of 2, and pod web-1 of its ReplicaSet; the ReplicaSet."""
    deployment = emulator.create_deployment("default", "web", 2, {"app": "web"})
    [replicaset] = emulator.owned_by(deployment)
    emulator.create_pod(
        "default",
        "web-1",
        labels={"app": "web"},
        creation_timestamp=NOW - timedelta(minutes=5),
        owner=replicaset,
    )
    return replicaset


@pytest.mark.parametrize("vanished", ["replicaset", "deployment"])
def test_a_workload_gone_after_the_pod_was_read_is_retried_not_dead_lettered(
    emulator, published, vanished
):
    """The ReplicaSet's read, or the Deployment's patch, answers 404."""
    replicaset = _deployment_pod(emulator)
    apps = "/apis/apps/v1/namespaces/default"
    method, path = {
        "replicaset": ("GET", f"{apps}/replicasets/{replicaset['metadata']['name']}"),
        "deployment": ("PATCH", f"{apps}/deployments/web"),
    }[vanished]
    emulator.inject_fault(method=method, path=path, status=404, count=None)
    responder = _responder(emulator)
    with pytest.raises(TransientError) as raised:
        responder.handle(_message(), 1)
    assert raised.value.reason == "kube_target_vanished"
    assert published == []
    record = responder.handle(_message(), MAX_ATTEMPTS)
    assert (record.decision, record.error_reason) == (Decision.DEAD_LETTER, "kube_target_vanished")
    [(_, [(_, attributes)])] = [p for p in published if p[0] == "dead"]
    assert attributes[ERROR_REASON] == "kube_target_vanished"


def test_a_workload_still_there_is_scaled(emulator, published):
    _deployment_pod(emulator)
    record = _responder(emulator).handle(_message(), 1)
    assert [(a.outcome, a.reason) for a in record.actions] == [("done", "scaled from 2 to 0")]
    deployment = emulator.get_object("deployments", "web", namespace="default")
    assert deployment["spec"]["replicas"] == 0
