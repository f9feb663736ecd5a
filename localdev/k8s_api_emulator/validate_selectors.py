"""Label selectors in API objects, checked as k8s.io/apimachinery/pkg/apis/meta/v1/validation
(ValidateLabelSelector) checks them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .status import FieldError
from .validation import label_value, qualified_name


def _label_name_errors(name: str, field: str) -> list[FieldError]:
    """ValidateLabelName."""
    return [FieldError.invalid(field, name, problem) for problem in qualified_name(name)]


def label_selector_errors(
    selector: Mapping[str, Any] | None, field: str, allow_invalid_values: bool = False
) -> list[FieldError]:
    """ValidateLabelSelector with LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector};
    labels in sorted key order (Go's map order is random)."""
    if selector is None:
        return []
    errors = []
    labels = f"{field}.matchLabels"
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        errors += _label_name_errors(key, labels)
        errors += [FieldError.invalid(labels, value, p) for p in label_value(value or "")]
    for index, requirement in enumerate(selector.get("matchExpressions") or []):
        errors += _requirement_errors(
            requirement, f"{field}.matchExpressions[{index}]", allow_invalid_values
        )
    return errors


def _requirement_errors(
    requirement: Mapping[str, Any], field: str, allow_invalid_values: bool
) -> list[FieldError]:
    """ValidateLabelSelectorRequirement."""
    errors = []
    operator = requirement.get("operator") or ""
    values = requirement.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(
                FieldError.required(
                    f"{field}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(
                FieldError.forbidden(
                    f"{field}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    else:
        errors.append(
            FieldError.invalid(f"{field}.operator", operator, "not a valid selector operator")
        )
    errors += _label_name_errors(requirement.get("key") or "", f"{field}.key")
    if not allow_invalid_values:
        for index, value in enumerate(values):
            errors += [
                FieldError.invalid(f"{field}.values[{index}]", value, problem)
                for problem in label_value(value)
            ]
    return errors


def has_invalid_label_values(selector: Mapping[str, Any] | None) -> bool:
    """Whether a stored selector already holds values that are not label values: an update
    may keep them (the ratcheting of the *HasInvalidLabelValueInSelector helpers)."""
    requirements = (selector or {}).get("matchExpressions") or []
    return any(label_value(v) for r in requirements for v in r.get("values") or [])
