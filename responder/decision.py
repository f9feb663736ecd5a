"""What the policy says to do with an alert, decided before any call to the cluster.

The handler acts on this plan; `falco-responder explain` prints it, so a person can see
what a policy would do with an alert before trusting it.
"""

from dataclasses import dataclass

from responder.policy import Policy, Rule
from shared.alert import FalcoAlert, PodRef

# What Falcosidekick's `POST /test` sends: proof the wiring works, never acted on.
TEST_RULE = "Test rule"
NO_POD = (
    "no pod in the alert (host process, or k8s fields null, missing or <NA>): nothing to act on"
)


@dataclass(frozen=True)
class Plan:
    """Either a rule to run on a pod, or the reason nothing is done."""

    rule: Rule | None
    pod: PodRef | None
    skip_reason: str | None
    dry_run: bool

    @property
    def acts(self) -> bool:
        """Whether the plan runs actions (possibly in dry run)."""
        return self.skip_reason is None


def plan(policy: Policy, alert: FalcoAlert, dry_run: bool = False) -> Plan:
    """The first rule that matches, unless the alert must be skipped; `dry_run` forces it."""
    if alert.rule == TEST_RULE:
        return Plan(None, None, "Falcosidekick test event: the wiring works", dry_run)
    pod = alert.pod
    if pod is None:
        return Plan(None, None, NO_POD, dry_run)
    rule = policy.first_match(alert)
    if rule is None:
        return Plan(None, pod, "no policy rule matches", dry_run)
    if policy.is_protected(pod.namespace):
        return Plan(rule, pod, f"namespace {pod.namespace} is protected", dry_run)
    return Plan(rule, pod, None, dry_run or policy.dry_run or rule.dry_run)
