"""isolate_pod says when other NetworkPolicies let the pod's traffic through anyway, and
when there were too many to read them all (against the Kubernetes API emulator)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder.actions import ActionContext, KubeApis, isolate
from responder.actions.isolate import ISOLATION_LABEL, IsolatePod
from responder.outcome import ISOLATION_LEAKS
from responder.pods import read_pod
from shared.alert import PodRef, alert_from_document
from shared.structured_log import _FIELDS_ATTR
from tests.conftest import kube_api_client

NAMESPACE = "shop"


@pytest.fixture
def apis() -> Iterator[tuple[KubeApiEmulator, KubeApis]]:
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace(NAMESPACE)
        yield emulator, KubeApis(kube_api_client(emulator, "t"))


def _policy(name: str, spec: dict) -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": spec,
    }


def _isolate(emulator: KubeApiEmulator, apis: KubeApis, name: str, spec: dict | None = None):
    emulator.create_pod(NAMESPACE, name, labels={"app": "web"}, spec=spec)
    pod = read_pod(apis.core, name, NAMESPACE, 10.0)
    alert = alert_from_document(
        {
            "output": "x",
            "priority": "Critical",
            "rule": "r",
            "time": datetime.now(UTC).isoformat(),
            "output_fields": {"k8s.ns.name": NAMESPACE, "k8s.pod.name": name},
        }
    )
    ref = PodRef(NAMESPACE, name, pod.metadata.uid)
    ctx = ActionContext(apis, alert, ref, pod, False, 10.0, None, b"")
    return IsolatePod(action="isolate_pod").run(ctx), alert.alert_id


def _leak_lines(caplog) -> list[dict]:
    fields = [getattr(r, _FIELDS_ATTR, {}) for r in caplog.records]
    return [f for f in fields if f.get("event") == ISOLATION_LEAKS]


def test_a_policy_letting_the_pod_out_is_named(apis, caplog):
    emulator, kube = apis
    emulator.create_object(
        "networkpolicies",
        _policy(
            "let-me-out",
            {
                "podSelector": {"matchLabels": {"app": "web"}},
                "policyTypes": ["Egress"],
                "egress": [{}],
            },
        ),
    )
    emulator.create_object(
        "networkpolicies",
        _policy("others", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]}),
    )
    with caplog.at_level(logging.WARNING):
        result, alert_id = _isolate(emulator, kube, "web")
    assert result.outcome.value == "done"
    assert result.reason == (
        f"isolated by network policy {isolate.POLICY_PREFIX}; not cut off: NetworkPolicies "
        "add up, and let-me-out (egress) also selects the pod and allows traffic"
    )
    [line] = _leak_lines(caplog)
    assert line["policies"] == ["let-me-out"]
    assert (line["action"], line["alert_id"]) == ("isolate_pod", alert_id)
    labels = emulator.get_pod(NAMESPACE, "web")["metadata"]["labels"]
    assert labels[ISOLATION_LABEL] == "true"


def test_only_other_policies_count_and_a_pure_deny_lets_nothing_through(apis, caplog):
    emulator, kube = apis
    emulator.create_object(
        "networkpolicies",
        _policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
    )
    with caplog.at_level(logging.WARNING):
        result, _ = _isolate(emulator, kube, "web")
    assert result.reason == f"isolated by network policy {isolate.POLICY_PREFIX}"
    assert not _leak_lines(caplog)


def test_past_the_pages_it_reads_it_says_the_rest_went_unread(apis, caplog, monkeypatch):
    emulator, kube = apis
    monkeypatch.setattr(isolate, "LEAK_CHECK_PAGE", 1)
    monkeypatch.setattr(isolate, "LEAK_CHECK_PAGES", 2)
    for number in range(3):
        emulator.create_object(
            "networkpolicies",
            _policy(f"deny-{number}", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        )
    with caplog.at_level(logging.WARNING):
        result, _ = _isolate(emulator, kube, "web")
    assert result.reason.endswith(
        "; more than 2 NetworkPolicies in the namespace, the rest not read: any may let "
        "traffic through"
    )
    [line] = _leak_lines(caplog)
    assert line["policies"] == []


def test_a_check_that_cannot_read_the_policies_is_a_note_never_a_failure(apis, caplog):
    # RBAC applied before the check existed has no `list` on NetworkPolicies: the pod is
    # still isolated, and the rule's next action (a delete, say) still runs.
    emulator, _ = apis
    emulator.add_token("no-list", verbs={"get", "create", "update", "patch"})
    kube = KubeApis(kube_api_client(emulator, "no-list"))
    with caplog.at_level(logging.WARNING):
        result, _ = _isolate(emulator, kube, "web")
    assert result.outcome.value == "done"
    assert result.reason.startswith(
        f"isolated by network policy {isolate.POLICY_PREFIX}; other NetworkPolicies not "
        "checked (Kubernetes answered 403: "
    )
    assert result.reason.endswith("): any may let traffic through")
    [line] = _leak_lines(caplog)
    assert line["policies"] == []
    assert emulator.get_pod(NAMESPACE, "web")["metadata"]["labels"][ISOLATION_LABEL] == "true"


def test_at_most_ten_leaking_policies_are_named(apis, caplog):
    # Their names are the tenant's, 253 characters each at most: never a line without end.
    emulator, kube = apis
    for number in range(12):
        allow = {"podSelector": {}, "ingress": [{}]}
        emulator.create_object("networkpolicies", _policy(f"allow-{number:02d}", allow))
    with caplog.at_level(logging.WARNING):
        result, _ = _isolate(emulator, kube, "web")
    assert result.reason.endswith(
        "allow-08 (ingress), allow-09 (ingress) and 2 more also select it and allow traffic"
    )
    [line] = _leak_lines(caplog)
    assert line["policies"] == [f"allow-{n:02d}" for n in range(10)]


def test_a_bug_in_the_check_is_raised_not_noted(apis, monkeypatch):
    emulator, kube = apis

    def broken(ctx):
        raise KeyError("items")

    monkeypatch.setattr(isolate, "_namespace_policies", broken)
    with pytest.raises(KeyError):
        _isolate(emulator, kube, "web")


def test_a_pod_on_its_nodes_network_is_said_not_to_be_cut_off(apis, caplog):
    """NetworkPolicies do not govern a hostNetwork pod (which `edit` may create where Pod
    Security admission allows it): the isolation is put in place, and said not to hold."""
    emulator, kube = apis
    with caplog.at_level(logging.WARNING):
        result, alert_id = _isolate(emulator, kube, "agent", spec={"hostNetwork": True})
    assert result.outcome.value == "done"
    assert "not cut off: the pod uses its node's network (hostNetwork)" in result.reason
    [line] = _leak_lines(caplog)
    assert line["alert_id"] == alert_id
