"""Who holds the RBAC a policy needs: the responder's identity in the cluster, and the
bindings of `policy rbac`'s ClusterRole and circuit-breaker Roles to it.

`falco-responder policy bindings` prints them for either way into the cluster;
deploy/rbac/gke-identity-mode.yaml and kubeconfig-mode.yaml are that output for the default
policy (after their explanatory header), and a test keeps them equal.
"""

from typing import Any

from responder.admission import DEFAULT_GOOGLE_IDENTITY, DEFAULT_SERVICE_ACCOUNT
from responder.policy import Policy
from responder.rbac import ROLE_NAME, breaker_namespaces

GKE_IDENTITY = "gke-identity"
KUBECONFIG = "kubeconfig"
MODES = (GKE_IDENTITY, KUBECONFIG)
# The namespace of the responder's own objects (its ServiceAccount in kubeconfig mode).
HOME_NAMESPACE = "falco-responder"
TOKEN_SECRET = "responder-token"  # noqa: S105 (the Secret object's name)
RBAC = "rbac.authorization.k8s.io"
_LABELS = {"app.kubernetes.io/name": "falco-responder"}


def _metadata(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    scope = {"namespace": namespace} if namespace else {}
    return {"name": name, **scope, "labels": dict(_LABELS), **extra}


def _binding(
    kind: str, name: str, role: str, subject: dict[str, str], namespace: str | None
) -> dict[str, Any]:
    return {
        "apiVersion": f"{RBAC}/v1",
        "kind": kind,
        "metadata": _metadata(name, namespace),
        "roleRef": {"apiGroup": RBAC, "kind": kind.removesuffix("Binding"), "name": role},
        "subjects": [subject],
    }


def manifests(
    policy: Policy,
    mode: str,
    google_identity: str = DEFAULT_GOOGLE_IDENTITY,
    service_account: str = DEFAULT_SERVICE_ACCOUNT,
) -> list[dict[str, Any]]:
    """The namespaces first (a Role's namespace must exist before it), then the identity
    (kubeconfig mode: a ServiceAccount and its long-lived token Secret), then the bindings.

    `service_account` is NAMESPACE:NAME, as `policy admission --service-account` takes it.
    """
    if mode == GKE_IDENTITY:
        subject = {"apiGroup": RBAC, "kind": "User", "name": google_identity}
        home, suffix = HOME_NAMESPACE, f"-{GKE_IDENTITY}"
    elif mode == KUBECONFIG:
        home, _, account = service_account.partition(":")
        subject = {"kind": "ServiceAccount", "name": account, "namespace": home}
        suffix = ""
    else:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    breakers = breaker_namespaces(policy)
    documents: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _metadata(namespace)}
        for namespace in dict.fromkeys([home, *breakers])
    ]
    if mode == KUBECONFIG:
        documents += [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": _metadata(subject["name"], home),
                # Nothing runs as this account in the cluster: no pod mounts its token.
                "automountServiceAccountToken": False,
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": _metadata(
                    TOKEN_SECRET,
                    home,
                    annotations={"kubernetes.io/service-account.name": subject["name"]},
                ),
                "type": "kubernetes.io/service-account-token",
            },
        ]
    documents.append(
        _binding("ClusterRoleBinding", f"{ROLE_NAME}{suffix}", ROLE_NAME, subject, None)
    )
    documents += [
        _binding(
            "RoleBinding",
            f"{ROLE_NAME}-circuit-breaker{suffix}",
            f"{ROLE_NAME}-circuit-breaker",
            subject,
            namespace,
        )
        for namespace in breakers
    ]
    return documents
