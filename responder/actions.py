"""Actions on the cluster. Each is a pydantic model: its policy parameters plus `run`.

An action handles only the answers that mean something for it (404: already gone,
409: replaced). Every other failure propagates and is classified in one place
(responder.failures) by the caller.
"""

from dataclasses import dataclass
from typing import Literal

from kubernetes.client import CoreV1Api, V1DeleteOptions, V1Pod, V1Preconditions
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel, ConfigDict, Field

from responder.outcome import ActionResult, ActionStatus
from shared.alert import FalcoAlert, PodRef

# Server-side dry run: the API server authorizes and checks the request, changes nothing.
SERVER_DRY_RUN = "All"


@dataclass(frozen=True)
class ActionContext:
    """What an action needs: the cluster, the alert, its pod, and how to act."""

    core: CoreV1Api
    alert: FalcoAlert
    pod: PodRef
    dry_run: bool
    timeout: float


def replacement_reason(pod: V1Pod, ref: PodRef, alert: FalcoAlert) -> str | None:
    """Why the pod now under the alert's name is not the one Falco saw, or None.

    A pod recreated under the same name (a StatefulSet, a bare pod re-applied) must
    never pay for its predecessor. When the alert carries k8s.pod.uid, the UID decides.
    Without it, the creation time does: creationTimestamp has whole seconds, so a pod
    created in the alert's own second cannot be told from a replacement and is left alone.
    """
    uid = pod.metadata.uid
    if ref.uid is not None:
        if uid != ref.uid:
            return f"pod UID is {uid}, the alert's pod was {ref.uid}: a replacement, left alone"
        return None
    created = pod.metadata.creation_timestamp
    if created is not None and created >= alert.time.replace(microsecond=0):
        return (
            f"pod was created at {created.isoformat()}, not before the alert "
            f"({alert.time.isoformat()}): may be a replacement, left alone"
        )
    return None


class DeletePod(BaseModel):
    """Delete the alert's pod, guarded by its UID so a replacement is never touched."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["delete_pod"]
    grace_period_seconds: int = Field(default=0, ge=0, le=3600)

    def _result(self, ctx: ActionContext, status: ActionStatus, reason: str) -> ActionResult:
        return ActionResult(action=self.action, target=str(ctx.pod), outcome=status, reason=reason)

    def run(self, ctx: ActionContext) -> ActionResult:
        """Read the pod, check it is the alert's, delete it with a UID precondition."""
        ref = ctx.pod
        try:
            pod = ctx.core.read_namespaced_pod(
                ref.name, ref.namespace, _request_timeout=ctx.timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return self._result(ctx, ActionStatus.ALREADY_DONE, "pod not found: already gone")
            raise
        replaced = replacement_reason(pod, ref, ctx.alert)
        if replaced:
            return self._result(ctx, ActionStatus.SKIPPED, replaced)
        if pod.metadata.deletion_timestamp is not None:
            return self._result(ctx, ActionStatus.ALREADY_DONE, "pod is already terminating")
        options = V1DeleteOptions(
            grace_period_seconds=self.grace_period_seconds,
            preconditions=V1Preconditions(uid=pod.metadata.uid),
            dry_run=[SERVER_DRY_RUN] if ctx.dry_run else None,
        )
        try:
            ctx.core.delete_namespaced_pod(
                ref.name, ref.namespace, body=options, _request_timeout=ctx.timeout
            )
        except ApiException as exc:
            if exc.status == 404:
                return self._result(ctx, ActionStatus.ALREADY_DONE, "pod gone before the delete")
            if exc.status == 409:
                return self._result(
                    ctx,
                    ActionStatus.ALREADY_DONE,
                    "UID precondition failed: the pod was replaced after it was read",
                )
            raise
        if ctx.dry_run:
            return self._result(
                ctx, ActionStatus.DRY_RUN, "would delete (server-side dry run accepted)"
            )
        return self._result(
            ctx, ActionStatus.DONE, f"deleted, grace period {self.grace_period_seconds}s"
        )
