"""isolate_pod: cut the pod off the network and keep it for forensics.

A NetworkPolicy in the pod's namespace denies all ingress and egress to pods carrying an
isolation label (except what the rule allows); then the pod gets that label. The policy
comes first, so the pod is cut off the moment it is labelled.
"""

import hashlib
import ipaddress
import json
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator

from responder import k8s
from responder.actions.base import ActionContext, BaseAction, RbacRule
from responder.actions.pod import LabelPod
from responder.failures import classify
from responder.network_policies import leaks
from responder.outcome import ISOLATION_LEAKS, ActionResult, ActionStatus
from shared.errors import TransientError

if TYPE_CHECKING:
    from kubernetes.client import V1NetworkPolicy

ISOLATION_LABEL = "falco-responder/isolated"
POLICY_PREFIX = "falco-responder-isolate"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# The TransientError reason (and, on the last attempt, the dead letter's) when the policy
# of our name changed or went away while it was being replaced.
NETWORK_POLICY_CONTENDED = "network_policy_contended"
# The namespace's NetworkPolicies are read this many a call, and no more than
# LEAK_CHECK_PAGES calls: a tenant can create any number of them.
LEAK_CHECK_PAGE = 100
LEAK_CHECK_PAGES = 10
# Policies named in the outcome and the log line, at most: their names are the tenant's,
# up to 253 characters each.
LEAKS_NAMED = 10


class IsolatePod(BaseAction):
    """Deny the pod all traffic but `allow_cidrs` and `allow_namespaces`; keep it running."""

    action: Literal["isolate_pod"]
    allow_cidrs: list[str] = Field(default_factory=list)
    allow_namespaces: list[str] = Field(default_factory=list)

    rbac: ClassVar = (
        # get and update: a policy of that name someone else made is made the isolating one;
        # list: the others that let the pod's traffic through anyway.
        RbacRule("networking.k8s.io", ("networkpolicies",), ("create", "get", "list", "update")),
        *LabelPod.rbac,
    )
    description: ClassVar[str] = (
        "creates a NetworkPolicy denying all ingress and egress to pods labelled "
        f"`{ISOLATION_LABEL}`, then gives the pod that label; the pod stays for forensics. "
        "Isolation only tightens, and a label proves nothing: a pod already carrying another "
        "isolation value (the workload's owner could have set it) is isolated by the deny-all "
        "policy. NetworkPolicies add up: another one selecting the pod and allowing traffic "
        "(anyone with `edit` may make one) lets that traffic through, and the outcome names "
        "it (`isolation_leaks`), as it says when the pod is on its node's network "
        "(`hostNetwork`), which no NetworkPolicy governs"
    )
    idempotent: ClassVar[str] = (
        "the policy's name is deterministic: one already there counts as done once its spec "
        "is the isolating one (another spec is replaced)"
    )
    example: ClassVar = {
        "action": "isolate_pod",
        "allow_cidrs": ["10.0.0.0/8"],
        "allow_namespaces": ["forensics"],
    }

    @field_validator("allow_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        for cidr in cidrs:
            ipaddress.ip_network(cidr, strict=False)  # ValueError names the bad one
        return cidrs

    @property
    def variant(self) -> str:
        """`true` for deny-all; a digest of the allowances otherwise.

        Network policies add up: one pod selected by a deny-all and by a looser policy
        gets the looser one's allowances. So each set of allowances has its own label
        value and its own policy, and a pod is only ever selected by one of them.
        """
        if not self.allow_cidrs and not self.allow_namespaces:
            return "true"
        allowed = ",".join(sorted(self.allow_cidrs) + sorted(self.allow_namespaces))
        return hashlib.sha256(allowed.encode()).hexdigest()[:10]

    def network_policy(self, namespace: str) -> "V1NetworkPolicy":
        """The policy for this variant: deterministic name, so an existing one counts as done."""
        name = POLICY_PREFIX if self.variant == "true" else f"{POLICY_PREFIX}-{self.variant}"
        peers = [
            k8s.V1NetworkPolicyPeer(ip_block=k8s.V1IPBlock(cidr=c)) for c in self.allow_cidrs
        ] + [
            k8s.V1NetworkPolicyPeer(
                namespace_selector=k8s.V1LabelSelector(match_labels={NAMESPACE_NAME_LABEL: n})
            )
            for n in self.allow_namespaces
        ]
        return k8s.V1NetworkPolicy(
            metadata=k8s.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels={"app.kubernetes.io/managed-by": "falco-responder"},
            ),
            spec=k8s.V1NetworkPolicySpec(
                pod_selector=k8s.V1LabelSelector(match_labels={ISOLATION_LABEL: self.variant}),
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.V1NetworkPolicyIngressRule(_from=peers)] if peers else [],
                egress=[k8s.V1NetworkPolicyEgressRule(to=peers)] if peers else [],
            ),
        )

    def run(self, ctx: ActionContext) -> ActionResult:
        """Ensure the policy (one already there is made ours), then label the pod.

        Isolation only ever tightens, and a label proves nothing by itself (the workload's
        owner may set it, with no policy or a permissive one behind it): a pod already
        carrying another isolation value is isolated by the deny-all policy, made sure of
        like any other.
        """
        target = str(ctx.pod_ref)
        current = (ctx.pod.metadata.labels or {}).get(ISOLATION_LABEL)
        isolation = self if current in (None, self.variant) else DENY_ALL
        notes = (
            ""
            if isolation is self
            else f"; the pod carried {ISOLATION_LABEL}={current}: isolation is never loosened"
        )
        policy = isolation.network_policy(ctx.pod_ref.namespace)
        where = f"network policy {policy.metadata.name}"
        changed = True
        try:
            ctx.apis.networking.create_namespaced_network_policy(
                ctx.pod_ref.namespace,
                policy,
                dry_run=ctx.dry_run_param,
                _request_timeout=ctx.timeout,
            )
        except k8s.ApiException as exc:
            if exc.status != 409:
                raise
            changed = self._replace_unless_isolating(ctx, policy)
            if changed:
                where += " (it existed with another spec: replaced)"
        label = LabelPod(action="label_pod", add={ISOLATION_LABEL: isolation.variant}).run(ctx)
        if label.outcome is ActionStatus.SKIPPED:
            return self.result(target, ActionStatus.SKIPPED, label.reason)
        labels = {**(ctx.pod.metadata.labels or {}), ISOLATION_LABEL: isolation.variant}
        if ctx.pod.spec is not None and ctx.pod.spec.host_network:
            # NetworkPolicies govern pod networks only: one on its node's is not cut off.
            said = "not cut off: the pod uses its node's network (hostNetwork), which no "
            notes += self._leaked(ctx, said + "NetworkPolicy governs", [])
        notes += self._leaks(ctx, policy, labels)
        if label.outcome is ActionStatus.ALREADY_DONE and not changed:
            return self.result(
                target, ActionStatus.ALREADY_DONE, f"already isolated by {where}{notes}"
            )
        return self.done(ctx, target, f"isolated by {where}{notes}", f"isolate with {where}{notes}")

    def _leaks(self, ctx: ActionContext, ours: "V1NetworkPolicy", labels: dict[str, str]) -> str:
        """What the outcome adds when other NetworkPolicies let the pod's traffic through,
        or could not all be read (and the line the alert policy matches); empty when none
        do. Only ever a note: the isolation is in place, and a failed check must not hold
        back the rule's next action (a delete, say)."""
        try:
            policies, complete = _namespace_policies(ctx)
        except Exception as exc:
            failure = classify(exc)  # a 403 (RBAC from before this check) is logged loudly
            if failure is exc:
                raise  # not a failure of the cluster: a bug, never a note
            said = f"other NetworkPolicies not checked ({getattr(failure, 'detail', exc)!s})"
            return self._leaked(ctx, f"{said}: any may let traffic through", [])
        # Ours is made the isolating one (or, in dry run, would be): never a leak.
        found = leaks((p for p in policies if p["metadata"]["name"] != ours.metadata.name), labels)
        if not found and complete:
            return ""
        said, shown = "", sorted(found.items())[:LEAKS_NAMED]
        if found:
            named = ", ".join(f"{n} ({', '.join(d).lower()})" for n, d in shown)
            if len(found) > len(shown):
                named += f" and {len(found) - len(shown)} more"
            verbs = "selects the pod and allows" if len(found) == 1 else "select it and allow"
            said = f"not cut off: NetworkPolicies add up, and {named} also {verbs} traffic"
        if not complete:
            unread = (
                f"more than {LEAK_CHECK_PAGE * LEAK_CHECK_PAGES} NetworkPolicies in the "
                "namespace, the rest not read: any may let traffic through"
            )
            said = f"{said}; {unread}" if said else unread
        return self._leaked(ctx, said, [name for name, _ in shown])

    def _leaked(self, ctx: ActionContext, said: str, policies: list[str]) -> str:
        """The line the alert policy matches, and the note the outcome gets."""
        message = f"{self.name} on {ctx.pod_ref}: {said}"
        self.log_rail(ISOLATION_LEAKS, ctx, message, policies=policies)
        return f"; {said}"

    def _replace_unless_isolating(self, ctx: ActionContext, policy: "V1NetworkPolicy") -> bool:
        """The policy of that name already exists: replace it (True) unless its spec
        isolates as ours does (False).

        Anyone who may create NetworkPolicies in the namespace (the `edit` role) may have
        made it first, allowing everything. Then it is replaced by ours, on condition
        that it is still the version read (a 409 is retried by Pub/Sub, so a racing
        writer never wins by being quick); nothing else is ever reported isolated.
        """
        networking, namespace = ctx.apis.networking, ctx.pod_ref.namespace
        name = policy.metadata.name
        existing = networking.read_namespaced_network_policy(
            name, namespace, _request_timeout=ctx.timeout
        )
        serialize = ctx.apis.client.sanitize_for_serialization
        if isolating_spec(serialize(existing.spec)) == isolating_spec(serialize(policy.spec)):
            return False
        policy.metadata.resource_version = existing.metadata.resource_version
        try:
            networking.replace_namespaced_network_policy(
                name, namespace, policy, dry_run=ctx.dry_run_param, _request_timeout=ctx.timeout
            )
        except k8s.ApiException as exc:
            if exc.status in (404, 409):
                raise TransientError(
                    f"network policy {namespace}/{name} had another spec and changed or "
                    f"went away while it was being made isolating ({exc.status}): retried",
                    NETWORK_POLICY_CONTENDED,
                ) from exc
            raise
        return True


def _namespace_policies(ctx: ActionContext) -> tuple[list[dict[str, Any]], bool]:
    """The NetworkPolicies of the pod's namespace as JSON, up to LEAK_CHECK_PAGES pages,
    and whether that was all of them."""
    policies: list[dict[str, Any]] = []
    token = None
    for _ in range(LEAK_CHECK_PAGES):
        answer = ctx.apis.networking.list_namespaced_network_policy(
            ctx.pod_ref.namespace,
            limit=LEAK_CHECK_PAGE,
            _continue=token,
            _request_timeout=ctx.timeout,
            _preload_content=False,
        )
        try:
            page = json.loads(answer.data)
        finally:
            answer.release_conn()
        policies += page.get("items") or []
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return policies, True
    return policies, False


def isolating_spec(spec: dict[str, Any] | None) -> dict[str, Any]:
    """What decides a NetworkPolicy's effect, with the API server's omissions filled in:
    the selected pods, the directions it governs, and its allowances."""
    spec = spec or {}
    selector = {key: value for key, value in (spec.get("podSelector") or {}).items() if value}
    return {
        "podSelector": selector,
        "policyTypes": sorted(spec.get("policyTypes") or []),
        "ingress": spec.get("ingress") or [],
        "egress": spec.get("egress") or [],
    }


# The tightest isolation: every isolate_pod may fall back to it (and its rails allow it).
DENY_ALL = IsolatePod(action="isolate_pod")
