"""Where the responder finds its Kubernetes credentials, against the Kubernetes API emulator.

Secret Manager has no emulator: its read is replaced by one that returns the kubeconfig."""

from collections.abc import Iterator

import pytest
import yaml
from kubernetes.config import ConfigException

from k8s_api_emulator import KubeApiEmulator
from responder import kube
from shared import config


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator() as emu:
        emu.add_token("reader", user="system:serviceaccount:falco:responder", verbs={"get"})
        emu.create_namespace("default")
        emu.create_pod("default", "web")
        yield emu


@pytest.fixture(autouse=True)
def fresh_client(monkeypatch):
    for name in (config.KUBECONFIG, config.KUBECONFIG_SECRET):
        monkeypatch.delenv(name, raising=False)
    kube.core_api.cache_clear()
    yield
    kube.core_api.cache_clear()


def test_kubeconfig_from_secret_manager_wins(emulator, monkeypatch, tmp_path):
    versions = []

    def read_secret(name: str) -> bytes:
        versions.append(name)
        return yaml.safe_dump(emulator.kubeconfig_dict(token="reader")).encode()

    monkeypatch.setattr(kube, "read_secret", read_secret)
    monkeypatch.setenv(config.KUBECONFIG_SECRET, "projects/p/secrets/kubeconfig/versions/3")
    monkeypatch.setenv(config.KUBECONFIG, str(tmp_path / "ignored"))
    assert kube.core_api().read_namespaced_pod("web", "default").metadata.name == "web"
    kube.core_api()
    assert versions == ["projects/p/secrets/kubeconfig/versions/3"]


def test_kubeconfig_file(emulator, monkeypatch, tmp_path):
    path = emulator.write_kubeconfig(tmp_path / "config", token="reader")
    monkeypatch.setenv(config.KUBECONFIG, str(path))
    assert kube.core_api().read_namespaced_pod("web", "default").metadata.uid


def test_no_credentials_anywhere_is_an_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigException, match="Service host/port is not set"):
        kube.core_api()
