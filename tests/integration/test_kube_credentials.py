"""Where the responder finds its Kubernetes credentials, against the Kubernetes API emulator.

Secret Manager and Google's token endpoint have no emulator: the secret read is answered by
tests/secret_manager.py, and the Google credentials mint numbered tokens."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import yaml
from google.api_core.exceptions import FailedPrecondition
from kubernetes.config import ConfigException

from localdev.k8s_api_emulator import KubeApiEmulator
from responder import kube
from responder.kube import Clusters, GoogleToken
from responder.policy import ClusterAccess
from shared import config
from tests.secret_manager import SecretManagerStandIn
from tests.unit.test_google_identity import NumberedCredentials


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator() as emu:
        emu.add_token("reader", user="system:serviceaccount:falco:responder", verbs={"get"})
        emu.create_pod("default", "web")
        yield emu


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch):
    for name in (config.KUBECONFIG, config.KUBECONFIG_SECRET):
        monkeypatch.delenv(name, raising=False)


def _pod_name(apis) -> str:
    return apis.core.read_namespaced_pod("web", "default").metadata.name


KUBECONFIG_SECRET = "projects/p/secrets/kubeconfig"


@pytest.fixture
def secrets(emulator, monkeypatch) -> SecretManagerStandIn:
    """The kubeconfig secret: version 1 a stale config, version 2 the emulator's."""
    manager = SecretManagerStandIn()
    manager.add_version(KUBECONFIG_SECRET, b"kind: Config\n")
    kubeconfig = yaml.safe_dump(emulator.kubeconfig_dict(token="reader")).encode()
    manager.add_version(KUBECONFIG_SECRET, kubeconfig)
    monkeypatch.setattr(kube, "read_secret", manager.read_secret)
    return manager


def test_kubeconfig_from_secret_manager_wins(secrets, monkeypatch, tmp_path):
    monkeypatch.setenv(config.KUBECONFIG_SECRET, f"{KUBECONFIG_SECRET}/versions/2")
    monkeypatch.setenv(config.KUBECONFIG, str(tmp_path / "ignored"))
    clusters = Clusters({})
    assert _pod_name(clusters.apis(None)) == "web"
    assert clusters.apis(None) is clusters.apis(None)
    assert secrets.reads == [f"{KUBECONFIG_SECRET}/versions/2"]


def test_a_disabled_newest_kubeconfig_is_refused_until_enabled_again(secrets, monkeypatch):
    """`latest` is the newest version even when disabled: no falling back to version 1.
    A failure is not kept, so the alert's retry loads it once the operator re-enables it."""
    monkeypatch.setenv(config.KUBECONFIG_SECRET, f"{KUBECONFIG_SECRET}/versions/latest")
    secrets.disable(KUBECONFIG_SECRET, 2)
    clusters = Clusters({})
    with pytest.raises(FailedPrecondition, match=r"versions/2\] is in DISABLED state"):
        clusters.apis(None)
    secrets.enable(KUBECONFIG_SECRET, 2)
    assert _pod_name(clusters.apis(None)) == "web"


def test_kubeconfig_file(emulator, monkeypatch, tmp_path):
    path = emulator.write_kubeconfig(tmp_path / "config", token="reader")
    monkeypatch.setenv(config.KUBECONFIG, str(path))
    assert _pod_name(Clusters({}).apis(None)) == "web"


def test_no_credentials_anywhere_is_an_error(monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ConfigException, match="Service host/port is not set"):
        Clusters({}).apis(None)


def test_each_named_cluster_has_its_own_credentials(monkeypatch, tmp_path):
    with KubeApiEmulator() as prod, KubeApiEmulator() as staging:
        for emu, pod in ((prod, "web"), (staging, "other")):
            emu.add_token("t", verbs="*")
            emu.create_pod("default", pod)
        contexts = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": n, "cluster": {"server": e.url}}
                for n, e in (("prod", prod), ("staging", staging))
            ],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [
                {"name": n, "context": {"cluster": n, "user": "u"}} for n in ("prod", "staging")
            ],
            "current-context": "prod",
        }
        path = tmp_path / "config"
        path.write_text(yaml.safe_dump(contexts))
        monkeypatch.setenv(config.KUBECONFIG, str(path))
        clusters = Clusters(
            {
                "prod": ClusterAccess(kubeconfig_context="prod"),
                "staging": ClusterAccess(kubeconfig_context="staging"),
            }
        )
        assert _pod_name(clusters.apis("prod")) == "web"
        assert clusters.apis("staging").core.read_namespaced_pod("other", "default")


def test_gke_identity_sends_a_google_token_and_refreshes_it(monkeypatch, tmp_path, emulator):
    # A kubeconfig with only the server (and CA, on GKE): no user credentials at all.
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "gke", "cluster": {"server": emulator.url}}],
        "users": [{"name": "google", "user": {}}],
        "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "google"}}],
        "current-context": "gke",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv(config.KUBECONFIG, str(path))
    credentials = NumberedCredentials(lifetime=timedelta(hours=1))
    emulator.add_token("token-1", user="falco-responder@p.iam.gserviceaccount.com", verbs={"get"})
    clusters = Clusters(
        {"gke": ClusterAccess(kubeconfig_context="gke", google_identity=True)},
        google_token=lambda: GoogleToken(credentials),
    )
    assert _pod_name(clusters.apis("gke")) == "web"
    assert emulator.requests[-1].user == "falco-responder@p.iam.gserviceaccount.com"
