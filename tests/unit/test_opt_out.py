"""The opt-out rail: a namespace's label always counts, a pod's only where allowed."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client

from responder.guards import check
from responder.policy import Safety
from shared.alert import PodRef, alert_from_document

OPT_OUT = {"falco-responder/ignore": "true"}


@dataclass
class _Labels:
    by_namespace: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, namespace: str, timeout: float) -> dict[str, str]:
        return self.by_namespace.get(namespace, {})


@dataclass
class _Apis:
    namespace_labels: _Labels


def _verdict(pod_labels: dict, namespace_labels: dict, safety: Safety):
    now = datetime.now(UTC)
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="web",
            namespace="shop",
            uid="u",
            labels=pod_labels,
            creation_timestamp=now - timedelta(hours=1),
        )
    )
    alert = alert_from_document(
        {
            "output": "x",
            "priority": "Critical",
            "rule": "r",
            "time": now.isoformat(),
            "output_fields": {"k8s.ns.name": "shop", "k8s.pod.name": "web"},
        }
    )
    apis = _Apis(_Labels({"shop": namespace_labels}))
    return check(apis, pod, PodRef("shop", "web"), alert, safety, 1.0, False)  # type: ignore[arg-type]


def test_the_pod_own_label_does_not_opt_out_by_default():
    assert _verdict(OPT_OUT, {}, Safety()).refuse_all is None


def test_the_pod_own_label_opts_out_where_the_policy_allows_it():
    verdict = _verdict(OPT_OUT, {}, Safety(allow_pod_opt_out=True))
    assert verdict.refuse_all == "pod is labelled falco-responder/ignore=true"


@pytest.mark.parametrize("allow", [False, True])
def test_the_namespace_label_always_opts_out(allow):
    verdict = _verdict({}, OPT_OUT, Safety(allow_pod_opt_out=allow))
    assert verdict.refuse_all == "namespace shop is labelled falco-responder/ignore=true"
