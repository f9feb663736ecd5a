"""The actions a policy rule can run, told apart by their `action` key."""

from typing import Annotated

from pydantic import Field

from responder.actions.base import ActionContext, BaseAction, KubeApis, RbacRule
from responder.actions.event import RecordEvent
from responder.actions.evidence import CaptureEvidence
from responder.actions.isolate import IsolatePod
from responder.actions.node import CordonNode
from responder.actions.pod import AnnotatePod, DeletePod, EvictPod, LabelPod
from responder.actions.scale import ScaleToZero
from responder.outcome import ActionResult, ActionStatus

# Every action kind; a new one joins this union and nothing else changes.
Action = Annotated[
    DeletePod
    | EvictPod
    | LabelPod
    | AnnotatePod
    | IsolatePod
    | CordonNode
    | ScaleToZero
    | RecordEvent
    | CaptureEvidence,
    Field(discriminator="action"),
]

# Put on a pod whose destructive action the circuit breaker held back.
QUARANTINE_LABEL = "falco-responder/quarantine"
# The reason of the Event the fallback records.
BREAKER_EVENT_REASON = "FalcoResponderCircuitOpen"
# The fallback's permissions, needed by any policy with a destructive action.
FALLBACK_RBAC = (*LabelPod.rbac, *RecordEvent.rbac)


def breaker_fallback(action: BaseAction, ctx: ActionContext, reason: str) -> list[ActionResult]:
    """Past the circuit breaker, a destructive action becomes a label and an Event."""
    held = action.result(
        str(ctx.pod_ref), ActionStatus.SKIPPED, f"{reason}; labelled and recorded instead"
    )
    label = LabelPod(action="label_pod", add={QUARANTINE_LABEL: "circuit-breaker"})
    event = RecordEvent(
        action="record_event",
        reason=BREAKER_EVENT_REASON,
        message=f"{action.name} held back: {reason}",
    )
    return [held, label.run(ctx), event.run(ctx)]


__all__ = [
    "BREAKER_EVENT_REASON",
    "FALLBACK_RBAC",
    "Action",
    "ActionContext",
    "BaseAction",
    "KubeApis",
    "RbacRule",
    "breaker_fallback",
]
