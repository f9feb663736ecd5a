"""What the deployment adds to the policy at start: its cluster's name, its memory."""

import pytest

from responder.policy import PolicyError, parse_policy
from responder.startup import (
    RUNTIME_BYTES,
    check_capture_memory,
    with_cluster_name,
)
from shared import config

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("512Mi", 512 * MIB), ("1Gi", 1024 * MIB), ("512M", 512_000_000), ("2G", 2 * 10**9)],
)
def test_cloud_run_memory_quantities(monkeypatch, quantity, expected):
    monkeypatch.setenv(config.RESPONDER_MEMORY, quantity)
    assert config.env_memory_bytes(config.RESPONDER_MEMORY) == expected


@pytest.mark.parametrize("quantity", ["512", "512MB", "0.5Gi", "lots"])
def test_a_memory_that_is_no_quantity_is_refused(monkeypatch, quantity):
    monkeypatch.setenv(config.RESPONDER_MEMORY, quantity)
    with pytest.raises(ValueError, match="RESPONDER_MEMORY"):
        config.env_memory_bytes(config.RESPONDER_MEMORY)


def test_cluster_name_names_an_unnamed_single_cluster():
    assert with_cluster_name(parse_policy({}, "p"), "prod", "p").cluster_name == "prod"
    assert with_cluster_name(parse_policy({}, "p"), None, "p").cluster_name is None
    named = parse_policy({"cluster_name": "prod"}, "p")
    assert with_cluster_name(named, "prod", "p").cluster_name == "prod"
    with pytest.raises(PolicyError, match="cluster_name is 'prod' but CLUSTER_NAME is 'dev'"):
        with_cluster_name(named, "dev", "p")
    with pytest.raises(ValueError, match="CLUSTER_NAME: 'a/b' is not a cluster name"):
        with_cluster_name(parse_policy({}, "p"), "a/b", "p")


def test_cluster_name_leaves_the_clusters_of_a_multi_cluster_policy():
    policy = parse_policy({"clusters": {"prod": {"kubeconfig_context": "p"}}}, "p")
    assert with_cluster_name(policy, "prod", "p") is policy


def _capturing(**parameters):
    action = {"action": "capture_evidence", **parameters}
    return parse_policy({"rules": [{"name": "keep", "match": {}, "actions": [action]}]}, "p")


def test_the_default_capture_fits_the_default_instance():
    check_capture_memory(_capturing(), 512 * MIB, 4, "p")


def test_captures_over_the_instance_memory_are_refused_at_load():
    policy = _capturing(max_total_bytes=64 * MIB, max_bytes=8 * MIB)
    [action] = policy.rules[0].actions
    assert action.memory_bytes == 64 * MIB + 16 * MIB + 64 * 1024
    check_capture_memory(policy, RUNTIME_BYTES + 4 * action.memory_bytes, 4, "p")
    with pytest.raises(PolicyError, match=r"rules \(keep\)\.capture_evidence: 4 captures"):
        check_capture_memory(policy, RUNTIME_BYTES + 4 * action.memory_bytes - 1, 4, "p")
