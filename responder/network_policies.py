"""Which NetworkPolicies let an isolated pod's traffic through anyway.

NetworkPolicies add up: a connection is allowed if any policy selecting the pod allows it.
So an isolation holds only while no other policy that selects the pod allows anything,
and anyone who may create NetworkPolicies in the namespace (the `edit` role) can make
one that does, before the isolation or after. The semantics followed are upstream's:

- a policy's `podSelector` is a LabelSelector, and an empty one selects every pod of the
  namespace (k8s.io/apimachinery pkg/apis/meta/v1/helpers.go, LabelSelectorAsSelector;
  pkg/labels/selector.go, Requirement.Matches: `NotIn` and `DoesNotExist` hold for a pod
  without the key);
- without `policyTypes`, a policy governs Ingress, and Egress too if it has an `egress`
  section (k8s.io/api networking/v1 types.go, NetworkPolicySpec.PolicyTypes);
- a direction it governs with at least one rule allows some traffic (a rule with no
  peers allows all); with none, it only denies (the same file, NetworkPolicySpec.Ingress
  and .Egress).
"""

from collections.abc import Iterable
from typing import Any

# Kubernetes' directions, in the order the API names them.
DIRECTIONS = ("Ingress", "Egress")


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a LabelSelector (as the API's JSON has it) selects a pod with `labels`.

    An operator this code does not know is taken to select the pod: a policy that might
    let traffic through is reported, never passed over.
    """
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key"), requirement.get("operator")
        values = requirement.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def allowed_directions(spec: dict[str, Any]) -> list[str]:
    """The directions in which a policy (its spec, as JSON) allows some traffic."""
    types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
    return [d for d in DIRECTIONS if d in types and spec.get(d.lower())]


def leaks(policies: Iterable[dict[str, Any]], labels: dict[str, str]) -> dict[str, list[str]]:
    """The policies (name: directions) that select a pod with `labels` and allow traffic."""
    found = {}
    for policy in policies:
        spec = policy.get("spec") or {}
        directions = allowed_directions(spec)
        if directions and selects(spec.get("podSelector"), labels):
            found[policy["metadata"]["name"]] = directions
    return found
