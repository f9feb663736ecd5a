"""cordon_node: no new pods on the node that runs the alert's pod."""

from typing import ClassVar, Literal

from responder import k8s
from responder.actions.base import ActionContext, Change, CountedAction, RbacRule
from responder.outcome import ActionResult, ActionStatus


class CordonNode(CountedAction):
    """Mark the pod's node unschedulable (what `kubectl cordon` does); nothing is evicted.

    Not destructive for the pod, but counted: an alert storm must not cordon every node.
    """

    action: Literal["cordon_node"]

    rbac: ClassVar = (RbacRule("", ("nodes",), ("get", "patch")),)
    description: ClassVar[str] = "marks the pod's node unschedulable"
    idempotent: ClassVar[str] = 'an already cordoned node is "already done"'
    example: ClassVar = {"action": "cordon_node"}

    def plan(self, ctx: ActionContext) -> Change | ActionResult:
        """The node, read: nothing to do off a node, for a node gone or already cordoned."""
        node_name = ctx.pod.spec.node_name if ctx.pod.spec else None
        if not node_name:
            return self.result(str(ctx.pod_ref), ActionStatus.SKIPPED, "pod is on no node")
        target = f"node/{node_name}"
        try:
            node = ctx.apis.core.read_node(node_name, _request_timeout=ctx.timeout)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return self.result(target, ActionStatus.SKIPPED, "node not found: gone already")
            raise
        if node.spec is not None and node.spec.unschedulable:
            return self.result(target, ActionStatus.ALREADY_DONE, "node already cordoned")
        return Change(target, target, node_name)

    def apply(self, ctx: ActionContext, change: Change) -> ActionResult:
        """Patch spec.unschedulable."""
        ctx.apis.core.patch_node(
            change.found,
            {"spec": {"unschedulable": True}},
            dry_run=ctx.dry_run_param,
            _request_timeout=ctx.timeout,
        )
        return self.done(ctx, change.target, "cordoned", "cordon")
