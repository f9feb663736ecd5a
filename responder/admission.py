"""The cluster's own rails for the responder's identity, worked out from a policy.

`falco-responder policy admission` prints them as a ValidatingAdmissionPolicy and its
binding; deploy/admission/responder-rails.yaml is that output for the default policy, and
a test keeps the two in step (as deploy/rbac/clusterrole.yaml is kept with `policy rbac`).

- Refused namespaces: those protected for EVERY rule of the policy. A namespace some rule
  may act in is not refused, or the responder would retry 403s until dead-lettered.
- Allowed changes: the writes of the policy's RBAC (responder.rbac), nothing else; the
  validations below then hold each kind of change to what the responder does with it
  (responder.admission_rails writes their CEL).

Every expression is compiled and type-checked as the API server does it when the policy
is created (responder.admission_cel): one it would refuse is a RailsError here.
"""

import fnmatch
import re
import string
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import yaml

from responder import admission_cel, k8s, rbac
from responder import admission_rails as rails
from responder.actions import BREAKER_EVENT_REASON, QUARANTINE_LABEL, RbacRule
from responder.actions.event import COMPONENT, EVENT_NAME_SUFFIX, RecordEvent
from responder.actions.isolate import DENY_ALL, ISOLATION_LABEL, IsolatePod
from responder.actions.pod import AnnotatePod, DeletePod, LabelPod
from responder.admission_rails import cel_list, cel_string
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
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
# What the API server answers when a limit refuses a change (one line each).
POD_UPDATE_MESSAGE = (
    "falco-responder may change only the pod labels and annotations its policy's actions set"
)
DAEMONSET_POD_MESSAGE = "falco-responder may not delete a DaemonSet's pod (ignore_daemonset_pods)"
SCALE_MESSAGE = "falco-responder may only scale a workload to zero replicas, nothing else"
CORDON_MESSAGE = "falco-responder may only cordon a node (spec.unschedulable), nothing else"
ISOLATION_MESSAGE = "falco-responder may write only the NetworkPolicies isolate_pod creates"
BREAKER_MESSAGE = "falco-responder may write its circuit breaker's ConfigMap only as it does"
EVENT_MESSAGE = "falco-responder may only record the Events record_event writes about a pod"
# RBAC verb -> the admission operation it is checked as (a patch is an UPDATE).
_OPERATIONS = {"create": "CREATE", "update": "UPDATE", "patch": "UPDATE", "delete": "DELETE"}
# Namespace names are DNS labels: lowercase letters, digits and '-'.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_NAMESPACE_CHARS = string.ascii_lowercase + string.digits + "-"


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
    terms = [f"request.namespace in {cel_list(names)}"] if names else []
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
            else f"request.resource.resource in {cel_list(resources)}"
        )
        sub = (
            f"has(request.subResource) && request.subResource == {cel_string(subresource)}"
            if subresource
            else "!has(request.subResource)"
        )
        ops = (
            f"request.operation == {cel_string(operations[0])}"
            if len(operations) == 1
            else f"request.operation in {cel_list(operations)}"
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
        f"request.namespace in {cel_list(namespaces)} &&\n"
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
    return found + _limits(policy)


def _limits(policy: Policy) -> list[dict[str, Any]]:
    """Each kind of change the policy's RBAC allows, held to what the responder does."""
    writes = _writes(policy)
    found = []
    if "UPDATE" in writes.get(("", "pods", ""), ()):
        labels, annotations = (_metadata_changes(policy, f) for f in ("labels", "annotations"))
        # isolate_pod never loosens a pod's isolation: only deny-all replaces another value.
        tightened = {ISOLATION_LABEL: DENY_ALL.variant} if ISOLATION_LABEL in labels else {}
        for update in rails.pod_update(labels, annotations, tightened):
            found.append(_validation(update, message=POD_UPDATE_MESSAGE))
    if _daemonset_pods_refused(policy):
        found.append(_validation(rails.NO_DAEMONSET_POD_DELETE, message=DAEMONSET_POD_MESSAGE))
    scaled = [
        r for r in ("deployments", "statefulsets") if "UPDATE" in writes.get(("apps", r, ""), ())
    ]
    if scaled:
        found.append(_validation(rails.scale_to_zero(scaled), message=SCALE_MESSAGE))
    if "UPDATE" in writes.get(("", "nodes", ""), ()):
        found.append(_validation(rails.CORDON, message=CORDON_MESSAGE))
    if writes.get(("networking.k8s.io", "networkpolicies", "")):
        shapes = rails.isolation_policy(_isolations(policy))
        found.append(_validation(shapes, message=ISOLATION_MESSAGE))
    if rbac.breaker_namespaces(policy):
        count = rails.breaker_configmap(CONFIGMAP, DATA_KEY)
        found.append(_validation(count, message=BREAKER_MESSAGE))
    if "CREATE" in writes.get(("", "events", ""), ()):
        event = rails.recorded_event(COMPONENT, EVENT_NAME_SUFFIX, _event_reasons(policy))
        found.append(_validation(event, message=EVENT_MESSAGE))
    return found


def _event_reasons(policy: Policy) -> list[str]:
    """The reasons of the Events the policy's actions record, the breaker's fallback's too."""
    reasons: list[str] = []
    for rule, safety in zip(policy.rules, rbac.rule_safeties(policy), strict=True):
        found = [a.reason for a in rule.actions if isinstance(a, RecordEvent)]
        if safety.circuit_breaker is not None and any(a.counted for a in rule.actions):
            found.append(BREAKER_EVENT_REASON)
        reasons += [r for r in found if r not in reasons]
    return reasons


def _metadata_changes(policy: Policy, field: str) -> dict[str, list[str | None]]:
    """Key -> the values the policy's actions give it on a pod (None: they remove it)."""
    changes: dict[str, list[str | None]] = defaultdict(list)

    def add(key: str, value: str | None) -> None:
        if value not in changes[key]:
            changes[key].append(value)

    kind = LabelPod if field == "labels" else AnnotatePod
    for rule, safety in zip(policy.rules, rbac.rule_safeties(policy), strict=True):
        for action in rule.actions:
            if isinstance(action, kind):
                for key, value in action.add.items():
                    add(key, value)
                for key in action.remove:
                    add(key, None)
            if field == "labels" and isinstance(action, IsolatePod):
                add(ISOLATION_LABEL, action.variant)
                add(ISOLATION_LABEL, DENY_ALL.variant)  # where the pod carried another
        breaker_fallback = safety.circuit_breaker is not None and any(
            a.counted for a in rule.actions
        )
        if field == "labels" and breaker_fallback:
            add(QUARANTINE_LABEL, "circuit-breaker")
    return dict(changes)


def _daemonset_pods_refused(policy: Policy) -> bool:
    """Whether every rule that deletes pods leaves DaemonSet pods alone."""
    deleting = [
        safety
        for rule, safety in zip(policy.rules, rbac.rule_safeties(policy), strict=True)
        if any(isinstance(a, DeletePod) for a in rule.actions)
    ]
    return bool(deleting) and all(s.ignore_daemonset_pods for s in deleting)


def _isolations(policy: Policy) -> list[dict[str, Any]]:
    """The NetworkPolicies (name and spec) the policy's isolate_pod actions create."""
    found: dict[str, dict[str, Any]] = {}
    with k8s.ApiClient() as client:
        for rule in policy.rules:
            for action in rule.actions:
                if isinstance(action, IsolatePod):
                    # Deny-all too: each isolate_pod falls back to it (isolate.py).
                    for isolation in (action, DENY_ALL):
                        created = isolation.network_policy("any")
                        found[created.metadata.name] = {
                            "name": created.metadata.name,
                            "spec": client.sanitize_for_serialization(created.spec),
                        }
    return list(found.values())


class RailsError(ValueError):
    """A generated expression the API server would refuse to compile: a defect here."""


def check_expressions(spec: dict[str, Any]) -> None:
    """Compile and type-check every expression of a ValidatingAdmissionPolicy spec as the
    API server does when it is created; RailsError names the field and the checker's error."""
    fields = [
        (f"spec.matchConditions[{i}].expression", c["expression"], "bool")
        for i, c in enumerate(spec.get("matchConditions") or [])
    ]
    for i, validation in enumerate(spec.get("validations") or []):
        fields.append((f"spec.validations[{i}].expression", validation["expression"], "bool"))
        if "messageExpression" in validation:
            field = f"spec.validations[{i}].messageExpression"
            fields.append((field, validation["messageExpression"], "string"))
    for field, source, result in fields:
        try:
            admission_cel.compile_checked(source, result, has_params="paramKind" in spec)
        except admission_cel.CelCheckError as error:
            raise RailsError(
                f"{field}: the API server would refuse this expression: {error}\n{source}"
            ) from None


def manifests(policy: Policy, users: Sequence[str]) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy for the responder's `users`, and its binding; raises
    RailsError if an expression would not compile on the API server."""
    metadata = {"name": NAME, "labels": dict(LABELS)}
    documents = [
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
                        "expression": f"request.userInfo.username in {cel_list(users)}",
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
    check_expressions(documents[0]["spec"])
    return documents


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the CEL expressions) as literal blocks, as a person writes them."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(documents: list[dict[str, Any]]) -> str:
    """The documents as YAML, CEL expressions kept readable."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
