"""A tenant of the cluster as an attacker holds it: a namespace of its own, and a token
with the `edit` ClusterRole bound there (rbac/edit-clusterrole.yaml), as most tenants are
given. Reusable by any test that plays the workload the response is aimed at."""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kubernetes import client

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.k8s_api_emulator.rbacfile import load
from tests.conftest import kube_api_client

EDIT_CLUSTER_ROLE = Path(__file__).with_name("rbac") / "edit-clusterrole.yaml"


@dataclass(frozen=True)
class Tenant:
    """Who holds `edit` in `namespace`, reaching the API server with `token`."""

    kube: KubeApiEmulator
    namespace: str
    token: str
    user: str

    @contextlib.contextmanager
    def api(self) -> Iterator[client.ApiClient]:
        """The official client as the tenant reaches the API server."""
        with kube_api_client(self.kube, self.token) as api_client:
            yield api_client

    @contextlib.contextmanager
    def core(self) -> Iterator[client.CoreV1Api]:
        """core/v1 as the tenant."""
        with self.api() as api_client:
            yield client.CoreV1Api(api_client)

    @contextlib.contextmanager
    def networking(self) -> Iterator[client.NetworkingV1Api]:
        """networking.k8s.io/v1 as the tenant."""
        with self.api() as api_client:
            yield client.NetworkingV1Api(api_client)


def edit_tenant(kube: KubeApiEmulator, namespace: str, user: str = "tenant") -> Tenant:
    """A new namespace and a token bound to `edit` in it (a RoleBinding), as an admin makes."""
    kube.create_namespace(namespace)
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": f"{user}-edit", "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    token = f"{user}-{namespace}-token"
    kube.add_token_from_rbac(token, [*load(EDIT_CLUSTER_ROLE), binding])
    return Tenant(kube, namespace, token, user)
