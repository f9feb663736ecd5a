"""Actions on the alert's pod itself: delete it, evict it, label or annotate it."""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from responder import k8s
from responder.actions.base import ActionContext, BaseAction, Change, CountedAction, RbacRule
from responder.outcome import ActionResult, ActionStatus
from responder.pods import read_pod
from shared.errors import TransientError

if TYPE_CHECKING:
    from responder.pods import ReadPod

# What the outcome says when a terminating pod's grace period was cut to the policy's.
GRACE_PERIOD_SHORTENED = "grace_period_shortened"
# A pod spec's terminationGracePeriodSeconds when it gives none (the API server's default).
DEFAULT_TERMINATION_GRACE_SECONDS = 30
# The shortest grace period a removal asks for. 0 is a force delete: the API server forgets
# the pod at once, while kubelets since 1.22 (kubernetes#115819, #120449) read a deletion
# grace period of 0 as none given and stop the containers with the pod's own
# terminationGracePeriodSeconds, which its owner sets: a process ignoring SIGTERM would
# live on unseen, outside every NetworkPolicy. 1 s is honoured by every kubelet, and the
# pod stays in the API, terminating, until its containers have stopped.
MIN_GRACE_SECONDS = 1


class _RemovePod(CountedAction):
    """Delete or evict: on condition that the pod's UID is the one read, so a replacement
    is never touched (a delete asks for its resourceVersion too, the first time).

    404 (gone) means the alert's pod is already gone: already handled. 409 sends it to be
    read again: replaced, or removed meanwhile (another delivery of the alert), it is
    already handled; otherwise planned again. A pod already
    terminating with a longer
    grace period than the policy's (its owner deleted it with `--grace-period=999999` and
    ignores SIGTERM) is removed again with the policy's: the API server accepts a shorter
    grace period on a second delete (rest.BeforeDelete), never a longer one.
    """

    destructive: ClassVar[bool] = True
    idempotent: ClassVar[str] = (
        "404, a pod replaced since it was read and a pod terminating within the grace "
        'period are "already done"; one terminating with a longer grace period is removed '
        "again with this one (`grace_period_shortened`)"
    )
    verb: ClassVar[str]  # "delete"
    past: ClassVar[str]  # "deleted"

    @field_validator("grace_period_seconds", check_fields=False)
    @classmethod
    def _not_a_force_delete(cls, grace: int | None) -> int | None:
        if grace is not None and grace < MIN_GRACE_SECONDS:
            raise ValueError(
                f"must be at least {MIN_GRACE_SECONDS}: 0 is a force delete, which the API "
                "server forgets at once while the pod's node may stop it only after the "
                "pod's own terminationGracePeriodSeconds (kubernetes#115819); every "
                f"kubelet honours {MIN_GRACE_SECONDS}"
            )
        return grace

    def _remove(
        self, ctx: ActionContext, pod: "ReadPod", grace: int | None, version: str | None
    ) -> None:
        """Delete or evict the pod with `grace`, on condition that its UID is `pod`'s
        and, where given and the action can, that its resourceVersion is `version`."""
        raise NotImplementedError

    def _grace(self) -> str:
        raise NotImplementedError

    def policy_grace(self, pod: "ReadPod") -> int:
        """The longest grace period the policy allows this pod (the pod's own if unset)."""
        if self.grace_period_seconds is not None:
            return self.grace_period_seconds
        own = pod.spec.termination_grace_period_seconds if pod.spec else None
        return DEFAULT_TERMINATION_GRACE_SECONDS if own is None else own

    def plan(self, ctx: ActionContext) -> Change | ActionResult:
        """The pod, by UID (delete and evict of one pod are one change). A pod already
        terminating within the policy's grace period is on its way out: nothing to do;
        with a longer one, the change is to shorten it."""
        return self._plan_for(ctx.pod, str(ctx.pod_ref))

    def _plan_for(self, pod: "ReadPod", target: str) -> Change | ActionResult:
        metadata = pod.metadata
        if not metadata.deletion_timestamp:
            return Change(f"pod/{metadata.uid}", target)
        current = metadata.deletion_grace_period_seconds
        allowed = self.policy_grace(pod)
        if current is None or current <= allowed:
            return self.result(
                target,
                ActionStatus.ALREADY_DONE,
                f"pod is already terminating (grace period {current}s, within {allowed}s)",
            )
        return Change(f"pod/{metadata.uid}", target, Shortening(current, allowed))

    def apply(self, ctx: ActionContext, change: Change) -> ActionResult:
        """Remove the pod as read. If it changed since (409), it is read again: gone,
        replaced, or already terminating (another delivery of the alert removed it), it
        is already handled, so of two deliveries racing only one says it removed it (a
        second removal of a terminating pod is answered 200 too); otherwise it is
        removed on its UID alone, so whoever writes the pod cannot hold its removal off
        by changing it again and again."""
        target = change.target
        try:
            return self._removed(ctx, ctx.pod, change, as_read=True)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return self._gone(target)
            if exc.status != 409:
                raise
        again = self._read_again(ctx, ctx.pod, target)
        if isinstance(again, ActionResult):
            return again
        planned = self._plan_for(again, target)
        if isinstance(planned, ActionResult):
            return planned
        try:
            return self._removed(ctx, again, planned, as_read=False)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return self._gone(target)
            if exc.status != 409:
                raise
        again = self._read_again(ctx, again, target)
        if isinstance(again, ActionResult):
            return again
        raise TransientError(f"{target} refused on its own UID (409): retried", "kube_conflicts")

    def _removed(
        self, ctx: ActionContext, pod: "ReadPod", change: Change, as_read: bool
    ) -> ActionResult:
        """Remove `pod` as `change` plans it: on its UID, and its resourceVersion too if
        `as_read`."""
        shortening = change.found if isinstance(change.found, Shortening) else None
        grace = shortening.to if shortening else self.grace_period_seconds
        version = pod.metadata.resource_version if as_read else None
        self._remove(ctx, pod, grace, version)
        if shortening:
            return self.done(ctx, change.target, shortening.reason, f"shorten: {shortening.reason}")
        grace_text = self._grace()
        return self.done(
            ctx, change.target, f"{self.past}, {grace_text}", f"{self.verb}, {grace_text}"
        )

    def _read_again(
        self, ctx: ActionContext, read: "ReadPod", target: str
    ) -> "ReadPod | ActionResult":
        """The pod as it is now (ReadPod), or the result when it is gone or replaced."""
        try:
            pod = read_pod(ctx.apis.core, ctx.pod_ref.name, ctx.pod_ref.namespace, ctx.timeout)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return self._gone(target)
            raise
        if pod.metadata.uid != read.metadata.uid:
            return self.result(
                target, ActionStatus.ALREADY_DONE, "the pod was replaced after it was read"
            )
        return pod

    def _gone(self, target: str) -> ActionResult:
        return self.result(
            target, ActionStatus.ALREADY_DONE, f"pod gone before it could be {self.past}"
        )


@dataclass(frozen=True)
class Shortening:
    """A terminating pod's grace period, cut to the policy's."""

    current: int
    to: int

    @property
    def reason(self) -> str:
        """`grace_period_shortened from 999999s to 0s`, as the outcome reports it."""
        return f"{GRACE_PERIOD_SHORTENED} from {self.current}s to {self.to}s"


class DeletePod(_RemovePod):
    """Delete the pod."""

    action: Literal["delete_pod"]
    grace_period_seconds: int = Field(default=MIN_GRACE_SECONDS, le=3600)

    rbac: ClassVar = (RbacRule("", ("pods",), ("get", "delete")),)
    description: ClassVar[str] = (
        "deletes the pod on condition that its UID is the one read, and first its "
        "resourceVersion: one changed since is read again, so of two deliveries racing "
        "only one says it deleted it"
    )
    example: ClassVar = {"action": "delete_pod", "grace_period_seconds": 1}
    verb: ClassVar[str] = "delete"
    past: ClassVar[str] = "deleted"

    def _remove(
        self, ctx: ActionContext, pod: "ReadPod", grace: int | None, version: str | None
    ) -> None:
        # DeleteOptions as a plain body: a client model built by hand first deep-copies
        # the client's default configuration, on every alert.
        preconditions = {"uid": pod.metadata.uid, "resourceVersion": version}
        options = {
            "gracePeriodSeconds": grace,
            "preconditions": {k: v for k, v in preconditions.items() if v is not None},
            "dryRun": ctx.dry_run_option,
        }
        # The answer is the deleted pod, which nothing needs: read, never decoded (decoding
        # a pod costs more than the call).
        answer = ctx.apis.core.delete_namespaced_pod(
            ctx.pod_ref.name,
            ctx.pod_ref.namespace,
            body={k: v for k, v in options.items() if v is not None},
            _request_timeout=ctx.timeout,
            _preload_content=False,
        )
        answer.read()
        answer.release_conn()

    def _grace(self) -> str:
        return f"grace period {self.grace_period_seconds}s"


class EvictPod(_RemovePod):
    """Evict the pod through the Eviction API, so PodDisruptionBudgets are honoured.

    A budget that allows no disruption answers 429: transient, so Pub/Sub retries and,
    after its last attempt, dead-letters the alert for a person to look at.
    """

    action: Literal["evict_pod"]
    grace_period_seconds: int | None = Field(
        default=None, le=3600, description="default: the pod's own"
    )

    rbac: ClassVar = (RbacRule("", ("pods/eviction",), ("create",)),)
    description: ClassVar[str] = (
        "evicts the pod through the Eviction API, so PodDisruptionBudgets are honoured; a "
        "budget's 429 is retried, then dead-lettered"
    )
    example: ClassVar = {"action": "evict_pod", "grace_period_seconds": 30}
    verb: ClassVar[str] = "evict"
    past: ClassVar[str] = "evicted"

    def _remove(
        self, ctx: ActionContext, pod: "ReadPod", grace: int | None, version: str | None
    ) -> None:
        # On its UID only: an eviction spends the PodDisruptionBudget's allowance before
        # the delete's preconditions are checked (upstream's eviction.go), so a refusal
        # for a resourceVersion changed meanwhile (by a label this rule set first, say)
        # would cost the budget twice. Two racing evictions may both say they evicted it.
        preconditions = k8s.V1Preconditions(uid=pod.metadata.uid)
        eviction = k8s.V1Eviction(
            metadata=k8s.V1ObjectMeta(name=ctx.pod_ref.name, namespace=ctx.pod_ref.namespace),
            delete_options=k8s.V1DeleteOptions(
                grace_period_seconds=grace, preconditions=preconditions
            ),
        )
        ctx.apis.core.create_namespaced_pod_eviction(
            ctx.pod_ref.name,
            ctx.pod_ref.namespace,
            eviction,
            dry_run=ctx.dry_run_param,
            _request_timeout=ctx.timeout,
        )

    def _grace(self) -> str:
        if self.grace_period_seconds is None:
            return "the pod's own grace period"
        return f"grace period {self.grace_period_seconds}s"


# Kubernetes' syntax for label and annotation keys, and for label values.
_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]"
_QUALIFIED_NAME = re.compile(rf"([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_NAME}")
_LABEL_VALUE = re.compile(rf"({_NAME})?")


class _PatchPodMetadata(BaseAction):
    """Add and remove keys of one metadata map (labels or annotations) of the pod."""

    add: dict[str, str] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)

    field: ClassVar[str]
    rbac: ClassVar = (RbacRule("", ("pods",), ("patch",)),)

    @model_validator(mode="after")
    def _something_to_do(self) -> "_PatchPodMetadata":
        if not self.add and not self.remove:
            raise ValueError("give keys to add or to remove")
        for key in [*self.add, *self.remove]:
            if not _QUALIFIED_NAME.fullmatch(key):
                raise ValueError(f"{key!r} is not a valid key ([prefix/]name, name <= 63 chars)")
        if self.field == "labels":
            for key, value in self.add.items():
                if not _LABEL_VALUE.fullmatch(value):
                    raise ValueError(f"label {key}: {value!r} is not a valid label value")
        if overlap := set(self.add) & set(self.remove):
            raise ValueError(f"keys both added and removed: {sorted(overlap)}")
        return self

    def run(self, ctx: ActionContext) -> ActionResult:
        """One patch carrying the pod's UID, so a replacement pod is never changed."""
        target = str(ctx.pod_ref)
        current = getattr(ctx.pod.metadata, self.field) or {}
        if all(current.get(k) == v for k, v in self.add.items()) and not (
            set(self.remove) & set(current)
        ):
            return self.result(target, ActionStatus.ALREADY_DONE, f"{self.field} already set")
        changes: dict[str, str | None] = {**self.add, **dict.fromkeys(self.remove)}
        body = {"metadata": {"uid": ctx.pod.metadata.uid, self.field: changes}}
        try:
            ctx.apis.core.patch_namespaced_pod(
                ctx.pod_ref.name,
                ctx.pod_ref.namespace,
                body,
                dry_run=ctx.dry_run_param,
                _request_timeout=ctx.timeout,
            )
        except k8s.ApiException as exc:
            # 404: gone. 422 on metadata.uid (immutable): the name holds a replacement now.
            if exc.status == 404 or (exc.status == 422 and "metadata.uid" in (exc.body or "")):
                return self.result(target, ActionStatus.SKIPPED, "pod gone or replaced meanwhile")
            raise
        summary = ", ".join(
            [*(f"{k}={v}" for k, v in self.add.items()), *(f"-{k}" for k in self.remove)]
        )
        return self.done(ctx, target, f"{self.field} {summary}", f"set {self.field} {summary}")


class LabelPod(_PatchPodMetadata):
    """Add or remove labels on the pod."""

    action: Literal["label_pod"]
    field: ClassVar[str] = "labels"
    description: ClassVar[str] = "adds and removes the pod's labels, in one patch carrying its UID"
    idempotent: ClassVar[str] = 'labels already so: "already done"'
    example: ClassVar = {"action": "label_pod", "add": {"security/suspect": "true"}}


class AnnotatePod(_PatchPodMetadata):
    """Add or remove annotations on the pod."""

    action: Literal["annotate_pod"]
    field: ClassVar[str] = "annotations"
    description: ClassVar[str] = (
        "adds and removes the pod's annotations, in one patch carrying its UID"
    )
    idempotent: ClassVar[str] = 'annotations already so: "already done"'
    example: ClassVar = {
        "action": "annotate_pod",
        "add": {"security/falco-alert": "shell in container"},
        "remove": ["security/cleared-by"],
    }
