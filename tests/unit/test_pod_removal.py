"""delete_pod and evict_pod: a pod already terminating with a longer grace period is cut
to the policy's, one at or within it is left to finish."""

from datetime import UTC, datetime

import pytest
from kubernetes import client

from responder.actions.base import ActionContext, Change
from responder.actions.pod import DeletePod, EvictPod, Shortening
from responder.outcome import ActionResult, ActionStatus
from shared.alert import PodRef


def _context(deletion_grace: int | None, own_grace: int | None = None) -> ActionContext:
    terminating = deletion_grace is not None
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(
            name="web",
            namespace="shop",
            uid="u-1",
            deletion_timestamp=datetime.now(UTC) if terminating else None,
            deletion_grace_period_seconds=deletion_grace,
        ),
        spec=client.V1PodSpec(containers=[], termination_grace_period_seconds=own_grace),
    )
    ref = PodRef("shop", "web", "u-1")
    return ActionContext(None, None, ref, pod, False, 1.0, None, b"")  # type: ignore[arg-type]


def test_a_running_pod_is_removed_with_the_policy_grace_period():
    planned = DeletePod(action="delete_pod").plan(_context(None))
    assert planned == Change("pod/u-1", "pod/shop/web")


def test_a_terminating_pod_with_a_huge_grace_period_is_cut_to_the_policy():
    planned = DeletePod(action="delete_pod", grace_period_seconds=5).plan(_context(999_999))
    assert planned == Change("pod/u-1", "pod/shop/web", Shortening(999_999, 5))
    assert planned.found.reason == "grace_period_shortened from 999999s to 5s"


@pytest.mark.parametrize("current", [0, 5])
def test_a_pod_terminating_within_the_policy_grace_period_is_left_to_finish(current):
    planned = DeletePod(action="delete_pod", grace_period_seconds=5).plan(_context(current))
    assert isinstance(planned, ActionResult)
    assert planned.outcome is ActionStatus.ALREADY_DONE
    assert planned.reason == f"pod is already terminating (grace period {current}s, within 5s)"


@pytest.mark.parametrize(
    ("own", "allowed"), [(None, 30), (10, 10)], ids=["api-default", "pod-spec"]
)
def test_eviction_without_a_grace_period_allows_the_pod_spec_own(own, allowed):
    action = EvictPod(action="evict_pod")
    planned = action.plan(_context(3600, own_grace=own))
    assert planned == Change("pod/u-1", "pod/shop/web", Shortening(3600, allowed))
    left = action.plan(_context(allowed, own_grace=own))
    assert isinstance(left, ActionResult) and left.outcome is ActionStatus.ALREADY_DONE
