"""The Kubernetes permissions a policy needs, worked out from its rules.

`falco-responder policy rbac` prints them as a ClusterRole (and a Role for the circuit
breaker's ConfigMap); deploy/rbac/clusterrole.yaml is that output for the default policy,
and a test keeps the two in step.
"""

from collections import defaultdict
from typing import Any

from responder.actions import FALLBACK_RBAC, BaseAction, RbacRule
from responder.policy import Policy, Safety

# Every rule reads the pod, and its namespace for the opt-out label.
READ_RBAC = (RbacRule("", ("pods",), ("get",)), RbacRule("", ("namespaces",), ("get",)))
# Owner-aware rails of destructive actions, where a rule sets one, read the controller.
OWNER_RBAC = (RbacRule("apps", ("replicasets", "deployments", "statefulsets"), ("get",)),)
# min_healthy_replicas counts the ready pods of the controller.
MIN_HEALTHY_RBAC = (RbacRule("", ("pods",), ("list",)),)
# The circuit breaker's count, in its own namespace only.
BREAKER_RBAC = (RbacRule("", ("configmaps",), ("get", "create", "update")),)
ROLE_NAME = "falco-responder"


def _merged(rules: list[RbacRule]) -> list[dict[str, Any]]:
    verbs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in rules:
        for resource in rule.resources:
            verbs[(rule.api_group, resource)].update(rule.verbs)
    grouped: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource), names in sorted(verbs.items()):
        grouped[(group, tuple(sorted(names)))].append(resource)
    return [
        {"apiGroups": [group], "resources": resources, "verbs": list(names)}
        for (group, names), resources in grouped.items()
    ]


def rule_safeties(policy: Policy) -> list[Safety]:
    """Each rule's rails: the policy's, with what the rule sets itself."""
    return [policy.safety.overridden_by(rule.safety) for rule in policy.rules]


def needed_rules(policy: Policy) -> list[RbacRule]:
    """What every rule's actions and rails need, cluster-wide (the breaker's Role aside)."""
    needed: list[RbacRule] = list(READ_RBAC) if policy.rules else []
    for rule, safety in zip(policy.rules, rule_safeties(policy), strict=True):
        actions: list[BaseAction] = list(rule.actions)
        for action in actions:
            needed += action.rbac
        if any(a.destructive for a in actions) and safety.reads_owner:
            needed += OWNER_RBAC
            if safety.min_healthy_replicas is not None:
                needed += MIN_HEALTHY_RBAC
        if safety.circuit_breaker is not None and any(a.counted for a in actions):
            needed += FALLBACK_RBAC
    return needed


def cluster_rules(policy: Policy) -> list[dict[str, Any]]:
    """The ClusterRole rules: what every rule's actions and rails need, merged."""
    return _merged(needed_rules(policy))


def breaker_namespaces(policy: Policy) -> list[str]:
    """Namespaces holding a circuit-breaker ConfigMap the responder must read and write."""
    return sorted(
        {
            safety.circuit_breaker.namespace
            for rule, safety in zip(policy.rules, rule_safeties(policy), strict=True)
            if safety.circuit_breaker is not None and any(a.counted for a in rule.actions)
        }
    )


def manifests(policy: Policy) -> list[dict[str, Any]]:
    """The ClusterRole, and one Role per circuit-breaker namespace."""
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": ROLE_NAME},
            "rules": cluster_rules(policy),
        }
    ]
    documents += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": f"{ROLE_NAME}-circuit-breaker", "namespace": namespace},
            "rules": _merged(list(BREAKER_RBAC)),
        }
        for namespace in breaker_namespaces(policy)
    ]
    return documents
