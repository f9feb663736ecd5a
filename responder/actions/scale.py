"""scale_to_zero: stop the workload the pod belongs to (every replica, not just this one)."""

from typing import ClassVar, Literal

from responder import k8s
from responder.actions.base import ActionContext, Change, CountedAction, RbacRule
from responder.failures import classify_vanishing
from responder.outcome import ActionResult, ActionStatus
from responder.workloads import SCALABLE, OwnerMismatchError, Workload, owning_workload
from shared.errors import PermanentError


class ScaleToZero(CountedAction):
    """Scale the pod's owning Deployment or StatefulSet to zero replicas."""

    action: Literal["scale_to_zero"]

    destructive: ClassVar[bool] = True
    removes_workload: ClassVar[bool] = True
    rbac: ClassVar = (
        RbacRule("apps", ("replicasets",), ("get",)),
        RbacRule("apps", ("deployments", "statefulsets"), ("get", "patch")),
    )
    description: ClassVar[str] = (
        "scales the owning Deployment or StatefulSet to 0; one the pod's owner references "
        "name but that does not control the pod (its UID, its selector) fails loudly"
    )
    idempotent: ClassVar[str] = '0 replicas is "already done"'
    example: ClassVar = {"action": "scale_to_zero"}

    def plan(self, ctx: ActionContext) -> Change | ActionResult:
        """The owning workload, found through owner references: one change however many
        of its pods are alerted on; nothing to do without one, or when it is at zero."""
        try:
            workload = owning_workload(ctx.apis, ctx.pod, ctx.timeout)
        except k8s.ApiException as exc:
            raise classify_vanishing(exc, "the pod's controller") from exc
        except OwnerMismatchError as exc:
            # Whoever may edit the pod can point its owner references at another
            # workload: scaling that one would leave this pod running. Fail loudly.
            raise PermanentError(
                "owner_mismatch", f"not scaled: {exc} (its owner references may be forged)"
            ) from exc
        if workload is None or workload.kind not in SCALABLE:
            owner = f"its owner is {workload}" if workload else "it is a standalone pod"
            return self.result(
                str(ctx.pod_ref),
                ActionStatus.SKIPPED,
                f"no Deployment or StatefulSet to scale: {owner}",
            )
        target = str(workload)
        if workload.desired == 0:
            return self.result(target, ActionStatus.ALREADY_DONE, "already scaled to zero")
        return Change(target, target, workload)

    def apply(self, ctx: ActionContext, change: Change) -> ActionResult:
        """Patch spec.replicas to 0. A workload deleted since it was read is not taken
        as scaled: an orphaning delete leaves its pods running, which the next delivery
        finds."""
        workload: Workload = change.found
        patch = {"spec": {"replicas": 0}}
        scale = (
            ctx.apis.apps.patch_namespaced_deployment
            if workload.kind == "Deployment"
            else ctx.apis.apps.patch_namespaced_stateful_set
        )
        try:
            scale(
                workload.name,
                workload.namespace,
                patch,
                dry_run=ctx.dry_run_param,
                _request_timeout=ctx.timeout,
            )
        except k8s.ApiException as exc:
            raise classify_vanishing(exc, change.target) from exc
        return self.done(ctx, change.target, f"scaled from {workload.desired} to 0", "scale to 0")
