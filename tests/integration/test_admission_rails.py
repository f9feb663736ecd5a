"""The local stack's cluster enforces deploy/admission/responder-rails.yaml, as a real one
does: the responder's own credentials cannot step outside the rails, even where its RBAC
would allow it. (Its legitimate actions pass behind the same rails: every test of
test_actions.py and test_pipeline.py runs on this stack.)"""

from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.local_stack.stack import RESPONDER_USER, LocalStack
from responder import admission
from tests.conftest import status_of
from tests.integration.conftest import responder_core_api

DENIED = (
    "is forbidden: ValidatingAdmissionPolicy 'falco-responder-rails' with binding "
    "'falco-responder-rails' denied request: "
)


@pytest.fixture
def responder(stack: LocalStack) -> Iterator[client.CoreV1Api]:
    with responder_core_api(stack) as api:
        yield api


def refused(call) -> dict:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 403
    return status_of(caught.value)


def test_a_spec_patch_with_the_responders_token_is_refused(stack, responder, pod):
    name = pod["metadata"]["name"]
    image = {"spec": {"containers": [{"name": "app", "image": "attacker/miner"}]}}
    status = refused(lambda: responder.patch_namespaced_pod(name, "default", image))
    assert status["message"] == (f'pods "{name}" {DENIED}{admission.POD_UPDATE_MESSAGE}')
    assert stack.kube.get_pod("default", name)["spec"]["containers"][0]["image"] != (
        "attacker/miner"
    )
    assert stack.kube.requests[-1].user == RESPONDER_USER


def test_a_kube_system_delete_with_the_responders_token_is_refused(stack, responder, unique):
    name = f"coredns-{unique}"
    stack.kube.create_pod("kube-system", name)
    status = refused(lambda: responder.delete_namespaced_pod(name, "kube-system"))
    assert status["message"] == (
        f'pods "{name}" {DENIED}'
        "falco-responder may not change anything in the protected namespace kube-system"
    )
    assert stack.kube.pod_running("kube-system", name)
