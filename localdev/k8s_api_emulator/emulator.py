"""``KubeApiEmulator``: the public entry point tying storage, HTTP, auth and faults together."""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import yaml

from . import builders, clock, kubeconfig, rbacfile
from .admission import ValidatingAdmission
from .api import ResourceApi
from .auth import TokenAuth, VerbSpec
from .codec import typed
from .controllers import WorkloadScaler
from .eviction import EvictionApi
from .faults import Fault, FaultInjector
from .kinds import (
    DAEMONSETS,
    DEPLOYMENTS,
    NAMESPACES,
    NODES,
    PODDISRUPTIONBUDGETS,
    PODS,
    REPLICASETS,
    STATEFULSETS,
    ResourceKind,
    default_registry,
)
from .logs import ContainerLogs, restarted
from .requestlog import RequestLog, RequestRecord
from .router import Router
from .scale import ScaleApi
from .scheduler import Scheduler
from .seed import load_seed
from .server import ApiHttpServer
from .status import ApiError
from .store import ObjectStore
from .updates import UpdateApi


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Namespaces every cluster has from the start (the API server's system namespaces
# controller creates them); the kubeconfig's context points at "default".
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class KubeApiEmulator:
    """A Kubernetes API server stand-in speaking the real REST protocol over HTTP.

    Objects created through the Python helpers skip authentication, admission, fault
    injection and the request log; everything sent over HTTP goes through all four. A new
    emulator holds the system namespaces (``default``, ``kube-system``, ``kube-public``,
    ``kube-node-lease``), as a new cluster does.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the emulator only listens on loopback addresses, not {host!r}")
        self._host, self._port = host, port
        self._registry = default_registry()
        self._store = ObjectStore()
        self._scheduler = Scheduler()
        self._api = ResourceApi(self._registry, self._store, self._scheduler)
        scaler = WorkloadScaler(self._store, self._scheduler)
        self._updates = UpdateApi(self._api, self._store, scaler.observe)
        self._evictions = EvictionApi(self._api, self._store)
        self._scales = ScaleApi(self._store, self._updates)
        self._admission = ValidatingAdmission(self._store)
        self._logs = ContainerLogs(self._api)
        self._auth = TokenAuth()
        self._faults = FaultInjector()
        self._log = RequestLog()
        self._stopping = threading.Event()
        self._server: ApiHttpServer | None = None
        for namespace in SYSTEM_NAMESPACES:
            self.create_namespace(namespace)

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> Self:
        """Serve in background threads; port 0 picks a free port (see ``url``)."""
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("an emulator can be started only once")
        router = Router(
            self._registry,
            self._api,
            self._auth,
            self._faults,
            self._log,
            self._stopping,
            updates=self._updates,
            evictions=self._evictions,
            scales=self._scales,
            admission=self._admission,
            logs=self._logs,
        )
        self._server = ApiHttpServer(self._host, self._port, router)
        self._scheduler.start()
        self._server.start()
        return self

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
        self._scheduler.stop()

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- access ------------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        user: str = "kubernetes-admin",
        verbs: VerbSpec = "*",
        namespaces: Mapping[str, VerbSpec] | None = None,
    ) -> None:
        """Accept ``Bearer <token>`` as ``user``. ``verbs``: ``"*"``, a verb set for every
        resource, or per resource, e.g. ``{"pods": {"get", "delete"}}``, in every namespace;
        ``namespaces`` adds rules that hold in one namespace only (a bound Role), e.g.
        ``{"falco-responder": {"configmaps": {"get"}}}``."""
        self._auth.add_token(token, user, verbs, namespaces)

    def add_token_from_rbac(
        self, token: str, documents: list[dict[str, Any]], user: str | None = None
    ) -> str:
        """Accept ``token`` with exactly the rights of RBAC ``documents`` (ClusterRoles,
        Roles, and optionally their bindings, see ``rbacfile.py``); returns its user name."""
        grant = rbacfile.grant(documents, user)
        self._auth.add_token(token, grant.user, grant.cluster, grant.namespaced)
        return grant.user

    def kubeconfig_dict(
        self, token: str, context: str = "emulator", namespace: str = "default"
    ) -> dict[str, Any]:
        return kubeconfig.kubeconfig(self.url, token, context, namespace)

    def write_kubeconfig(
        self,
        path: str | os.PathLike[str],
        token: str,
        context: str = "emulator",
        namespace: str = "default",
    ) -> Path:
        return kubeconfig.write(path, self.kubeconfig_dict(token, context, namespace))

    # --- objects -----------------------------------------------------------------------

    def create_namespace(
        self, name: str, labels: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body = {"metadata": {"name": name, "labels": dict(labels or {})}}
        return self._api.create(NAMESPACES, "", body)

    def create_pod(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str] | None = None,
        uid: str | None = None,
        creation_timestamp: datetime | str | None = None,
        spec: Mapping[str, Any] | None = None,
        *,
        annotations: Mapping[str, str] | None = None,
        phase: str | None = None,
        owner: Mapping[str, Any] | None = None,
        node_name: str | None = None,
        ready: bool = True,
    ) -> dict[str, Any]:
        """Create a pod, Running and Ready on a node unless ``phase``/``ready`` say otherwise;
        raises ApiError like the server would, e.g. 404 when the namespace does not exist.

        ``owner`` is an object a helper returned (a ReplicaSet, StatefulSet...): the pod gets
        its controller reference and, under ``labels``, its template's labels."""
        when = clock.normalize(creation_timestamp or clock.now())
        body = builders.pod(
            name,
            labels,
            annotations,
            spec,
            phase=phase,
            ready=ready,
            owner=owner,
            node_name=node_name,
            when=when,
        )
        return self._api.create(
            PODS, namespace, body, uid=uid, creation_timestamp=creation_timestamp
        )

    def write_logs(
        self, namespace: str, pod: str, container: str, text: str, *, previous: bool = False
    ) -> None:
        """Add ``text`` to what the container printed (its ``previous`` instance's, once it
        restarted); raises ApiError 400 for a container that never started, as a read would."""
        self._logs.append(namespace, pod, container, text, previous)

    def restart_container(self, namespace: str, pod: str, container: str) -> dict[str, Any]:
        """The kubelet restarted the container: its instance so far becomes ``previous``."""
        when = clock.normalize(clock.now())
        return self._set_container_status(
            namespace, pod, container, lambda status: restarted(status, when)
        )

    def container_waiting(
        self, namespace: str, pod: str, container: str, reason: str
    ) -> dict[str, Any]:
        """The container never started (``reason``: ImagePullBackOff, ContainerCreating...)."""
        return self._set_container_status(
            namespace,
            pod,
            container,
            lambda status: {
                **status,
                "ready": False,
                "started": False,
                "state": {"waiting": {"reason": reason}},
            },
        )

    def _set_container_status(
        self,
        namespace: str,
        pod: str,
        container: str,
        change: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        with self._store.lock:
            obj = self._store.get(PODS.resource, namespace, pod)
            if obj is None:
                raise KeyError(f"no pod {namespace}/{pod}")
            statuses = obj.get("status", {}).get("containerStatuses") or []
            if not any(s.get("name") == container for s in statuses):
                raise KeyError(f"pod {namespace}/{pod} has no status for container {container}")
            obj["status"]["containerStatuses"] = [
                change(s) if s.get("name") == container else s for s in statuses
            ]
            return typed(PODS, self._store.put(PODS.resource, obj))

    def create_object(
        self, resource: str, body: Mapping[str, Any], namespace: str | None = None
    ) -> dict[str, Any]:
        """Create any served kind from a body, as a POST would (``resource``: a plural such
        as ``deployments``, or ``deployments.apps``). ``namespace`` defaults to the body's."""
        if namespace is None and self._registry.resolve(resource).namespaced:
            namespace = (body.get("metadata") or {}).get("namespace")
        kind, scope = self._kind(resource, namespace)
        return self._api.create(kind, scope, dict(body))

    def apply(self, source: str | os.PathLike[str]) -> list[dict[str, Any]]:
        """Create every document of a YAML manifest (``kubectl create -f``), e.g. the
        admission policy in deploy/; each document names its ``apiVersion`` and ``kind``."""
        with open(source, encoding="utf-8") as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d]
        created = []
        for document in documents:
            kind = self._registry.for_kind(document.get("apiVersion", ""), document.get("kind", ""))
            namespace = (document.get("metadata") or {}).get("namespace", "default")
            created.append(self._api.create(kind, namespace if kind.namespaced else "", document))
        return created

    def create_node(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        unschedulable: bool = False,
    ) -> dict[str, Any]:
        """A Ready node (with the usual kubernetes.io/hostname, os and arch labels)."""
        when = clock.format_time(clock.now())
        return self._api.create(NODES, "", builders.node(name, labels, unschedulable, when))

    def create_deployment(
        self,
        namespace: str,
        name: str,
        replicas: int,
        selector_labels: Mapping[str, str],
        ready_replicas: int | None = None,
    ) -> dict[str, Any]:
        """A rolled-out Deployment and its ReplicaSet ``<name>-<hash>`` (see ``owned_by``);
        pods are not created: use ``create_pod(..., owner=replicaset)``."""
        ready = replicas if ready_replicas is None else ready_replicas
        when = clock.format_time(clock.now())
        body = builders.deployment(name, replicas, selector_labels, ready, when)
        created = self._api.create(DEPLOYMENTS, namespace, body)
        self._api.create(REPLICASETS, namespace, builders.replicaset(created, ready))
        return created

    def create_statefulset(
        self,
        namespace: str,
        name: str,
        replicas: int,
        selector_labels: Mapping[str, str],
        ready_replicas: int | None = None,
    ) -> dict[str, Any]:
        ready = replicas if ready_replicas is None else ready_replicas
        body = builders.statefulset(name, replicas, selector_labels, ready)
        return self._api.create(STATEFULSETS, namespace, body)

    def create_daemonset(
        self, namespace: str, name: str, selector_labels: Mapping[str, str]
    ) -> dict[str, Any]:
        """A DaemonSet reporting one ready pod per node that exists now."""
        nodes = len(self._api.list(NODES, None)["items"])
        return self._api.create(
            DAEMONSETS, namespace, builders.daemonset(name, selector_labels, nodes)
        )

    def create_pdb(
        self,
        namespace: str,
        name: str,
        selector_labels: Mapping[str, str],
        min_available: int | str | None = None,
        max_unavailable: int | str | None = None,
    ) -> dict[str, Any]:
        """A policy/v1 PodDisruptionBudget selecting ``selector_labels``; its status is
        computed from the pods whenever it is read."""
        body = builders.pdb(name, selector_labels, min_available, max_unavailable)
        return self._api.create(PODDISRUPTIONBUDGETS, namespace, body)

    def owned_by(self, owner: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Objects with an owner reference to ``owner`` (by uid), in its namespace for a
        namespaced owner; e.g. the ReplicaSet of a Deployment, the pods of a ReplicaSet."""
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace")
        found = []
        for kind in self._registry:
            if namespace and not kind.namespaced:
                continue
            for obj in self._api.list(kind, namespace if kind.namespaced else None)["items"]:
                references = obj["metadata"].get("ownerReferences") or []
                if any(reference.get("uid") == uid for reference in references):
                    found.append(typed(kind, obj))
        return found

    def _kind(self, resource: str, namespace: str | None) -> tuple[ResourceKind, str]:
        kind = self._registry.resolve(resource)
        if kind.namespaced != (namespace is not None):
            scope = "namespaced" if kind.namespaced else "cluster-scoped"
            raise ValueError(f"{resource} is {scope}: pass namespace accordingly")
        return kind, namespace or ""

    def get_object(
        self, resource: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        """The object as a GET would return it, or None. ``resource`` is a plural like ``pods``."""
        kind, scope = self._kind(resource, namespace)
        try:
            return self._api.get(kind, scope, name)
        except ApiError as error:
            if error.code == 404:
                return None
            raise

    def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get_object("pods", name, namespace=namespace)

    def pod_deleted(self, namespace: str, name: str) -> bool:
        """Gone, or terminating: a DELETE was accepted and its grace period runs (the
        kubelet stand-in removes it when that ends)."""
        pod = self.get_pod(namespace, name)
        return pod is None or bool(pod["metadata"].get("deletionTimestamp"))

    def pod_running(self, namespace: str, name: str) -> bool:
        """There and not terminating: no DELETE of it was accepted."""
        return not self.pod_deleted(namespace, name)

    def list_objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects sorted by namespace and name; every namespace when ``namespace`` is None.
        Unlike list items on the wire, each carries ``kind`` and ``apiVersion``."""
        kind = self._registry.resolve(resource)
        if namespace is not None and not kind.namespaced:
            raise ValueError(f"{resource} is cluster-scoped: do not pass a namespace")
        return [typed(kind, obj) for obj in self._api.list(kind, namespace)["items"]]

    def seed(self, source: str | os.PathLike[str] | Mapping[str, Any]) -> None:
        """Create the namespaces, then the pods, of a seed document (see ``seed.py``)."""
        document = load_seed(source)
        for namespace in document.namespaces:
            self.create_namespace(**namespace)
        for pod in document.pods:
            self.create_pod(**pod)

    # --- fault injection and request log -----------------------------------------------

    def inject_fault(
        self,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        count: int | None = 1,
        hang_seconds: float | None = None,
        retry_after: int | None = None,
        after_performing: bool = False,
    ) -> Fault:
        """Fail the next ``count`` requests matching ``method`` (None: any) and ``path`` (exact,
        no query string; None: any) with ``status``, or stall them ``hang_seconds`` and then
        answer 504. ``count=None`` keeps failing until ``clear_faults``. Checked before
        authentication, like a proxy in front of the server. ``after_performing`` performs
        the request first (it takes effect, authorized and admitted as usual) and then
        fails or stalls the answer: "done, but the answer was lost"."""
        fault = Fault(
            method=method.upper() if method else None,
            path=path,
            status=status,
            hang_seconds=hang_seconds,
            remaining=count,
            retry_after=retry_after,
            after_performing=after_performing,
        )
        self._faults.add(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of every HTTP request answered so far, oldest first."""
        return self._log.snapshot()

    def requests_since(self, mark: int) -> list[RequestRecord]:
        """The requests answered after the first ``mark``, oldest first."""
        return self._log.since(mark)
