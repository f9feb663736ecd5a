"""The ValidatingAdmissionPolicy admission plugin: every create, update, patch, delete and
subresource write over HTTP is checked against the stored policies and their bindings.

As upstream (admission/plugin/policy/validating): a policy applies through each binding
naming it, when its ``matchConstraints`` (resource rules with operations, subresources
and scope, resource names, exclusions, namespace and object selectors), the binding's
``matchResources`` and every ``matchCondition`` match. Each validation then evaluates to
true or denies, with its ``reason`` (default Invalid, 422), ``messageExpression``,
``message`` or ``failed expression: ...``; an evaluation error denies under
``failurePolicy: Fail`` and is skipped under ``Ignore``. ``validationActions`` Deny
refuses the request with the first denial (``<resource> "<name>" is forbidden:
ValidatingAdmissionPolicy '<policy>' with binding '<binding>' denied request: <message>``,
with the reason's code), Warn adds a ``Warning`` header, Audit has no visible effect.

CEL sees ``object``, ``oldObject``, ``request`` (AdmissionRequest as JSON), ``namespaceObject``
and ``params`` (null: parameters are not supported); ``authorizer`` and ``variables`` are
not provided, so an expression using them fails as an evaluation error would.

Admission runs where upstream's does: after the object is decoded, defaulted and
validated, before it is stored; for a DELETE after the preconditions, with ``object`` null
and ``oldObject`` the stored object. Objects created through the emulator's Python
helpers skip it, as they skip authentication.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .auth import User
from .cel_expressions import CelError, activation, compile_expression, evaluate
from .kinds import (
    NAMESPACES,
    VALIDATING_ADMISSION_POLICIES,
    VALIDATING_ADMISSION_POLICY_BINDINGS,
    ResourceKind,
)
from .meta import label_selector
from .status import ApiError, forbidden
from .store import ObjectStore

_REASON_CODES = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413}


@dataclass(frozen=True)
class Attributes:
    """admission.Attributes of one request."""

    operation: str  # CREATE, UPDATE (PUT and PATCH alike) or DELETE
    kind: ResourceKind  # the resource addressed, e.g. pods for pods/eviction
    namespace: str
    name: str
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None
    subresource: str = ""
    # (group, version, kind) of a subresource's own object (Eviction, Scale), else the kind's.
    object_kind: tuple[str, str, str] | None = None
    dry_run: bool = False


# Called by the API layer with a request's attributes; raises ApiError to refuse it.
Admit = Callable[[Attributes], None]


def _selected(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    try:
        return label_selector(selector)(labels)
    except ValueError:
        return False


def _labels(obj: Mapping[str, Any] | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return (obj.get("metadata") or {}).get("labels") or {}


def _rule_matches(rule: Mapping[str, Any], attrs: Attributes) -> bool:
    """rules.Matcher: operations, groups, versions, resource/subresource, scope, names."""
    kind = attrs.kind

    def listed(values: Any, value: str) -> bool:
        return "*" in (values or []) or value in (values or [])

    if not listed(rule.get("operations"), attrs.operation):
        return False
    if not listed(rule.get("apiGroups"), kind.group):
        return False
    if not listed(rule.get("apiVersions"), kind.version):
        return False
    resources = []
    for entry in rule.get("resources") or []:
        resource, _, subresource = entry.partition("/")
        resources.append((resource, subresource))
    if not any(
        resource in ("*", kind.plural) and subresource in ("*", attrs.subresource)
        for resource, subresource in resources
    ):
        return False
    # A namespace's own requests carry its name as their namespace, yet it is cluster-scoped.
    scope = rule.get("scope", "*")
    if scope == "Namespaced" and (kind is NAMESPACES or not attrs.namespace):
        return False
    if scope == "Cluster" and not (kind is NAMESPACES or not attrs.namespace):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


class ValidatingAdmission:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def admitter(self, user: User, warnings: list[str]) -> Admit:
        """The check of ``user``'s request; Warn actions append to ``warnings``."""
        return lambda attrs: self.validate(attrs, user, warnings)

    def validate(self, attrs: Attributes, user: User, warnings: list[str]) -> None:
        # Read, never changed: the stored objects themselves, not copies.
        with self._store.lock:
            policies = self._store.shared(VALIDATING_ADMISSION_POLICIES.resource)
            bindings = self._store.shared(VALIDATING_ADMISSION_POLICY_BINDINGS.resource)
            namespace = (
                self._store.shared_object(NAMESPACES.resource, "", attrs.namespace)
                if attrs.namespace and attrs.kind is not NAMESPACES
                else None
            )
        if not policies or not bindings:
            return
        variables = activation(
            {
                "object": attrs.object,
                "oldObject": attrs.old_object,
                "request": _request(attrs, user),
                "params": None,
                "namespaceObject": _namespace_object(namespace),
                "variables": {},
            }
        )
        denials: list[tuple[str, str, str, str]] = []  # policy, binding, reason, message
        for policy in policies:
            spec = policy["spec"]
            if not self._matches(spec.get("matchConstraints"), attrs, namespace):
                continue
            own = [b for b in bindings if b["spec"].get("policyName") == policy["metadata"]["name"]]
            for binding in own:
                resources = binding["spec"].get("matchResources")
                if resources is not None and not self._matches(resources, attrs, namespace):
                    continue
                for reason, message in _denials(spec, variables):
                    actions = binding["spec"].get("validationActions") or []
                    names = (policy["metadata"]["name"], binding["metadata"]["name"])
                    if "Deny" in actions:
                        denials.append((*names, reason, message))
                    if "Warn" in actions:
                        warnings.append(
                            f"Validation failed for ValidatingAdmissionPolicy '{names[0]}' "
                            f"with binding '{names[1]}': {message}"
                        )
        if denials:
            raise _refusal(attrs, *denials[0])

    def _matches(
        self, match: Mapping[str, Any] | None, attrs: Attributes, namespace: dict[str, Any] | None
    ) -> bool:
        if not match:
            return True
        rules = match.get("resourceRules")
        if rules is not None and not any(_rule_matches(rule, attrs) for rule in rules):
            return False
        if any(_rule_matches(rule, attrs) for rule in match.get("excludeResourceRules") or []):
            return False
        if not self._namespace_selected(match.get("namespaceSelector") or {}, attrs, namespace):
            return False
        selector = match.get("objectSelector") or {}
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            return True
        return any(
            labels is not None and _selected(selector, labels)
            for labels in (_labels(attrs.object), _labels(attrs.old_object))
        )

    @staticmethod
    def _namespace_selected(
        selector: Mapping[str, Any], attrs: Attributes, namespace: dict[str, Any] | None
    ) -> bool:
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            return True
        if attrs.kind is NAMESPACES:
            labels = _labels(attrs.object) or _labels(attrs.old_object) or {}
        elif not attrs.namespace:
            return True  # cluster-scoped resources are never exempted
        else:
            labels = _labels(namespace) or {}
        return _selected(selector, labels)


def _evaluation_error(source: str, error: CelError) -> str:
    return f"expression '{source}' resulted in error: {error}"


def _match_conditions(spec: Mapping[str, Any], variables: Any) -> str | None:
    """None when every matchCondition holds; "" when one is false; else the error text."""
    errors = []
    for condition in spec.get("matchConditions") or []:
        source = condition["expression"]
        try:
            value = evaluate(compile_expression(source), variables)
        except CelError as error:
            errors.append(_evaluation_error(source, error))
            continue
        if value is False:
            return ""
    if not errors:
        return None
    return errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"


def _denials(spec: Mapping[str, Any], variables: Any) -> list[tuple[str, str]]:
    """(reason, message) of each validation that denies the request."""
    fail = spec.get("failurePolicy", "Fail") == "Fail"
    condition_error = _match_conditions(spec, variables)
    if condition_error == "":
        return []
    if condition_error is not None:
        return [("Invalid", condition_error)] if fail else []
    denials = []
    for validation in spec.get("validations") or []:
        source = validation["expression"]
        try:
            value = evaluate(compile_expression(source), variables)
        except CelError as error:
            if fail:
                denials.append(("Invalid", _evaluation_error(source, error)))
            continue
        if value is True:
            continue
        denials.append((validation.get("reason") or "Invalid", _message(validation, variables)))
    return denials


def _message(validation: Mapping[str, Any], variables: Any) -> str:
    """messageExpression if it yields a one-line string, else message, else the expression."""
    if validation.get("messageExpression"):
        try:
            value = evaluate(
                compile_expression(validation["messageExpression"], "string"), variables
            )
        except CelError:
            value = None
        if isinstance(value, str) and value.strip() and "\n" not in value.strip():
            return value.strip()
    if (validation.get("message") or "").strip():
        return validation["message"].strip()
    return f"failed expression: {validation['expression'].strip()}"


def _refusal(attrs: Attributes, policy: str, binding: str, reason: str, message: str) -> ApiError:
    """admission.NewForbidden with the denial's reason and its code."""
    text = (
        f"ValidatingAdmissionPolicy '{policy}' with binding '{binding}' denied request: {message}"
    )
    name = attrs.name
    if not name:
        meta = (attrs.object or {}).get("metadata") or {}
        name = meta.get("name") or meta.get("generateName") or "Unknown"
    error = forbidden(attrs.kind.plural, name, text, attrs.kind.group, causes=[{"message": text}])
    error.reason = reason
    error.code = _REASON_CODES.get(reason, 422)
    return error


def _user_info(user: User) -> dict[str, Any]:
    """authenticationv1.UserInfo as the authenticator fills it for a bearer token."""
    groups = ["system:authenticated"]
    parts = user.name.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{parts[2]}", *groups]
    return {"username": user.name, "groups": groups}


def _request(attrs: Attributes, user: User) -> dict[str, Any]:
    """admissionv1.AdmissionRequest as CEL sees it: JSON-shaped, so empty ``omitempty``
    fields (``name`` on a generated create, ``namespace`` of a cluster-scoped resource,
    ``subResource``) are absent, not empty strings."""
    kind = attrs.kind
    group, version, object_kind = attrs.object_kind or (kind.group, kind.version, kind.kind)
    gvk = {"group": group, "version": version, "kind": object_kind}
    gvr = {"group": kind.group, "version": kind.version, "resource": kind.plural}
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk,
        "resource": gvr,
        "requestKind": dict(gvk),
        "requestResource": dict(gvr),
        "operation": attrs.operation,
        "userInfo": _user_info(user),
        "dryRun": attrs.dry_run,
        "options": None,
    }
    for key, value in (
        ("subResource", attrs.subresource),
        ("requestSubResource", attrs.subresource),
        ("name", attrs.name),
        ("namespace", attrs.namespace),
    ):
        if value:
            request[key] = value
    return request


def _namespace_object(namespace: dict[str, Any] | None) -> dict[str, Any] | None:
    """cel.CreateNamespaceObject: the namespace without its managed fields."""
    if namespace is None:
        return None
    keep = (
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "finalizers",
    )
    meta = {k: v for k, v in namespace["metadata"].items() if k in keep}
    return {"metadata": meta, "spec": namespace.get("spec", {}), "status": namespace["status"]}
