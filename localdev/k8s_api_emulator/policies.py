"""Strategies of ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
(admissionregistration.k8s.io/v1): their defaults and the part of their validation the
emulator needs, CEL compilation included, as a real server refuses a policy that does not
compile. What the emulator cannot enforce (``paramKind``/``paramRef``, ``variables``,
``auditAnnotations``) is refused too, so a policy is never accepted and then ignored."""

from __future__ import annotations

from typing import Any

from .cel_expressions import CelError, compile_expression
from .status import FieldError
from .strategy import Strategy

OPERATIONS = ("*", "CREATE", "UPDATE", "DELETE", "CONNECT")
REASONS = ("Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge")
VALIDATION_ACTIONS = ("Deny", "Warn", "Audit")
_UNSUPPORTED = "not supported by k8s-api-emulator"


def _expression_errors(field: str, source: Any, result: str = "bool") -> list[FieldError]:
    if not isinstance(source, str) or not source.strip():
        return [FieldError.required(field)]
    try:
        compile_expression(source, result)
    except CelError as error:
        return [FieldError.invalid(field, source, f"compilation failed: {error}")]
    return []


def _rules_errors(field: str, match: Any, required: bool) -> list[FieldError]:
    if match is None and not required:
        return []
    if not isinstance(match, dict):
        return [FieldError.required(field)]
    errors = []
    if required and not match.get("resourceRules"):
        errors.append(FieldError.required(f"{field}.resourceRules"))
    for part in ("resourceRules", "excludeResourceRules"):
        for index, rule in enumerate(match.get(part) or []):
            operations = rule.get("operations") or []
            if not operations:
                errors.append(FieldError.required(f"{field}.{part}[{index}].operations"))
            errors += [
                FieldError.not_supported(
                    f"{field}.{part}[{index}].operations", op, list(OPERATIONS)
                )
                for op in operations
                if op not in OPERATIONS
            ]
            if not rule.get("resources"):
                errors.append(FieldError.required(f"{field}.{part}[{index}].resources"))
    return errors


def default_match(match: Any) -> None:
    """SetDefaults_MatchResources and SetDefaults_Rule."""
    if not isinstance(match, dict):
        return
    match.setdefault("matchPolicy", "Equivalent")
    match.setdefault("namespaceSelector", {})
    match.setdefault("objectSelector", {})
    for part in ("resourceRules", "excludeResourceRules"):
        for rule in match.get(part) or []:
            if isinstance(rule, dict):
                rule.setdefault("scope", "*")


class ValidatingAdmissionPolicyStrategy(Strategy):
    status_subresource = True
    tracks_generation = True

    def default(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("failurePolicy", "Fail")
        default_match(spec.get("matchConstraints"))

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errors = [
            FieldError.forbidden(f"spec.{key}", _UNSUPPORTED)
            for key in ("paramKind", "variables", "auditAnnotations")
            if spec.get(key)
        ]
        if spec.get("failurePolicy") not in ("Fail", "Ignore"):
            errors.append(
                FieldError.not_supported(
                    "spec.failurePolicy", spec.get("failurePolicy"), ["Fail", "Ignore"]
                )
            )
        errors += _rules_errors("spec.matchConstraints", spec.get("matchConstraints"), True)
        for index, condition in enumerate(spec.get("matchConditions") or []):
            field = f"spec.matchConditions[{index}]"
            if not condition.get("name"):
                errors.append(FieldError.required(f"{field}.name"))
            errors += _expression_errors(f"{field}.expression", condition.get("expression"))
        validations = spec.get("validations") or []
        if not validations:
            errors.append(
                FieldError.required(
                    "spec.validations",
                    "validations or auditAnnotations must contain at least one item",
                )
            )
        for index, validation in enumerate(validations):
            field = f"spec.validations[{index}]"
            errors += _expression_errors(f"{field}.expression", validation.get("expression"))
            if validation.get("messageExpression"):
                errors += _expression_errors(
                    f"{field}.messageExpression", validation["messageExpression"], "string"
                )
            if "\n" in (validation.get("message") or ""):
                errors.append(
                    FieldError.invalid(
                        f"{field}.message",
                        validation["message"],
                        "message must not contain line breaks",
                    )
                )
            reason = validation.get("reason")
            if reason is not None and reason not in REASONS:
                errors.append(FieldError.not_supported(f"{field}.reason", reason, list(REASONS)))
        return errors


class ValidatingAdmissionPolicyBindingStrategy(Strategy):
    tracks_generation = True

    def default(self, obj: dict[str, Any]) -> None:
        default_match((obj.get("spec") or {}).get("matchResources"))

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        spec = obj.get("spec") or {}
        errors = []
        if not spec.get("policyName"):
            errors.append(FieldError.required("spec.policyName"))
        if spec.get("paramRef"):
            errors.append(FieldError.forbidden("spec.paramRef", _UNSUPPORTED))
        actions = spec.get("validationActions") or []
        if not actions:
            errors.append(FieldError.required("spec.validationActions"))
        errors += [
            FieldError.not_supported("spec.validationActions", action, list(VALIDATION_ACTIONS))
            for action in actions
            if action not in VALIDATION_ACTIONS
        ]
        if "Deny" in actions and "Warn" in actions:
            errors.append(
                FieldError.invalid(
                    "spec.validationActions", actions, "must not contain both Deny and Warn"
                )
            )
        errors += _rules_errors("spec.matchResources", spec.get("matchResources"), False)
        return errors
