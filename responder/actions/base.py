"""What every action shares: its context, its result, its RBAC, and the base model.

An action is a pydantic model (its policy parameters) with a `run` method. It handles
only the answers that mean something for it (404: already gone, 409: already there or
replaced); every other failure propagates and is classified in one place
(responder.failures) by the caller.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from responder import k8s
from responder.namespaces import NamespaceLabels
from responder.outcome import ActionResult, ActionStatus, log_rail
from shared.alert import FalcoAlert, PodRef

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, AppsV1Api, CoreV1Api, NetworkingV1Api

    from responder.pods import ReadPod

# Server-side dry run: the API server authorizes and checks the request, changes nothing.
SERVER_DRY_RUN = "All"


@dataclass(frozen=True)
class RbacRule:
    """One rule of a Kubernetes ClusterRole."""

    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class KubeApis:
    """The API groups of one cluster, over one connection pool."""

    client: "ApiClient"

    @cached_property
    def core(self) -> "CoreV1Api":
        """core/v1: pods, evictions, nodes, events, namespaces, configmaps."""
        return k8s.CoreV1Api(self.client)

    @cached_property
    def apps(self) -> "AppsV1Api":
        """apps/v1: deployments, statefulsets, replicasets, daemonsets."""
        return k8s.AppsV1Api(self.client)

    @cached_property
    def networking(self) -> "NetworkingV1Api":
        """networking.k8s.io/v1: network policies."""
        return k8s.NetworkingV1Api(self.client)

    @cached_property
    def namespace_labels(self) -> NamespaceLabels:
        """This cluster's namespace labels, kept a few seconds (responder.namespaces)."""
        return NamespaceLabels(self.core.read_namespace)


@dataclass(frozen=True)
class ActionContext:
    """What an action needs. `pod` was read once, and checked to be the alert's pod."""

    apis: KubeApis
    alert: FalcoAlert
    pod_ref: PodRef
    pod: "ReadPod"
    dry_run: bool
    timeout: float
    # The cluster the policy named (None: single-cluster mode), and the message's bytes
    # (empty when evaluated offline, as `falco-responder policy explain` does).
    cluster: str | None
    received: bytes

    @property
    def dry_run_option(self) -> list[str] | None:
        """`dryRun` in a DeleteOptions body: a server-side dry run, or a real write."""
        return [SERVER_DRY_RUN] if self.dry_run else None

    @property
    def dry_run_param(self) -> str | None:
        """The `dry_run` argument of a create or patch call."""
        return SERVER_DRY_RUN if self.dry_run else None


class BaseAction(BaseModel):
    """Parameters every action takes; subclasses add a `Literal` `action` field and `run`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Whether a failure of this action lets the rule's next actions run anyway.
    continue_on_failure: bool = False

    # Deletes, evicts or scales: behind the owner-aware rails and min_healthy_replicas.
    destructive: ClassVar[bool] = False
    # Takes every replica of the workload, not just this pod (min_healthy_replicas).
    removes_workload: ClassVar[bool] = False
    # Counted by the circuit breaker: the destructive actions, and cordoning a node.
    counted: ClassVar[bool] = False
    # The permissions `run` needs, for `falco-responder policy rbac` and the docs.
    rbac: ClassVar[tuple[RbacRule, ...]] = ()
    # For `falco-responder policy actions` and docs/policy.md's action table (the parameters,
    # their defaults and the RBAC come from the model): what the action does, in one
    # line; why running it twice is safe; and an entry of a rule's `actions:` list.
    # A field's default that is no literal is told in its description: "default: ...".
    description: ClassVar[str]
    idempotent: ClassVar[str]
    example: ClassVar[dict[str, Any]]

    @property
    def name(self) -> str:
        """The action's policy name, e.g. `delete_pod`."""
        return str(getattr(self, "action", type(self).__name__))

    def run(self, ctx: ActionContext) -> ActionResult:
        """Act; return what became of it (raise for failures, see the module docstring)."""
        raise NotImplementedError

    def result(self, target: str, status: ActionStatus, reason: str) -> ActionResult:
        """This action's result for `target`."""
        return ActionResult(action=self.name, target=target, outcome=status, reason=reason)

    def log_rail(self, event: str, ctx: ActionContext, message: str, **fields: Any) -> None:
        """A rail's line (`event`) about this action on ctx's pod, with the alert's ids."""
        log_rail(
            event,
            message,
            alert_id=ctx.alert.alert_id,
            rule=ctx.alert.rule,
            action=self.name,
            cluster=ctx.cluster,
            dry_run=ctx.dry_run,
            **fields,
        )

    def done(self, ctx: ActionContext, target: str, did: str, would: str) -> ActionResult:
        """DONE saying `did`, or in dry run DRY_RUN saying `would` (the server accepted it)."""
        if ctx.dry_run:
            return self.result(
                target, ActionStatus.DRY_RUN, f"would {would} (server-side dry run accepted)"
            )
        return self.result(target, ActionStatus.DONE, did)


@dataclass(frozen=True)
class Change:
    """What a counted action is about to change.

    `key` names the thing changed (a pod by UID, a workload, a node) for the circuit
    breaker: however many alerts or actions reach it, it takes one slot. `found` is what
    was read to find it, handed on to `apply` so it is not read twice.
    """

    key: str
    target: str
    found: Any = None


class CountedAction(BaseAction):
    """An action the circuit breaker counts: it first says what it would change (`plan`),
    so a slot is taken only for an action that will change something, then does it."""

    counted: ClassVar[bool] = True

    def plan(self, ctx: ActionContext) -> Change | ActionResult:
        """What the action would change, or its result now when it would change nothing."""
        raise NotImplementedError

    def apply(self, ctx: ActionContext, change: Change) -> ActionResult:
        """Make the change `plan` found."""
        raise NotImplementedError

    def run(self, ctx: ActionContext) -> ActionResult:
        """Plan, then apply (without a breaker)."""
        planned = self.plan(ctx)
        return planned if isinstance(planned, ActionResult) else self.apply(ctx, planned)
