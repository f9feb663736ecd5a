"""capture_evidence reads the pod's logs by its name: a pod deleted and made again under
that name while the evidence is read would give the replacement's. The pod's UID, read
after the logs, says whose they were."""

from datetime import UTC, datetime, timedelta

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder.actions import ActionContext, KubeApis
from responder.actions.evidence import CaptureEvidence
from responder.pods import read_pod
from shared.alert import PodRef
from shared.errors import TransientError
from tests.conftest import kube_api_client

CAPTURE = CaptureEvidence(action="capture_evidence", bucket="evidence")


class _ReplacedAtTheLogRead:
    """The core API, as seen when the pod is replaced just as its logs are read."""

    def __init__(self, core, emulator: KubeApiEmulator) -> None:
        self._core, self._emulator, self._replaced = core, emulator, False

    def read_namespaced_pod_log(self, name, namespace, **options):
        if not self._replaced:
            self._replaced = True
            self._core.delete_namespaced_pod(name, namespace, grace_period_seconds=0)
            self._emulator.create_pod(namespace, name)
            self._emulator.write_logs(namespace, name, "app", "the replacement's\n")
        return self._core.read_namespaced_pod_log(name, namespace, **options)

    def __getattr__(self, name):
        return getattr(self._core, name)


def _context(emulator: KubeApiEmulator, replaced: bool) -> ActionContext:
    created = datetime.now(UTC) - timedelta(minutes=5)
    emulator.create_pod("default", "web-1", creation_timestamp=created)
    emulator.write_logs("default", "web-1", "app", "the compromised pod's\n")
    apis = KubeApis(kube_api_client(emulator, "t"))
    pod = read_pod(apis.core, "web-1", "default", 5)
    if replaced:
        apis.__dict__["core"] = _ReplacedAtTheLogRead(apis.core, emulator)
    ref = PodRef("default", "web-1", None)
    return ActionContext(apis, None, ref, pod, False, 5.0, None, b"{}")  # type: ignore[arg-type]


def test_logs_read_from_the_pod_itself_are_kept(emulator):
    evidence = CAPTURE.collect(_context(emulator, replaced=False))
    assert b"the compromised pod's" in evidence.objects["logs/app.log"][0]


def test_logs_read_from_a_replacement_are_not_kept(emulator):
    with pytest.raises(TransientError) as raised:
        CAPTURE.collect(_context(emulator, replaced=True))
    assert raised.value.reason == "evidence_pod_replaced"
