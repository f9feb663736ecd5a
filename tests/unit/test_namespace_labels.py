"""A namespace's labels are kept at most LABELS_MAX_AGE_SECONDS: an opt-out label put on a
namespace is honoured within that bound, and a failed read keeps nothing."""

from types import SimpleNamespace

import pytest

from responder.namespaces import LABELS_MAX_AGE_SECONDS, NamespaceLabels


class Cluster:
    """Namespaces whose labels a test changes, and a clock it moves."""

    def __init__(self) -> None:
        self.labels = {"team": {}}
        self.reads = 0
        self.now = 1000.0

    def read_namespace(self, name: str, _request_timeout: float) -> SimpleNamespace:
        self.reads += 1
        if name not in self.labels:
            raise LookupError(name)
        return SimpleNamespace(metadata=SimpleNamespace(labels=dict(self.labels[name])))


@pytest.fixture
def cluster() -> Cluster:
    return Cluster()


@pytest.fixture
def labels(cluster: Cluster) -> NamespaceLabels:
    return NamespaceLabels(cluster.read_namespace, clock=lambda: cluster.now)


def test_labels_are_read_once_within_the_bound(cluster, labels):
    assert labels.get("team", 1) == {}
    cluster.now += LABELS_MAX_AGE_SECONDS / 2
    assert labels.get("team", 1) == {}
    assert cluster.reads == 1


def test_an_opt_out_label_is_seen_once_the_bound_has_passed(cluster, labels):
    assert labels.get("team", 1) == {}
    cluster.labels["team"] = {"falco-responder/ignore": "true"}
    cluster.now += LABELS_MAX_AGE_SECONDS - 0.001
    assert labels.get("team", 1) == {}  # the documented staleness
    cluster.now += 0.001
    assert labels.get("team", 1) == {"falco-responder/ignore": "true"}
    assert cluster.reads == 2


def test_each_namespace_is_kept_apart_and_a_failed_read_keeps_nothing(cluster, labels):
    with pytest.raises(LookupError):
        labels.get("gone", 1)
    cluster.labels["gone"] = {"a": "b"}
    assert labels.get("gone", 1) == {"a": "b"}
    assert labels.get("team", 1) == {}
    assert cluster.reads == 3
