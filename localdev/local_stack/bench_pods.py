"""The pods the bench deletes, shaped like a Deployment's ordinary pod rather than the
emulator's bare minimum (a name and one container).

What reading the pod costs the responder (the answer's bytes, its JSON, the client's
models of it) grows with the pod, and the pods users run carry far more: two containers
with their environment, probes, resources and mounts, the volumes behind them, labels
and annotations. A real API server's answer also carries managedFields and the
containers' statuses, which the emulator does not keep: real pods are larger still.
"""

from datetime import datetime
from typing import Any

from localdev.k8s_api_emulator import KubeApiEmulator

LABELS = {
    "app.kubernetes.io/name": "web",
    "app.kubernetes.io/instance": "web-prod",
    "app.kubernetes.io/version": "1.24.3",
    "app.kubernetes.io/component": "frontend",
}
ANNOTATIONS = {
    "kubectl.kubernetes.io/restartedAt": "2026-11-30T09:12:44Z",
    "prometheus.io/scrape": "true",
    "prometheus.io/port": "9090",
}


def _container(name: str, port: int) -> dict[str, Any]:
    return {
        "name": name,
        "image": f"europe-docker.pkg.dev/shop-prod/images/{name}:1.24.3",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [
            *({"name": f"SETTING_{i}", "value": f"value-of-setting-{i}"} for i in range(16)),
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
        ],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app", "readOnly": True},
            {"name": "cache", "mountPath": "/var/cache/app"},
        ],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}, "periodSeconds": 5},
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }


SPEC = {
    "containers": [_container("web", 8080), _container("metrics-sidecar", 9090)],
    "volumes": [
        {"name": "config", "configMap": {"name": "web-config"}},
        {"name": "cache", "emptyDir": {}},
    ],
    "serviceAccountName": "web",
    "terminationGracePeriodSeconds": 30,
    "tolerations": [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300,
        }
    ],
}


def create_bench_pod(kube: KubeApiEmulator, name: str, created: datetime) -> dict[str, Any]:
    """A pod in `default` named `name`, created at `created`, shaped as above."""
    return kube.create_pod(
        "default",
        name,
        labels=LABELS,
        annotations=ANNOTATIONS,
        spec=SPEC,
        creation_timestamp=created,
    )
