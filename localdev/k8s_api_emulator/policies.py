"""Strategies of ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
(admissionregistration.k8s.io/v1): the decoder's shape check, their defaults, and the API
server's validation (validate_admissionregistration.py). What the emulator's admission
cannot enforce (``paramKind``/``paramRef``, ``variables``, ``auditAnnotations``) is refused
too, so a policy is never accepted and then ignored."""

from __future__ import annotations

from typing import Any

from . import json_shapes
from .status import FieldError
from .strategy import Strategy
from .validate_admissionregistration import (
    BINDING_SHAPE,
    POLICY_SHAPE,
    binding_errors,
    policy_errors,
)

_UNSUPPORTED = "not supported by k8s-api-emulator"


def _unsupported(spec: dict[str, Any], *keys: str) -> list[FieldError]:
    return [FieldError.forbidden(f"spec.{key}", _UNSUPPORTED) for key in keys if spec.get(key)]


def _default(obj: dict[str, Any], key: str, value: Any) -> None:
    """A nil pointer (absent or JSON null) gets its default."""
    if obj.get(key) is None:
        obj[key] = value


def default_match(match: Any) -> None:
    """SetDefaults_MatchResources and SetDefaults_Rule (pkg/apis/admissionregistration/v1)."""
    if not isinstance(match, dict):
        return
    _default(match, "matchPolicy", "Equivalent")
    _default(match, "namespaceSelector", {})
    _default(match, "objectSelector", {})
    for part in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(part) or []:
            _default(rule, "scope", "*")


class ValidatingAdmissionPolicyStrategy(Strategy):
    status_subresource = True
    tracks_generation = True

    def default(self, obj: dict[str, Any]) -> None:
        json_shapes.check("ValidatingAdmissionPolicy", obj, POLICY_SHAPE)
        spec = obj.setdefault("spec", {})
        _default(spec, "failurePolicy", "Fail")  # SetDefaults_ValidatingAdmissionPolicySpec
        default_match(spec.get("matchConstraints"))

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        spec = obj.get("spec") or {}
        unsupported = _unsupported(spec, "paramKind", "variables", "auditAnnotations")
        return policy_errors(obj) + unsupported

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        spec = new.get("spec") or {}
        unsupported = _unsupported(spec, "paramKind", "variables", "auditAnnotations")
        return policy_errors(new, old) + unsupported


class ValidatingAdmissionPolicyBindingStrategy(Strategy):
    tracks_generation = True

    def default(self, obj: dict[str, Any]) -> None:
        json_shapes.check("ValidatingAdmissionPolicyBinding", obj, BINDING_SHAPE)
        default_match((obj.get("spec") or {}).get("matchResources"))

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        return binding_errors(obj) + _unsupported(obj.get("spec") or {}, "paramRef")
