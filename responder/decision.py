"""What the policy says to do with an alert, decided before any call to the cluster.

The handler acts on this plan; `falco-responder policy explain` prints it, so a person
can see what a policy would do with an alert before trusting it.
"""

from dataclasses import dataclass

from responder.policy import FieldTooLongError, Policy, Rule
from shared.alert import FalcoAlert, PodRef
from shared.errors import PermanentError

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
    `refusal` says why the matcher refused to decide (a value too long to match).
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


def resolve_cluster(policy: Policy, alert: FalcoAlert) -> str | None:
    """The alert's cluster: one of `clusters`, else `cluster_name`, else None.

    With clusters configured, an alert that names none, or one the policy does not know,
    can never be acted on safely: a permanent failure, never the default cluster. In
    single-cluster mode with `cluster_name`, so is an alert naming another cluster: its
    pod is not ours, whatever a pod of ours is called.
    """
    cluster = policy.cluster_of(alert)
    if not policy.clusters:
        if cluster is None or cluster == policy.cluster_name or policy.cluster_name is None:
            return policy.cluster_name
        raise PermanentError(
            "unknown_cluster",
            f"alert names cluster {cluster!r} in output field {policy.cluster_field!r}; "
            f"this responder serves only {policy.cluster_name!r} (cluster_name)",
        )
    if cluster is None or cluster not in policy.clusters:
        known = ", ".join(sorted(policy.clusters))
        named = f"names cluster {cluster!r}" if cluster else "names no cluster"
        raise PermanentError(
            "unknown_cluster",
            f"alert {named} in output field {policy.cluster_field!r}; the policy knows {known}",
        )
    return cluster


def plan(policy: Policy, alert: FalcoAlert, dry_run: bool = False) -> Plan:
    """The matching rules, unless the alert must be skipped; `dry_run` forces dry run."""
    dry_run = dry_run or policy.dry_run
    if alert.rule == TEST_RULE:
        return Plan((), None, None, "Falcosidekick test event: the wiring works", dry_run)
    pod = alert.pod
    if pod is None:
        return Plan((), None, None, NO_POD, dry_run)
    cluster = resolve_cluster(policy, alert)
    kube_cluster = cluster if policy.clusters else None
    try:
        rules = tuple(policy.matching_rules(alert, cluster))
    except FieldTooLongError as exc:
        return Plan((), pod, cluster, None, dry_run, kube_cluster, refusal=str(exc))
    if not rules:
        return Plan((), pod, cluster, "no policy rule matches", dry_run, kube_cluster)
    return Plan(rules, pod, cluster, None, dry_run, kube_cluster)
