"""The JSON shapes of API types, as the API server's decoder checks them.

A field of the wrong JSON type (a string where a list belongs, a number where a string
does) makes a body undecodable: Go's ``encoding/json`` (sigs.k8s.io/json in
k8s.io/apimachinery/pkg/runtime/serializer/json) fails before defaulting or validation,
and the request gets 400 BadRequest, never 422 and never a 500. Unknown fields and
``null`` pass, as Go's decoder drops or zeroes them.

Only the fields of strings, lists, maps and structs that the emulator's kinds need are
described; numbers and booleans are not (the kinds described here have none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .status import bad_request


@dataclass(frozen=True)
class Shape:
    go: str  # the Go type, as the decoder's error names it: "[]string", "v1.Rule"
    json: str  # the JSON type it decodes from: "string", "array" or "object"
    items: Shape | None = None  # of a list or a map
    fields: Mapping[str, Shape] = field(default_factory=dict)  # of a struct


STRING = Shape("string", "string")


def list_of(item: Shape) -> Shape:
    return Shape("[]" + item.go, "array", items=item)


def map_of(item: Shape) -> Shape:
    return Shape("map[string]" + item.go, "object", items=item)


def struct(go: str, **fields: Shape) -> Shape:
    return Shape(go, "object", fields=fields)


STRINGS = list_of(STRING)
# metav1.LabelSelector
LABEL_SELECTOR = struct(
    "v1.LabelSelector",
    matchLabels=map_of(STRING),
    matchExpressions=list_of(
        struct("v1.LabelSelectorRequirement", key=STRING, operator=STRING, values=STRINGS)
    ),
)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _mismatch(value: Any, shape: Shape, owner: str, path: str) -> str | None:
    """The decoder's complaint about the first value not of its shape, or None."""
    if value is None:
        return None
    found = _json_type(value)
    if found != shape.json:
        return (
            f"json: cannot unmarshal {found} into Go struct field {owner}.{path} of type {shape.go}"
        )
    if shape.fields:
        name = shape.go.rpartition(".")[2]
        for key, field_shape in shape.fields.items():
            if key in value:
                child = f"{path}.{key}" if path else key
                if problem := _mismatch(value[key], field_shape, name, child):
                    return problem
    elif shape.items is not None:
        keys = range(len(value)) if isinstance(value, list) else list(value)
        for key in keys:
            if value[key] is None:  # a null item decodes to its type's zero value
                value[key] = {} if shape.items.fields else ""
            elif problem := _mismatch(value[key], shape.items, owner, path):
                return problem
    return None


def check(kind: str, obj: dict[str, Any], shape: Shape) -> None:
    """Raise the API server's 400 if a field of ``obj`` (a ``kind``) is not of ``shape``;
    null items of lists and maps become their zero value ("" or {}), as Go decodes them."""
    if problem := _mismatch(obj, shape, kind, ""):
        raise bad_request(f'{kind} in version "v1" cannot be handled as a {kind}: {problem}')
