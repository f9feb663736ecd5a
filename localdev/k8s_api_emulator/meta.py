"""ObjectMeta rules every kind shares (ValidateObjectMeta / ValidateObjectMetaUpdate), and the
helpers other modules use to read metadata: owner references and label selectors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .selectors import Requirement
from .status import FieldError, bad_request
from .validate_common import label_errors
from .validation import qualified_name

_OWNER_FIELDS = (
    ("apiVersion", "version must not be empty"),
    ("kind", "kind must not be empty"),
    ("name", "name must not be empty"),
    ("uid", "uid must not be empty"),
)
# TotalAnnotationSizeLimitB: 256 KiB of keys and values.
TOTAL_ANNOTATION_SIZE = 256 * 1024
# metav1.LabelSelectorOperator -> the labels package's operator.
_SELECTOR_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def validate_metadata(meta: Mapping[str, Any]) -> list[FieldError]:
    """Labels, annotations, owner references and finalizers, in upstream's order (keys
    sorted, as Go's map order is random anyway): validateObjectMetaAccessorWithOptsCommon in
    k8s.io/apimachinery/pkg/api/validation/objectmeta.go, which rest.BeforeCreate runs for
    every kind."""
    errors = label_errors(meta.get("labels") or {}, "metadata.labels")
    annotations = meta.get("annotations") or {}
    for key in sorted(annotations):
        errors += [
            FieldError.invalid("metadata.annotations", key, problem)
            for problem in qualified_name(key.lower())
        ]
    # ValidateAnnotationsSize: keys and values together, in bytes.
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        errors.append(FieldError.too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE))
    references = meta.get("ownerReferences") or []
    for ref in references:
        for name, detail in _OWNER_FIELDS:
            value = ref.get(name) if isinstance(ref, dict) else None
            if not value:
                field = f"metadata.ownerReferences.{name}"
                errors.append(FieldError.invalid(field, value or "", detail))
    errors += _controller_errors(references)
    return errors + finalizer_errors(meta.get("finalizers"))


def _controller_errors(references: list[Any]) -> list[FieldError]:
    """ValidateOwnerReferences: at most one reference with `controller: true`. (Go prints
    the whole list as the value, %#v; it is abbreviated here.)"""
    errors, first = [], ""
    for ref in references:
        if not isinstance(ref, dict) or ref.get("controller") is not True:
            continue
        current = f"{ref.get('kind')}/{ref.get('name')}"
        if not first:
            first = current
            continue
        errors.append(
            FieldError.invalid_rendered(
                "metadata.ownerReferences",
                "[]v1.OwnerReference{...}",
                'Only one reference can have Controller set to true. Found "true" in '
                f"references for {first} and {current}",
            )
        )
    return errors


def finalizer_errors(finalizers: Any) -> list[FieldError]:
    """ValidateFinalizers: qualified names, and not both orphan and foregroundDeletion."""
    if not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers):
        if finalizers is None:
            return []
        raise bad_request("metadata.finalizers: expected a list of strings")
    errors = [
        FieldError.invalid("metadata.finalizers", name, problem)
        for name in finalizers
        for problem in qualified_name(name)
    ]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errors.append(
            FieldError.invalid(
                "metadata.finalizers",
                finalizers,
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return errors


def validate_metadata_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """ValidateObjectMetaUpdate: what BeforeUpdate has not already copied from ``old``."""
    errors = validate_metadata(new)
    if new.get("uid") != old.get("uid"):
        errors.append(FieldError.invalid("metadata.uid", new.get("uid"), "field is immutable"))
    return errors


def controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """metav1.GetControllerOf: the owner reference with ``controller: true``."""
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def owner_reference(owner: Mapping[str, Any]) -> dict[str, Any]:
    """The controller reference a controller puts on what it creates (NewControllerRef)."""
    meta = owner["metadata"]
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def label_selector(selector: Mapping[str, Any] | None) -> Callable[[Mapping[str, str]], bool]:
    """metav1.LabelSelectorAsSelector as a predicate; raises ValueError on an unknown operator.

    A missing selector matches nothing and an empty one everything, as upstream converts them.
    """
    if selector is None:
        return lambda labels: False
    requirements = [
        Requirement(key, "=", frozenset({value}))
        for key, value in (selector.get("matchLabels") or {}).items()
    ]
    for expression in selector.get("matchExpressions") or []:
        operator = _SELECTOR_OPERATORS.get(expression.get("operator", ""))
        if operator is None:
            raise ValueError(f"{expression.get('operator')!r} is not a valid selector operator")
        values = frozenset(expression.get("values") or ())
        requirements.append(Requirement(expression.get("key", ""), operator, values))
    return lambda labels: all(r.matches(labels) for r in requirements)


def is_empty_selector(selector: Mapping[str, Any] | None) -> bool:
    return not selector or not (selector.get("matchLabels") or selector.get("matchExpressions"))
