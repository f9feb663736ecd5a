"""One local stack for the session: the real Pub/Sub emulator, the Kubernetes API
emulator, and both functions under functions-framework, wired as Terraform wires them."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from google.cloud import pubsub_v1
from kubernetes import client

from localdev.local_stack.policies import MANY_ACTIONS, default_policy_with
from localdev.local_stack.pubsub_emulator import EmulatorNotFoundError
from localdev.local_stack.stack import RESPONDER_TOKEN, Collector, LocalStack, Received
from localdev.local_stack.storage_emulator import StorageEmulatorNotFoundError
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import kube_api_client, shell_alert

OBSERVER_SUBSCRIPTION = "falco-alerts-test-observer"


def _unavailable(reason: str) -> None:
    """No emulator: a failure in CI, a clear skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true and an emulator (Pub/Sub, Cloud Storage) cannot start: {reason}")
    pytest.skip(f"emulator unavailable ({reason}); the CI run does not skip this")


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The running pipeline; tests keep apart by using their own pod names and alert ids."""
    local = LocalStack(policy_file=default_policy_with(MANY_ACTIONS))
    try:
        local.start()
    except (EmulatorNotFoundError, StorageEmulatorNotFoundError) as exc:
        local.stop()
        _unavailable(str(exc))
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture(scope="session")
def published(stack: LocalStack) -> Iterator[Collector]:
    """Everything published to the alerts topic, seen through a subscription of its own."""
    subscriber = pubsub_v1.SubscriberClient()
    path = subscriber.subscription_path(stack.project, OBSERVER_SUBSCRIPTION)
    subscriber.create_subscription(request={"name": path, "topic": stack.topology.alerts_topic})
    collector = Collector(path).start(subscriber)
    yield collector
    collector.stop()
    subscriber.close()


@pytest.fixture
def pod(stack: LocalStack, unique: str) -> dict:
    """A running pod in `default`, created well before any alert a test sends."""
    return stack.kube.create_pod(
        "default", f"web-{unique}", creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
    )


@contextlib.contextmanager
def stack_with_policy(
    shared: LocalStack,
    policy: dict,
    project: str,
    dry_run: bool = False,
    storage_url: str | None = None,
) -> Iterator[LocalStack]:
    """Another pipeline on the same Pub/Sub emulator (its own project) running `policy`."""
    path = Path(tempfile.mkstemp(prefix="policy-", suffix=".yaml")[1])
    path.write_text(yaml.safe_dump(policy))
    with LocalStack(
        pubsub_host=shared.pubsub_host,
        project=project,
        policy_file=path,
        dry_run=dry_run,
        storage_url=storage_url,
    ) as local:
        yield local


@contextlib.contextmanager
def responder_core_api(local: LocalStack) -> Iterator[client.CoreV1Api]:
    """The API as the responder reaches it: its token, its RBAC, its admission policy."""
    with kube_api_client(local.kube, RESPONDER_TOKEN) as api_client:
        yield client.CoreV1Api(api_client)


def old_pod(stack: LocalStack, namespace: str, name: str, **options) -> dict:
    """A pod created well before any alert a test sends."""
    return stack.kube.create_pod(
        namespace, name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5), **options
    )


def deployment_pods(stack: LocalStack, name: str, replicas: int, ready: int | None = None):
    """A Deployment with `replicas` pods (the first `ready` of them Ready), created long ago."""
    ready = replicas if ready is None else ready
    stack.kube.create_deployment("default", name, replicas, {"app": name}, ready_replicas=ready)
    deployment = stack.kube.get_object("deployments", name, namespace="default")
    [replica_set] = stack.kube.owned_by(deployment)
    return [
        old_pod(stack, "default", f"{name}-{i}", owner=replica_set, ready=i < ready)
        for i in range(replicas)
    ]


def outcomes(stack: LocalStack, alert_id: str, count: int) -> list[dict]:
    """Wait for `count` outcome records of the alert; all of them, in arrival order."""
    wait_until(
        lambda: len(stack.outcomes_for(alert_id)) >= count,
        60,
        f"{count} outcome record(s) for {alert_id}",
    )
    return stack.outcomes_for(alert_id)


def policy_rule(name: str, *actions: dict, **extra) -> dict:
    """A policy rule matching the Falco rule `test: <name>` (see `rule_alert`)."""
    return {"name": name, "match": {"rule": f"test: {name}"}, "actions": list(actions), **extra}


def rule_alert(pod: str, rule: str, **options) -> dict:
    """Falco's shell alert about `pod`, renamed so that only `policy_rule(rule)` matches."""
    alert = shell_alert(pod, **options)
    alert["rule"] = f"test: {rule}"
    return alert


def dead_lettered_by_pubsub(stack: LocalStack, alert: dict) -> Received:
    """Wait until Pub/Sub itself dead-letters the alert: every delivery attempt failed."""
    [dead] = wait_until(
        lambda: [m for m in stack.dead_letters.received if alert["uuid"].encode() in m.data],
        90,
        f"Pub/Sub to dead-letter alert {alert['uuid']} after its retries",
    )
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == str(
        config.MAX_DELIVERY_ATTEMPTS
    )
    return dead
