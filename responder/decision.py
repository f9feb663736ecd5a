"""What the policy says to do with an alert, decided before any call to the cluster.

The handler acts on this plan; `falco-responder policy explain` prints it, so a person
can see what a policy would do with an alert before trusting it.
"""

from dataclasses import dataclass

from responder.policy import FieldTooLongError, Policy, Rule
from shared.alert import FalcoAlert, PodRef
from shared.envelope import clip

# An alert's cluster value, as a refusal quotes it: the alert sets its length.
MAX_CLUSTER_IN_REASON = 100

# What Falcosidekick's `POST /test` sends: proof the wiring works, never acted on.
TEST_RULE = "Test rule"
NO_POD = (
    "no pod in the alert (host process, or k8s fields null, missing or <NA>): nothing to act on"
)


@dataclass(frozen=True)
class Plan:
    """The rules to run on a pod of a cluster, or the reason nothing is done.

    `cluster` names the cluster (for matching and the record); `kube_cluster` is the
    `clusters` entry to connect with, None for the one cluster of single-cluster mode.
    `refusal` says why the alert is refused before any call to the cluster: it names a
    cluster this responder does not serve, or a value too long for the matcher.
    """

    rules: tuple[Rule, ...]
    pod: PodRef | None
    cluster: str | None
    skip_reason: str | None
    dry_run: bool
    kube_cluster: str | None = None
    refusal: str | None = None

    @property
    def acts(self) -> bool:
        """Whether the plan runs actions (possibly in dry run)."""
        return self.skip_reason is None and self.refusal is None


def resolve_cluster(policy: Policy, alert: FalcoAlert) -> tuple[str | None, str | None]:
    """The alert's cluster if this responder serves it: (cluster, None); else (None, why).

    With `clusters`, the alert must name one of them. In single-cluster mode with a name
    (`cluster_name`, or CLUSTER_NAME), the alert must name that one: an alert naming none
    came from a Falco not set up with the deployed values (which name every alert), in
    any cluster. Unnamed, the responder cannot tell clusters apart, so it acts only on
    alerts naming none (one Falco, no `customfields`): an alert naming a cluster may
    come from any. Never acted on is never dead-lettered either: a replay cannot make
    another cluster's pod ours.
    """
    cluster = policy.cluster_of(alert)
    field = f"output field {policy.cluster_field!r}"
    named = (
        f"names cluster {clip(cluster, MAX_CLUSTER_IN_REASON)!r}" if cluster else "names no cluster"
    )
    if policy.clusters:
        if cluster in policy.clusters:
            return cluster, None
        known = ", ".join(sorted(policy.clusters))
        return None, f"alert {named} in {field}; the policy serves {known}: not acted on"
    if policy.cluster_name is None:
        if cluster is None:
            return None, None
        return None, (
            f"alert {named} in {field}; this responder serves one unnamed cluster and cannot "
            "tell whether that is it (set cluster_name, or CLUSTER_NAME): not acted on"
        )
    if cluster == policy.cluster_name:
        return cluster, None
    return None, (
        f"alert {named} in {field}; this responder serves only {policy.cluster_name!r} "
        "(cluster_name): not acted on"
    )


def plan(policy: Policy, alert: FalcoAlert, dry_run: bool = False) -> Plan:
    """The matching rules, unless the alert must be skipped; `dry_run` forces dry run."""
    dry_run = dry_run or policy.dry_run
    if alert.rule == TEST_RULE:
        return Plan((), None, None, "Falcosidekick test event: the wiring works", dry_run)
    pod = alert.pod
    if pod is None:
        return Plan((), None, None, NO_POD, dry_run)
    cluster, not_ours = resolve_cluster(policy, alert)
    if not_ours is not None:
        return Plan((), pod, None, None, dry_run, refusal=not_ours)
    kube_cluster = cluster if policy.clusters else None
    try:
        rules = tuple(policy.matching_rules(alert, cluster))
    except FieldTooLongError as exc:
        return Plan((), pod, cluster, None, dry_run, kube_cluster, refusal=str(exc))
    if not rules:
        return Plan((), pod, cluster, "no policy rule matches", dry_run, kube_cluster)
    return Plan(rules, pod, cluster, None, dry_run, kube_cluster)
