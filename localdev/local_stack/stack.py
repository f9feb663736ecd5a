"""The whole pipeline on this machine, wired as on Google Cloud.

Pub/Sub emulator topics and subscriptions as Terraform creates them, the responder
behind a push subscription with a dead-letter policy, ingest in front, and a
Kubernetes API emulator (or a real cluster's kubeconfig) behind the responder.
"""

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from google.cloud import pubsub_v1

from falco_responder_cli.evidence import evidence_objects
from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.k8s_api_emulator.kinds import EMULATOR_NODE
from localdev.local_stack.functions import start_ingest, start_responder
from localdev.local_stack.processes import Service
from localdev.local_stack.pubsub_emulator import start_pubsub_emulator
from localdev.local_stack.storage_emulator import EVIDENCE_BUCKET, start_storage_emulator
from localdev.local_stack.topology import Topology, create_topology
from localdev.local_stack.wait import wait_until
from responder import admission, rbac
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import load_policy
from shared import config

PROJECT = "falco-responder-local"
INGEST_TOKEN = "local-ingest-token"  # noqa: S105 (the local stack's own test token)
RESPONDER_TOKEN = "responder-token"  # noqa: S105
RESPONDER_USER = "system:serviceaccount:falco-responder:responder"
# The responder's timeout on every Kubernetes call here: short, so retries come soon.
KUBE_TIMEOUT_SECONDS = 3
# Besides the namespaces every cluster has, the emulated cluster holds Falco's and the
# responder's own (where the circuit breaker keeps its count).
NAMESPACES = ("falco", "falco-responder")


T = TypeVar("T")


def _started(value: T | None) -> T:
    if value is None:
        raise RuntimeError("the local stack is not started")
    return value


@dataclass(frozen=True)
class Received:
    """A message a collector took from a subscription."""

    data: bytes
    attributes: dict[str, str]
    message_id: str

    def json(self) -> Any:
        """The data decoded as JSON."""
        return json.loads(self.data)


@dataclass
class Collector:
    """Streams a subscription into memory, acking as it goes, for tests and the demo."""

    subscription: str
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _future: Any = None

    def start(self, subscriber: pubsub_v1.SubscriberClient) -> "Collector":
        """Begin streaming pull."""
        self._future = subscriber.subscribe(self.subscription, self._receive)
        return self

    def _receive(self, message: Any) -> None:
        item = Received(bytes(message.data), dict(message.attributes), message.message_id)
        with self._lock:
            self.received.append(item)
        message.ack()

    def where(self, **attributes: str) -> list[Received]:
        """Messages whose attributes include all of `attributes`."""
        with self._lock:
            return [
                m
                for m in self.received
                if all(m.attributes.get(k) == v for k, v in attributes.items())
            ]

    def stop(self) -> None:
        """Stop streaming."""
        if self._future is not None:
            self._future.cancel()
            self._future = None


class LocalStack:
    """Starts everything on 127.0.0.1 (free ports) and stops everything it started."""

    def __init__(
        self,
        kubeconfig: Path | None = None,
        dry_run: bool = False,
        policy_file: Path | None = None,
        pubsub_host: str | None = None,
        project: str = PROJECT,
        kube_timeout: float = KUBE_TIMEOUT_SECONDS,
        storage_url: str | None = None,
    ) -> None:
        """`pubsub_host` reuses a running emulator; a distinct `project` keeps stacks apart.

        `storage_url` points the responder's Cloud Storage at a given endpoint; by default
        a fake-gcs-server with the evidence bucket is started."""
        self.kube_timeout = kube_timeout
        self.external_kubeconfig = kubeconfig
        self.dry_run = dry_run
        self.policy_file = policy_file
        self.pubsub_host = pubsub_host
        self.project = project
        self.storage_url = storage_url
        self.services: list[Service] = []
        self.kube: KubeApiEmulator | None = None
        self.ingest: Service | None = None
        self.responder: Service | None = None
        self.ingest_url = ""
        self.responder_url = ""
        # What the responder was started with, so a bench can start another one alike.
        self.responder_env: dict[str, str] = {}
        self.topology: Topology | None = None
        self.outcomes: Collector | None = None
        self.dead_letters: Collector | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="falco-responder-"))
        self._saved_env: dict[str, str | None] = {}
        self._subscriber: pubsub_v1.SubscriberClient | None = None
        self._publisher: pubsub_v1.PublisherClient | None = None

    def __enter__(self) -> "LocalStack":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def start(self) -> "LocalStack":
        """Pub/Sub emulator, Kubernetes API (emulated or given), responder, topology, ingest."""
        if self.pubsub_host is None:
            emulator, self.pubsub_host = start_pubsub_emulator(self.project)
            self.services.append(emulator)
        self._set_env(config.PUBSUB_EMULATOR_HOST, self.pubsub_host)
        kubeconfig = self.external_kubeconfig or self._start_kube_emulator()
        if self.storage_url is None:
            storage, self.storage_url = start_storage_emulator()
            self.services.append(storage)
            self.storage().create_bucket(EVIDENCE_BUCKET)

        common = {
            config.GOOGLE_CLOUD_PROJECT: self.project,
            config.PUBSUB_EMULATOR_HOST: self.pubsub_host,
        }
        responder_env = {
            **common,
            config.DEAD_LETTER_TOPIC: config.DEFAULT_DEAD_LETTER_TOPIC,
            config.RESPONSES_TOPIC: config.DEFAULT_RESPONSES_TOPIC,
            config.KUBECONFIG: str(kubeconfig),
            config.DRY_RUN: "true" if self.dry_run else "false",
            config.KUBE_TIMEOUT_SECONDS: str(self.kube_timeout),
            # As Terraform sets it: the subscription's own maximum (topology.py).
            config.PUSH_MAX_DELIVERY_ATTEMPTS: str(config.MAX_DELIVERY_ATTEMPTS),
            config.STORAGE_EMULATOR_HOST: self.storage_url,
            config.EVIDENCE_BUCKET: EVIDENCE_BUCKET,
        }
        if self.policy_file is not None:
            responder_env[config.POLICY_FILE] = str(self.policy_file)
        self.responder_env = responder_env
        self.responder, self.responder_url = start_responder(responder_env)
        self.services.append(self.responder)

        self.topology = create_topology(self.project, push_endpoint=f"{self.responder_url}/")
        self._subscriber = pubsub_v1.SubscriberClient()
        self._publisher = pubsub_v1.PublisherClient()
        self.outcomes = Collector(self.topology.responses_subscription).start(self._subscriber)
        self.dead_letters = Collector(self.topology.dead_letter_subscription).start(
            self._subscriber
        )

        self.ingest, self.ingest_url = start_ingest(
            {
                **common,
                config.ALERTS_TOPIC: config.DEFAULT_ALERTS_TOPIC,
                config.INGEST_TOKEN: INGEST_TOKEN,
            }
        )
        self.services.append(self.ingest)
        return self

    def _start_kube_emulator(self) -> Path:
        self.kube = KubeApiEmulator().start()
        for namespace in NAMESPACES:
            self.kube.create_namespace(namespace)
        self.kube.create_node(EMULATOR_NODE)  # where the emulator schedules every pod
        policy = load_policy(self.policy_file or DEFAULT_POLICY_FILE)
        # The cluster's rails for the policy, as `falco-responder policy admission` prints
        # them, so a step outside them fails here with 403, as it would on a real cluster.
        rails = self._workdir / "admission.yaml"
        rails.write_text(admission.to_yaml(admission.manifests(policy, [RESPONDER_USER])))
        self.kube.apply(rails)
        # Exactly what `falco-responder policy rbac` grants for the policy (the circuit
        # breaker's Role in its namespace only), so an action whose declared RBAC falls short
        # of what it calls fails here with 403, as it would on a real cluster.
        manifests = rbac.manifests(policy)
        self.kube.add_token_from_rbac(RESPONDER_TOKEN, manifests, user=RESPONDER_USER)
        path = self._workdir / "kubeconfig"
        self.kube.write_kubeconfig(path, token=RESPONDER_TOKEN)
        return path

    def stop(self) -> None:
        """Stop everything started, newest first; restore the environment."""
        for collector in (self.outcomes, self.dead_letters):
            if collector is not None:
                collector.stop()
        if self._subscriber is not None:
            self._subscriber.close()
            self._subscriber = None
        for service in reversed(self.services):
            service.stop()
        self.services.clear()
        if self.kube is not None:
            self.kube.stop()
            self.kube = None
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    # What tests and the demo do with a running stack.

    def storage(self) -> Any:
        """A Cloud Storage client on the stack's emulator (imported only when used)."""
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=self.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": _started(self.storage_url)},
        )

    def evidence(self, alert_id: str) -> dict[str, bytes]:
        """The objects stored for the alert, by name under its prefix."""
        found = evidence_objects(self.storage(), EVIDENCE_BUCKET, alert_id)
        return {name: blob.download_as_bytes() for name, blob in found.items()}

    def post(
        self,
        body: bytes | str | dict[str, Any] | list[Any],
        token: str | None = INGEST_TOKEN,
        content_type: str = "application/json",
    ) -> requests.Response:
        """POST to ingest as Falcosidekick's webhook output does."""
        if isinstance(body, dict | list):
            body = json.dumps(body)
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(f"{self.ingest_url}/", data=body, headers=headers, timeout=30)

    def publish(self, data: bytes, **attributes: str) -> str:
        """Publish straight to the alerts topic, as Falcosidekick's gcppubsub output does."""
        publisher, topology = _started(self._publisher), _started(self.topology)
        return publisher.publish(topology.alerts_topic, data, **attributes).result(30)

    def wait_for_outcome(self, alert_id: str, timeout: float = 60) -> dict[str, Any]:
        """The first outcome record for the alert."""
        outcomes = _started(self.outcomes)
        found = wait_until(
            lambda: outcomes.where(alert_id=alert_id),
            timeout,
            f"an outcome record for alert {alert_id}",
        )
        return found[0].json()

    def outcomes_for(self, alert_id: str) -> list[dict[str, Any]]:
        """Every outcome record received so far for the alert."""
        return [m.json() for m in _started(self.outcomes).where(alert_id=alert_id)]
