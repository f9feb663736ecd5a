"""One local stack for the session: the real Pub/Sub emulator, the Kubernetes API
emulator, and both functions under functions-framework, wired as Terraform wires them."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import pubsub_v1

from local_stack.policies import MANY_ACTIONS, default_policy_with
from local_stack.pubsub_emulator import EmulatorNotFoundError
from local_stack.stack import Collector, LocalStack

OBSERVER_SUBSCRIPTION = "falco-alerts-test-observer"


def _unavailable(reason: str) -> None:
    """No emulator: a failure in CI, a clear skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true and the Pub/Sub emulator cannot start: {reason}")
    pytest.skip(f"Pub/Sub emulator unavailable ({reason}); the CI run does not skip this")


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The running pipeline; tests keep apart by using their own pod names and alert ids."""
    local = LocalStack(policy_file=default_policy_with(MANY_ACTIONS))
    try:
        local.start()
    except EmulatorNotFoundError as exc:
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
