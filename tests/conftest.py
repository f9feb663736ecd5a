"""Shared test fixtures: alerts built from the real fixtures, with names unique per test."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.client.exceptions import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.fixtures import aimed_at


@pytest.fixture
def unique() -> str:
    """A short name no other test uses, for pods and alert ids."""
    return uuid.uuid4().hex[:10]


def shell_alert(
    pod: str,
    namespace: str = "default",
    pod_uid: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """Falco's `Terminal shell in container` example about the given pod, 30 s ago."""
    alert = aimed_at(
        "terminal_shell_in_container",
        namespace,
        pod,
        time or datetime.now(UTC) - timedelta(seconds=30),
    )
    if pod_uid is not None:
        alert["output_fields"]["k8s.pod.uid"] = pod_uid
    return alert


def as_bytes(alert: dict[str, Any]) -> bytes:
    """The alert as Falcosidekick sends it."""
    return json.dumps(alert).encode()


def status_of(error: ApiException) -> dict[str, Any]:
    """The Kubernetes Status body of an API error."""
    return json.loads(error.body)


def kube_api_client(emulator: KubeApiEmulator, token: str) -> client.ApiClient:
    """The official client as the holder of `token` reaches the emulator, through an
    ordinary kubeconfig; urllib3's own retries off, so a test sees every answer."""
    cfg = client.Configuration()
    kube_config.load_kube_config_from_dict(
        emulator.kubeconfig_dict(token=token), client_configuration=cfg
    )
    cfg.retries = False
    return client.ApiClient(cfg)
