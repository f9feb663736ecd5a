"""The JSON shapes of API types, as the API server's decoder checks them.

A field of the wrong JSON type (a string where a list belongs, a number where a string
does) makes a body undecodable: Go's ``encoding/json`` (sigs.k8s.io/json in
k8s.io/apimachinery/pkg/runtime/serializer/json) fails before defaulting or validation,
and the request gets 400 BadRequest, never 422 and never a 500. Unknown fields and
``null`` pass, as Go's decoder drops or zeroes them.

Two ways to the same 400, one message: ``check`` compares a whole object with a declared
``Shape`` before validation, as the decoder does (kinds whose validators read fields
plainly); ``Body`` reads one field at a time with its Go type (kinds whose validators read
through it). Shapes describe strings, lists, maps and structs; ``Body`` also reads integers
and booleans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .status import ApiError, bad_request


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
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def decode_error(
    kind: str, api_version: str, found: str, owner: str, path: str, go_type: str
) -> ApiError:
    """The API server's 400 for a value the decoder cannot put in its Go field.

    UnmarshalTypeError.Error (sigs.k8s.io/json, internal/golang/encoding/json/decode.go):
    ``owner`` is the innermost Go struct holding the field, ``path`` the field names from
    the root (no list indices or map keys), ``found`` the JSON value's kind ("string",
    "number", or "number 1.5" for a number that is no integer of the field's size).
    """
    version = api_version.rpartition("/")[2]
    return bad_request(
        f'{kind} in version "{version}" cannot be handled as a {kind}: json: cannot '
        f"unmarshal {found} into Go struct field {owner}.{path} of type {go_type}"
    )


def _mismatch(value: Any, shape: Shape, owner: str, path: str) -> tuple[str, str, str, str] | None:
    """(found, owner, path, Go type) of the first value not of its shape, or None."""
    if value is None:
        return None
    found = _json_type(value)
    if found != shape.json:
        return found, owner, path, shape.go
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


def check(kind: str, obj: dict[str, Any], shape: Shape, api_version: str = "v1") -> None:
    """Raise the API server's 400 if a field of ``obj`` (a ``kind``) is not of ``shape``;
    null items of lists and maps become their zero value ("" or {}), as Go decodes them."""
    if problem := _mismatch(obj, shape, kind, ""):
        raise decode_error(kind, api_version, *problem)


# A list index or map key in a path as validators write it: Go's field path has neither.
_INDEX = re.compile(r"\[[^\]]*\]")


class Body:
    """Typed reads of a decoded object of ``kind``, raising the decoder's 400 on a JSON type
    Go's unmarshalling refuses. The error names ``kind`` as the struct holding the field,
    where Go names the innermost one (a message's wording, never its status)."""

    def __init__(self, kind: str, api_version: str) -> None:
        self._kind = kind
        self._version = api_version

    def _refuse(self, value: Any, path: str, go_type: str, found: str = "") -> ApiError:
        found = found or _json_type(value)
        field_path = _INDEX.sub("", path)
        return decode_error(self._kind, self._version, found, self._kind, field_path, go_type)

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._refuse(value, path, "struct")
        return value

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._refuse(value, path, "slice")
        return value

    def string(self, value: Any, path: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._refuse(value, path, "string")
        return value

    def strings(self, value: Any, path: str) -> list[str]:
        return [self.string(item, path) for item in self.items(value, path)]

    def string_map(self, value: Any, path: str) -> dict[str, str]:
        """A map[string]string; a JSON null value decodes as "" in Go, and is stored so."""
        mapping = self.mapping(value, path)
        for key, item in mapping.items():
            mapping[key] = self.string(item, path)
        return mapping

    def integer(self, value: Any, path: str, bits: int = 32) -> int | None:
        """An int32/int64 field; None when absent (a nil pointer)."""
        if value is None:
            return None
        go_type = f"int{bits}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._refuse(value, path, go_type)
        # A fraction or an overflow: Go's decoder quotes the number (literalStore).
        if not isinstance(value, int) or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise self._refuse(value, path, go_type, found=f"number {value}")
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self._refuse(value, path, "bool")
        return value
