"""The cluster's own rails for the responder's identity, worked out from a policy.

`falco-responder policy admission` prints them as a ValidatingAdmissionPolicy and its
binding; deploy/admission/responder-rails.yaml is that output for the default policy, and
a test keeps the two in step (as deploy/rbac/clusterrole.yaml is kept with `policy rbac`).

- Refused namespaces: those protected for EVERY rule of the policy. A namespace some rule
  may act in is not refused, or the responder would retry 403s until dead-lettered.
- Allowed changes: the writes of the policy's RBAC (responder.rbac), nothing else; the
  validations below then hold each kind of change to what the responder does with it.
"""

import fnmatch
import json
import re
import string
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from responder import rbac
from responder.actions import RbacRule
from responder.circuit_breaker import CONFIGMAP
from responder.policy import Policy, Safety

NAME = "falco-responder-rails"
LABELS = {"app.kubernetes.io/name": "falco-responder"}
# The responder's identity in both modes, as deploy/rbac/ names it.
DEFAULT_SERVICE_ACCOUNT = "falco-responder:responder"
DEFAULT_GOOGLE_IDENTITY = "falco-responder@PROJECT.iam.gserviceaccount.com"
# Every authenticated user may ask what it may do (system:basic-user): `kubectl auth can-i`.
SELF_REVIEWS = RbacRule(
    "authorization.k8s.io", ("selfsubjectaccessreviews", "selfsubjectrulesreviews"), ("create",)
)
# RBAC verb -> the admission operation it is checked as (a patch is an UPDATE).
_OPERATIONS = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}
# Namespace names are DNS labels: lowercase letters, digits and '-'.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAMESPACE_CHARS = string.ascii_lowercase + string.digits + "-"

_POD_FIELDS = """\
request.resource.resource != 'pods' || has(request.subResource) ||
request.operation != 'UPDATE' ||
(object.spec == oldObject.spec &&
has(object.metadata.ownerReferences) == has(oldObject.metadata.ownerReferences) &&
(!has(object.metadata.ownerReferences) ||
object.metadata.ownerReferences == oldObject.metadata.ownerReferences) &&
has(object.metadata.finalizers) == has(oldObject.metadata.finalizers) &&
(!has(object.metadata.finalizers) ||
object.metadata.finalizers == oldObject.metadata.finalizers))"""
_SCALE_TO_ZERO = """\
request.resource.group != 'apps' || has(request.subResource) ||
request.operation != 'UPDATE' ||
(object.spec.replicas == 0 && object.spec.template == oldObject.spec.template)"""
_CORDON = """\
request.resource.resource != 'nodes' || request.operation != 'UPDATE' ||
(has(object.spec.unschedulable) && object.spec.unschedulable)"""


def cel_string(text: str) -> str:
    """`text` as a CEL string literal (JSON's escapes are all CEL escapes)."""
    return (
        "'"
        + json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
        + "'"
    )


def _cel_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(cel_string(v) for v in values) + "]"


def service_account_user(service_account: str) -> str:
    """`NAMESPACE:NAME` as the user name Kubernetes gives the ServiceAccount's token."""
    namespace, _, name = service_account.partition(":")
    if not (_NAMESPACE.fullmatch(namespace) and name and ":" not in name):
        raise ValueError(f"{service_account!r} is not NAMESPACE:NAME")
    return f"system:serviceaccount:{namespace}:{name}"


def glob_regex(pattern: str) -> str | None:
    """An anchored RE2 pattern matching the namespace names the glob matches (fnmatch), or
    None when it can match no namespace name (then it protects nothing).

    Only namespace-name characters are left in the pattern, so Kubernetes' RE2, the
    emulator's CEL library and Python's re all read it alike: a bracket expression becomes
    the class of namespace-name characters fnmatch lets it match.
    """
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        end = _bracket_end(pattern, i) if char == "[" else None
        if char == "*":
            if parts[-1:] != [".*"]:
                parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif end is not None:
            bracket = pattern[i : end + 1]
            chars = [c for c in _NAMESPACE_CHARS if fnmatch.fnmatchcase(c, bracket)]
            if not chars:
                return None
            # '-' first is a literal in a class.
            parts.append("[" + "".join(sorted(chars, key=lambda c: c != "-")) + "]")
            i = end
        elif char in _NAMESPACE_CHARS:
            parts.append(char)
        else:
            return None
        i += 1
    return "^" + "".join(parts) + "$"


def _bracket_end(pattern: str, start: int) -> int | None:
    """Where fnmatch ends the bracket expression opened at `start` (None: a literal '[')."""
    j = start + 1
    if pattern[j : j + 1] == "!":
        j += 1
    if pattern[j : j + 1] == "]":
        j += 1
    end = pattern.find("]", j)
    return end if end >= 0 else None


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _any_of(patterns: Sequence[str]) -> list[str]:
    """CEL terms, one of which holds when request.namespace matches one of the globs."""
    names = [p for p in patterns if not _is_glob(p) and _NAMESPACE.fullmatch(p)]
    regexes = [r for p in patterns if _is_glob(p) if (r := glob_regex(p))]
    terms = [f"request.namespace in {_cel_list(names)}"] if names else []
    if regexes:
        alternatives = "|".join(dict.fromkeys(r[1:-1] for r in regexes))
        terms.append(f"request.namespace.matches({cel_string(f'^({alternatives})$')})")
    return terms


def _safeties(policy: Policy) -> list[Safety]:
    """Each rule's rails (a policy without rules acts nowhere: its own rails stand in)."""
    return rbac.rule_safeties(policy) or [policy.safety]


def refused_namespaces(policy: Policy) -> list[str]:
    """CEL terms, one of which holds for a namespace protected for every rule."""
    lists = [s.effective_protected_namespaces for s in _safeties(policy)]
    common = [p for p in lists[0] if all(p in other for other in lists)]
    rest = list(dict.fromkeys(tuple(p for p in ps if p not in common) for ps in lists))
    terms = _any_of(common)
    # Protected for every rule also by a pattern of its own: (any of rule 1's) && ...
    each = [_any_of(ps) for ps in rest]
    if all(each):
        terms.append(" && ".join(f"({' || '.join(t)})" for t in each))
    return terms


def _is_refused(policy: Policy, namespace: str) -> bool:
    return all(s.is_protected(namespace) for s in _safeties(policy))


def _writes(policy: Policy) -> dict[tuple[str, str, str], set[str]]:
    """(group, resource, subresource) -> the admission operations the policy's RBAC grants."""
    operations: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for rule in [*rbac.needed_rules(policy), SELF_REVIEWS]:
        for entry in rule.resources:
            resource, _, subresource = entry.partition("/")
            for verb in rule.verbs:
                if verb in _OPERATIONS:
                    operations[(rule.api_group, resource, subresource)].add(_OPERATIONS[verb])
    return operations


def _allowed(policy: Policy) -> list[str]:
    """One CEL term per kind of change the policy needs."""
    grouped: dict[tuple[str, str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (group, resource, subresource), operations in sorted(_writes(policy).items()):
        grouped[(group, subresource, tuple(sorted(operations)))].append(resource)
    terms = []
    for (group, subresource, operations), resources in grouped.items():
        which = (
            f"request.resource.resource == {cel_string(resources[0])}"
            if len(resources) == 1
            else f"request.resource.resource in {_cel_list(resources)}"
        )
        sub = (
            f"has(request.subResource) && request.subResource == {cel_string(subresource)}"
            if subresource
            else "!has(request.subResource)"
        )
        ops = (
            f"request.operation == {cel_string(operations[0])}"
            if len(operations) == 1
            else f"request.operation in {_cel_list(operations)}"
        )
        terms.append(
            f"(request.resource.group == {cel_string(group)} && {which} &&\n{sub} && {ops})"
        )
    if breakers := rbac.breaker_namespaces(policy):
        terms.append(_breaker_configmap(breakers))
    return terms


def _breaker_configmap(namespaces: list[str]) -> str:
    return (
        "(request.resource.group == '' && request.resource.resource == 'configmaps' &&\n"
        "!has(request.subResource) && request.operation in ['CREATE', 'UPDATE'] &&\n"
        f"request.namespace in {_cel_list(namespaces)} &&\n"
        f"has(request.name) && request.name == {cel_string(CONFIGMAP)})"
    )


def _validation(expression: str, reason: str = "Forbidden", **message: str) -> dict[str, Any]:
    return {"expression": expression, **message, "reason": reason}


def validations(policy: Policy) -> list[dict[str, Any]]:
    """The policy's validations: namespaces, kinds of change, then each kind's limits."""
    found = []
    if refused := refused_namespaces(policy):
        exempt = [
            f"{_breaker_configmap([ns])} ||"
            for ns in rbac.breaker_namespaces(policy)
            if _is_refused(policy, ns)
        ]
        found.append(
            _validation(
                "\n".join(
                    ["!has(request.namespace) ||", *exempt, "!(" + " ||\n".join(refused) + ")"]
                ),
                messageExpression=(
                    "'falco-responder may not change anything in the protected namespace ' +\n"
                    "request.namespace"
                ),
            )
        )
    found.append(
        _validation(
            " ||\n".join(_allowed(policy)),
            messageExpression=(
                "'falco-responder may not ' + request.operation + ' ' + "
                "request.resource.resource +\n"
                "(has(request.subResource) ? '/' + request.subResource : '')"
            ),
        )
    )
    writes = _writes(policy)
    if "UPDATE" in writes.get(("", "pods", ""), ()):
        found.append(
            _validation(
                _POD_FIELDS,
                message="falco-responder may change only a pod's labels and annotations",
            )
        )
    if any("UPDATE" in writes.get(("apps", r, ""), ()) for r in ("deployments", "statefulsets")):
        found.append(
            _validation(
                _SCALE_TO_ZERO, message="falco-responder may only scale a workload to zero replicas"
            )
        )
    if "UPDATE" in writes.get(("", "nodes", ""), ()):
        found.append(_validation(_CORDON, message="falco-responder may only cordon a node"))
    return found


def manifests(policy: Policy, users: Sequence[str]) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy for the responder's `users`, and its binding."""
    metadata = {"name": NAME, "labels": dict(LABELS)}
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": metadata,
            "spec": {
                # A policy that cannot be evaluated refuses the request.
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["*"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE", "DELETE", "CONNECT"],
                            # Every resource and every subresource; the API server refuses
                            # '*/*' beside anything else (validateResources).
                            "resources": ["*/*"],
                        }
                    ]
                },
                "matchConditions": [
                    {
                        "name": "is-the-responder",
                        "expression": f"request.userInfo.username in {_cel_list(users)}",
                    }
                ],
                "validations": validations(policy),
            },
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": dict(metadata),
            "spec": {"policyName": NAME, "validationActions": ["Deny"]},
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the CEL expressions) as literal blocks, as a person writes them."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """The documents as YAML, CEL expressions kept readable."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
