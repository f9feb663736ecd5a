"""Fixtures of the unit tests that run the responder against the Kubernetes API emulator."""

from collections.abc import Iterator

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from responder import handler


@pytest.fixture
def published(monkeypatch) -> list[tuple[str, list]]:
    """What the responder publishes (topic, messages), confirmed at once."""
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(
        handler, "publish_confirmed", lambda topic, items: sent.append((topic, items))
    )
    return sent


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    """The API emulator with token `t` allowed everything, and the namespace of the
    circuit breaker's count (`default` is there already)."""
    with KubeApiEmulator() as kube:
        kube.add_token("t", verbs="*")
        kube.create_namespace("falco-responder")
        yield kube
