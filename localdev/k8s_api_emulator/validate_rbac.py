"""Role, ClusterRole, RoleBinding and ClusterRoleBinding (rbac.authorization.k8s.io/v1)
checked as the API server checks them: kubernetes/kubernetes
pkg/apis/rbac/validation/validation.go (each function named below), after the decoder's
shape check (json_shapes.py) and pkg/apis/rbac/v1/defaults.go.

The emulator does not serve these kinds: it reads them from RBAC files (rbacfile.py), which
``check_document`` holds to what ``kubectl apply`` of the same file would meet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import json_shapes
from .codec import decode
from .json_shapes import LABEL_SELECTOR, STRING, STRINGS, Body, Shape, list_of, struct
from .kinds import ResourceKind
from .status import FieldError, invalid
from .strategy import Strategy
from .validate_common import has_invalid_label_values, label_selector_errors
from .validation import dns1123_subdomain, path_segment_name

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
SUBJECT_KINDS = ["ServiceAccount", "User", "Group"]

_POLICY_RULE = struct(
    "v1.PolicyRule",
    verbs=STRINGS,
    apiGroups=STRINGS,
    resources=STRINGS,
    resourceNames=STRINGS,
    nonResourceURLs=STRINGS,
)
_SUBJECT = struct("v1.Subject", kind=STRING, apiGroup=STRING, name=STRING, namespace=STRING)
_ROLE_REF = struct("v1.RoleRef", apiGroup=STRING, kind=STRING, name=STRING)


def _binding_shape(kind: str) -> Shape:
    return struct(kind, subjects=list_of(_SUBJECT), roleRef=_ROLE_REF)


@dataclass(frozen=True)
class _GoStrings:
    """A []string as field.Error prints a bad value (%#v)."""

    items: tuple[str, ...]

    def __str__(self) -> str:
        return "[]string{" + ", ".join(f'"{item}"' for item in self.items) + "}"


@dataclass(frozen=True)
class _GoRoleRef:
    """An rbac.RoleRef as field.Error prints a bad value (%#v)."""

    api_group: str
    kind: str
    name: str

    def __str__(self) -> str:
        return (
            f'rbac.RoleRef{{APIGroup:"{self.api_group}", Kind:"{self.kind}", Name:"{self.name}"}}'
        )


def policy_rule_errors(rule: Mapping[str, Any], namespaced: bool, field: str) -> list[FieldError]:
    """ValidatePolicyRule."""
    errors = []
    if not rule.get("verbs"):
        errors.append(
            FieldError.required(f"{field}.verbs", "verbs must contain at least one value")
        )
    urls = rule.get("nonResourceURLs") or []
    if urls:
        value = _GoStrings(tuple(urls))
        if namespaced:
            detail = "namespaced rules cannot apply to non-resource URLs"
            errors.append(FieldError.invalid(f"{field}.nonResourceURLs", value, detail))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            detail = "rules cannot apply to both regular resources and non-resource URLs"
            errors.append(FieldError.invalid(f"{field}.nonResourceURLs", value, detail))
        return errors
    if not rule.get("apiGroups"):
        detail = "resource rules must supply at least one api group"
        errors.append(FieldError.required(f"{field}.apiGroups", detail))
    if not rule.get("resources"):
        detail = "resource rules must supply at least one resource"
        errors.append(FieldError.required(f"{field}.resources", detail))
    return errors


def _rules_errors(obj: Mapping[str, Any], namespaced: bool) -> list[FieldError]:
    errors = []
    for index, rule in enumerate(obj.get("rules") or []):
        errors += policy_rule_errors(rule, namespaced, f"rules[{index}]")
    return errors


# Typed reads of a ClusterRole; its JSON shape is checked before validation, so never refused.
_CLUSTER_ROLE = Body("ClusterRole", f"{GROUP}/v1")


def _aggregation_errors(obj: Mapping[str, Any], allow_invalid_values: bool) -> list[FieldError]:
    """ValidateClusterRole's aggregationRule."""
    rule = obj.get("aggregationRule")
    if rule is None:
        return []
    field = "aggregationRule.clusterRoleSelectors"
    selectors = rule.get("clusterRoleSelectors") or []
    errors = []
    if not selectors:
        detail = "at least one clusterRoleSelector required if aggregationRule is non-nil"
        errors.append(FieldError.required(field, detail))
    for index, selector in enumerate(selectors):
        errors += label_selector_errors(
            _CLUSTER_ROLE, selector, f"{field}[{index}]", allow_invalid_values
        )
    return errors


def subject_errors(subject: Mapping[str, Any], namespaced: bool, field: str) -> list[FieldError]:
    """ValidateRoleBindingSubject."""
    errors = []
    name = subject.get("name") or ""
    group = subject.get("apiGroup") or ""
    if not name:
        errors.append(FieldError.required(f"{field}.name"))
    kind = subject.get("kind") or ""
    if kind == "ServiceAccount":
        if name:
            errors += [
                FieldError.invalid(f"{field}.name", name, problem)
                for problem in dns1123_subdomain(name)
            ]
        if group:
            errors.append(FieldError.not_supported(f"{field}.apiGroup", group, [""]))
        if not namespaced and not subject.get("namespace"):
            errors.append(FieldError.required(f"{field}.namespace"))
    elif kind in ("User", "Group"):
        if group != GROUP:
            errors.append(FieldError.not_supported(f"{field}.apiGroup", group, [GROUP]))
    else:
        errors.append(FieldError.not_supported(f"{field}.kind", kind, SUBJECT_KINDS))
    return errors


def _role_ref(obj: Mapping[str, Any]) -> _GoRoleRef:
    ref = obj.get("roleRef") or {}
    return _GoRoleRef(ref.get("apiGroup") or "", ref.get("kind") or "", ref.get("name") or "")


def binding_errors(obj: Mapping[str, Any], role_kinds: Sequence[str]) -> list[FieldError]:
    """ValidateRoleBinding (``role_kinds`` Role and ClusterRole) and ValidateClusterRoleBinding
    (ClusterRole only)."""
    errors = []
    ref = _role_ref(obj)
    if ref.api_group != GROUP:
        errors.append(FieldError.not_supported("roleRef.apiGroup", ref.api_group, [GROUP]))
    if ref.kind not in role_kinds:
        errors.append(FieldError.not_supported("roleRef.kind", ref.kind, list(role_kinds)))
    if not ref.name:
        errors.append(FieldError.required("roleRef.name"))
    else:
        errors += [
            FieldError.invalid("roleRef.name", ref.name, problem)
            for problem in path_segment_name(ref.name)
        ]
    namespaced = "Role" in role_kinds
    for index, subject in enumerate(obj.get("subjects") or []):
        errors += subject_errors(subject, namespaced, f"subjects[{index}]")
    return errors


def _default_binding(obj: dict[str, Any]) -> None:
    """SetDefaults_RoleBinding, SetDefaults_ClusterRoleBinding and SetDefaults_Subject."""
    if obj.get("roleRef") is None:  # a struct, not a pointer: null decodes to its zero value
        obj["roleRef"] = {}
    if not obj["roleRef"].get("apiGroup"):
        obj["roleRef"]["apiGroup"] = GROUP
    for subject in obj.get("subjects") or []:
        if not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = GROUP


class _RbacStrategy(Strategy):
    """What every RBAC kind shares: names are path segments (ValidateRBACName)."""

    kind = ""
    shape: Shape = struct("")
    name_rule: Callable[[str], list[str]] = staticmethod(path_segment_name)

    def default(self, obj: dict[str, Any]) -> None:
        json_shapes.check(self.kind, obj, self.shape)


class RoleStrategy(_RbacStrategy):
    kind = "Role"
    shape = struct("Role", rules=list_of(_POLICY_RULE))

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        """ValidateRole."""
        return _rules_errors(obj, namespaced=True)


class ClusterRoleStrategy(_RbacStrategy):
    kind = "ClusterRole"
    shape = struct(
        "ClusterRole",
        rules=list_of(_POLICY_RULE),
        aggregationRule=struct("v1.AggregationRule", clusterRoleSelectors=list_of(LABEL_SELECTOR)),
    )

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        """ValidateClusterRole."""
        return _rules_errors(obj, namespaced=False) + _aggregation_errors(obj, False)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        """ValidateClusterRoleUpdate: selector values the stored role already has may stay."""
        stored = (old.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
        allow = any(has_invalid_label_values(selector) for selector in stored)
        return _rules_errors(new, namespaced=False) + _aggregation_errors(new, allow)


class _BindingStrategy(_RbacStrategy):
    role_kinds: tuple[str, ...] = ()

    def default(self, obj: dict[str, Any]) -> None:
        super().default(obj)
        _default_binding(obj)

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return binding_errors(obj, self.role_kinds)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        """ValidateRoleBindingUpdate / ValidateClusterRoleBindingUpdate."""
        errors = self.validate(new)
        if _role_ref(new) != _role_ref(old):
            errors.append(FieldError.invalid("roleRef", _role_ref(new), "cannot change roleRef"))
        return errors


class RoleBindingStrategy(_BindingStrategy):
    kind = "RoleBinding"
    shape = _binding_shape("RoleBinding")
    role_kinds = ("Role", "ClusterRole")


class ClusterRoleBindingStrategy(_BindingStrategy):
    kind = "ClusterRoleBinding"
    shape = _binding_shape("ClusterRoleBinding")
    role_kinds = ("ClusterRole",)


# Not served (kinds.py): the ResourceKinds the decoder and the API layer's checks need.
KINDS = {
    kind.kind: kind
    for kind in (
        ResourceKind(GROUP, "v1", "roles", "Role", True, "role", strategy=RoleStrategy()),
        ResourceKind(
            GROUP,
            "v1",
            "clusterroles",
            "ClusterRole",
            False,
            "clusterrole",
            strategy=ClusterRoleStrategy(),
        ),
        ResourceKind(
            GROUP,
            "v1",
            "rolebindings",
            "RoleBinding",
            True,
            "rolebinding",
            strategy=RoleBindingStrategy(),
        ),
        ResourceKind(
            GROUP,
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            False,
            "clusterrolebinding",
            strategy=ClusterRoleBindingStrategy(),
        ),
    )
}


def check_document(document: Mapping[str, Any]) -> None:
    """Check ``document`` (a Role, ClusterRole or binding) as a create of it would be
    checked; raises the ApiError the API server would answer (400 undecodable, 422
    invalid)."""
    kind = KINDS[document.get("kind") or ""]
    obj = decode(kind, dict(document))
    # ValidateObjectMeta with ValidateRBACName (a namespace comes from kubectl's context)
    errors = kind.strategy.create_errors(obj)
    if errors:
        raise invalid(kind.kind, obj["metadata"].get("name") or "", errors, GROUP)
