"""What the policy says to do with an alert, decided before any call to the cluster.

The handler acts on this plan; `falco-responder policy explain` prints it, so a person
can see what a policy would do with an alert before trusting it.
"""

from dataclasses import dataclass

from responder.policy import Policy, Rule
from shared.alert import FalcoAlert, PodRef
from shared.errors import PermanentError

# What Falcosidekick's `POST /test` sends: proof the wiring works, never acted on.
TEST_RULE = "Test rule"
NO_POD = (
    "no pod in the alert (host process, or k8s fields null, missing or <NA>): nothing to act on"
)


@dataclass(frozen=True)
class Plan:
    """The rules to run on a pod of a cluster, or the reason nothing is done."""

    rules: tuple[Rule, ...]
    pod: PodRef | None
    cluster: str | None
    skip_reason: str | None
    dry_run: bool

    @property
    def acts(self) -> bool:
        """Whether the plan runs actions (possibly in dry run)."""
        return self.skip_reason is None


def resolve_cluster(policy: Policy, alert: FalcoAlert) -> str | None:
    """The alert's cluster; None in single-cluster mode (the policy names no clusters).

    With clusters configured, an alert that names none, or one the policy does not know,
    can never be acted on safely: a permanent failure, never the default cluster.
    """
    cluster = policy.cluster_of(alert)
    if not policy.clusters:
        return None
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
    rules = tuple(policy.matching_rules(alert, cluster))
    if not rules:
        return Plan((), pod, cluster, "no policy rule matches", dry_run)
    return Plan(rules, pod, cluster, None, dry_run)
