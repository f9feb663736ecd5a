"""isolate_pod: a policy of our name with another spec, changed while it is replaced,
is retried with its own reason (the dead letter's, on the last attempt)."""

from types import SimpleNamespace

import pytest
from kubernetes import client

from responder import k8s
from responder.actions.base import ActionContext
from responder.actions.isolate import NETWORK_POLICY_CONTENDED, IsolatePod
from shared.alert import PodRef
from shared.errors import TransientError


class _Networking:
    """A policy of our name exists, allowing everything; the replace answers `status`."""

    def __init__(self, status: int) -> None:
        self.status = status

    def create_namespaced_network_policy(self, *args, **kwargs):
        raise k8s.ApiException(status=409, reason="AlreadyExists")

    def read_namespaced_network_policy(self, name, namespace, **kwargs):
        return client.V1NetworkPolicy(
            metadata=client.V1ObjectMeta(name=name, namespace=namespace, resource_version="7"),
            spec=client.V1NetworkPolicySpec(pod_selector=client.V1LabelSelector()),
        )

    def replace_namespaced_network_policy(self, *args, **kwargs):
        raise k8s.ApiException(status=self.status, reason="Conflict")


@pytest.mark.parametrize("status", [404, 409])
def test_a_policy_changed_while_replaced_is_retried_with_its_reason(status):
    apis = SimpleNamespace(networking=_Networking(status), client=client.ApiClient())
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="web", namespace="shop", uid="u-1"))
    ref = PodRef("shop", "web", "u-1")
    ctx = ActionContext(apis, None, ref, pod, False, 1.0, None, b"")  # type: ignore[arg-type]
    with pytest.raises(TransientError) as raised:
        IsolatePod(action="isolate_pod").run(ctx)
    assert raised.value.reason == NETWORK_POLICY_CONTENDED
    assert f"({status}): retried" in raised.value.detail
