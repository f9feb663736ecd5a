"""A pod's owner references are its own metadata: whoever may edit the pod (`edit` in its
namespace) can point them at another workload. scale_to_zero then fails loudly rather
than scale a decoy and leave the pod running, and no owner-aware rail spares the pod for
an owner that does not control it."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder.actions import KubeApis
from responder.handler import Responder, Settings
from responder.outcome import Decision
from responder.policy import parse_policy
from shared.envelope import ReceivedMessage
from tests.conftest import as_bytes, kube_api_client, shell_alert

NOW = datetime.now(UTC)


def _respond(emulator: KubeApiEmulator, *actions: dict, **safety: Any):
    policy = parse_policy(
        {
            "rules": [
                {
                    "name": "r",
                    "match": {"rule": "Terminal shell in container"},
                    "actions": list(actions),
                    **({"safety": safety} if safety else {}),
                }
            ]
        },
        "p.yaml",
    )
    settings = Settings("dead", None, Path("p.yaml"), False, kube_timeout=5)
    apis = KubeApis(kube_api_client(emulator, "t"))
    responder = Responder(settings, policy, lambda cluster: apis, now=lambda: NOW)
    alert = shell_alert("web-1", time=NOW - timedelta(seconds=30))
    return responder.handle(ReceivedMessage(as_bytes(alert), {}, "m-1"), 1)


def _pod(emulator: KubeApiEmulator, owner: dict, labels: dict | None = None) -> None:
    """Pod web-1 naming `owner` its controller: its labels are the owner's template's,
    or `labels` over them (as whoever edits the pod may set both)."""
    emulator.create_pod(
        "default",
        "web-1",
        labels=labels,
        owner=owner,
        creation_timestamp=NOW - timedelta(minutes=5),
    )


def _replicas(emulator: KubeApiEmulator, name: str) -> int:
    return emulator.get_object("deployments", name, namespace="default")["spec"]["replicas"]


def _decoy(emulator: KubeApiEmulator) -> tuple[dict, dict]:
    """A Deployment of 2 a tenant made, and its ReplicaSet."""
    decoy = emulator.create_deployment("default", "decoy", 2, {"app": "decoy"})
    [replicaset] = emulator.owned_by(decoy)
    return emulator.get_object("deployments", "decoy", namespace="default"), replicaset


@pytest.mark.parametrize(
    ("owner", "why"),
    [
        ("deployment", "which a Deployment never is"),
        ("replicaset-not-selecting", "does not select what it is named the owner of"),
        ("replicaset-other-uid", "is not the one the owner reference names (its UID)"),
    ],
)
def test_scale_to_zero_fails_loudly_for_an_owner_that_does_not_control_the_pod(
    emulator, published, owner, why
):
    decoy, replicaset = _decoy(emulator)
    if owner == "deployment":
        _pod(emulator, decoy, {"app": "web"})
    elif owner == "replicaset-not-selecting":
        _pod(emulator, replicaset, {"app": "web"})
    else:
        forged = {**replicaset, "metadata": {**replicaset["metadata"], "uid": "not-its-uid"}}
        _pod(emulator, forged)
    record = _respond(emulator, {"action": "scale_to_zero"})
    [result] = record.actions
    assert result.outcome == "failed"
    assert why in result.reason and "not scaled" in result.reason
    assert (record.decision, record.error_reason) == (Decision.DEAD_LETTER, "action_failed")
    assert _replicas(emulator, "decoy") == 2


def test_scale_to_zero_scales_an_owner_that_controls_the_pod(emulator):
    # Its real UID and labels its selector selects: the decoy's ReplicaSet keeps the pod
    # then, and scaling the decoy stops it.
    _, replicaset = _decoy(emulator)
    _pod(emulator, replicaset)
    [result] = _respond(emulator, {"action": "scale_to_zero"}).actions
    assert (result.outcome, result.reason) == ("done", "scaled from 2 to 0")
    assert _replicas(emulator, "decoy") == 0


def test_an_owner_aware_rail_does_not_spare_a_pod_for_an_owner_that_does_not_control_it(
    emulator,
):
    statefulset = emulator.create_statefulset("default", "db", 1, {"app": "db"})
    _pod(emulator, _typed(emulator, statefulset), {"app": "web"})
    record = _respond(emulator, {"action": "delete_pod"}, ignore_statefulset_pods=True)
    assert [(a.action, a.outcome) for a in record.actions] == [("delete_pod", "done")]
    assert emulator.pod_deleted("default", "web-1")


def test_an_owner_aware_rail_spares_a_pod_its_statefulset_controls(emulator):
    statefulset = emulator.create_statefulset("default", "db", 1, {"app": "db"})
    _pod(emulator, _typed(emulator, statefulset))
    record = _respond(emulator, {"action": "delete_pod"}, ignore_statefulset_pods=True)
    assert [(a.action, a.outcome) for a in record.actions] == [("delete_pod", "skipped")]
    assert emulator.pod_running("default", "web-1")


def _typed(emulator: KubeApiEmulator, created: dict) -> dict:
    """The object as the emulator's helpers return it, with its kind and apiVersion."""
    return emulator.get_object("statefulsets", created["metadata"]["name"], namespace="default")


def test_a_deployment_that_adopted_a_replicaset_is_its_pods_owner(emulator):
    """A Deployment keeps the ReplicaSets its selector selects by their own labels
    (upstream's ClaimReplicaSets), whatever their pods carry: one made before the
    Deployment, with a selector of its own, adopted by it."""
    emulator.create_deployment("default", "web", 3, {"app": "web"})
    deployment = emulator.get_object("deployments", "web", namespace="default")
    emulator.create_object(
        "replicasets",
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": "legacy",
                "namespace": "default",
                "labels": {"app": "web"},
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                        "uid": deployment["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"legacy": "yes"}},
                "template": {
                    "metadata": {"labels": {"legacy": "yes"}},
                    "spec": {"containers": [{"name": "app", "image": "app:1"}]},
                },
            },
        },
    )
    _pod(emulator, emulator.get_object("replicasets", "legacy", namespace="default"))
    [result] = _respond(emulator, {"action": "scale_to_zero"}).actions
    assert (result.outcome, result.reason) == ("done", "scaled from 3 to 0")
