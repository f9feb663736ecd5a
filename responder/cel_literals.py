"""Kubernetes' cel.HomogeneousAggregateLiterals, which cel-expr-python does not apply.

The API server compiles admission CEL with that option (k8s.io/apiserver/pkg/admission/
plugin/cel/compile.go, buildBaseEnv): the elements of a list literal, and the keys and the
values of a map literal, must be of one type (dyn goes with any), or the expression does
not compile (cel-go checker.go, checkCreateList/checkCreateStruct and joinTypes: "expected
type ... but found ..."). The check reads the checked AST cel-expr-python serializes
(cel.expr.CheckedExpr in an Any), decoded with the few fields of cel-spec's syntax.proto
and checked.proto it needs (unknown fields are skipped).
"""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_CHECKED_EXPR_URL = "type.googleapis.com/cel.expr.CheckedExpr"
# cel-spec proto/cel/expr/{syntax,checked}.proto: (field, number, type, repeated).
_MESSAGES: dict[str, list[tuple[str, int, int | str, bool]]] = {
    "Empty": [],
    "ListType": [("elem_type", 1, ".celcheck.Type", False)],
    "MapType": [
        ("key_type", 1, ".celcheck.Type", False),
        ("value_type", 2, ".celcheck.Type", False),
    ],
    "Type": [
        ("dyn", 1, ".celcheck.Empty", False),
        ("null", 2, _F.TYPE_INT32, False),
        ("primitive", 3, _F.TYPE_INT32, False),
        ("wrapper", 4, _F.TYPE_INT32, False),
        ("well_known", 5, _F.TYPE_INT32, False),
        ("list_type", 6, ".celcheck.ListType", False),
        ("map_type", 7, ".celcheck.MapType", False),
        ("message_type", 9, _F.TYPE_STRING, False),
        ("type_param", 10, _F.TYPE_STRING, False),
        ("type", 11, ".celcheck.Type", False),
        ("error", 12, ".celcheck.Empty", False),
    ],
    "Select": [("operand", 1, ".celcheck.Expr", False)],
    "Call": [("target", 1, ".celcheck.Expr", False), ("args", 3, ".celcheck.Expr", True)],
    "CreateList": [("elements", 1, ".celcheck.Expr", True)],
    "Entry": [("map_key", 3, ".celcheck.Expr", False), ("value", 4, ".celcheck.Expr", False)],
    "CreateStruct": [
        ("message_name", 1, _F.TYPE_STRING, False),
        ("entries", 2, ".celcheck.Entry", True),
    ],
    "Comprehension": [
        ("iter_range", 2, ".celcheck.Expr", False),
        ("accu_init", 4, ".celcheck.Expr", False),
        ("loop_condition", 5, ".celcheck.Expr", False),
        ("loop_step", 6, ".celcheck.Expr", False),
        ("result", 7, ".celcheck.Expr", False),
    ],
    "Expr": [
        ("id", 2, _F.TYPE_INT64, False),
        ("select_expr", 5, ".celcheck.Select", False),
        ("call_expr", 6, ".celcheck.Call", False),
        ("list_expr", 7, ".celcheck.CreateList", False),
        ("struct_expr", 8, ".celcheck.CreateStruct", False),
        ("comprehension_expr", 9, ".celcheck.Comprehension", False),
    ],
}
_PRIMITIVES = {1: "bool", 2: "int", 3: "uint", 4: "double", 5: "string", 6: "bytes"}


@functools.cache
def _checked_expr_class() -> Any:
    file = descriptor_pb2.FileDescriptorProto(
        name="falco_responder/cel_checked.proto", package="celcheck", syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for field, number, kind, repeated in fields:
            declared = message.field.add(name=field, number=number, json_name=field)
            declared.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if isinstance(kind, str):
                declared.type, declared.type_name = _F.TYPE_MESSAGE, kind
            else:
                declared.type = kind  # type: ignore[assignment]
    checked = file.message_type.add(name="CheckedExpr")
    entry = checked.nested_type.add(name="TypeMapEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_F.TYPE_INT64, label=_F.LABEL_OPTIONAL)
    entry.field.add(
        name="value",
        number=2,
        type=_F.TYPE_MESSAGE,
        type_name=".celcheck.Type",
        label=_F.LABEL_OPTIONAL,
    )
    checked.field.add(
        name="type_map",
        number=3,
        type=_F.TYPE_MESSAGE,
        type_name=".celcheck.CheckedExpr.TypeMapEntry",
        label=_F.LABEL_REPEATED,
    )
    checked.field.add(
        name="expr",
        number=4,
        type=_F.TYPE_MESSAGE,
        type_name=".celcheck.Expr",
        label=_F.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("celcheck.CheckedExpr"))


def _name(kind: Any) -> str:
    """The type as cel-go's FormatCELType writes it."""
    if kind.HasField("dyn"):
        return "dyn"
    if kind.HasField("list_type"):
        return f"list({_name(kind.list_type.elem_type)})"
    if kind.HasField("map_type"):
        return f"map({_name(kind.map_type.key_type)}, {_name(kind.map_type.value_type)})"
    if kind.message_type:
        return kind.message_type
    if kind.primitive:
        return _PRIMITIVES.get(kind.primitive, "primitive")
    if kind.HasField("type"):
        return "type"
    return "null_type" if not kind.ListFields() else "unknown"


def _assignable(first: Any, other: Any) -> bool:
    """cel-go's isAssignable, as far as literals need it: equal, or dyn on either side,
    element by element for lists and maps."""
    if first.HasField("dyn") or other.HasField("dyn"):
        return True
    if first.HasField("list_type") and other.HasField("list_type"):
        return _assignable(first.list_type.elem_type, other.list_type.elem_type)
    if first.HasField("map_type") and other.HasField("map_type"):
        return _assignable(first.map_type.key_type, other.map_type.key_type) and _assignable(
            first.map_type.value_type, other.map_type.value_type
        )
    return first.SerializeToString(deterministic=True) == other.SerializeToString(
        deterministic=True
    )


def _join(types: list[Any]) -> str | None:
    """joinTypes over a literal's elements: the first mismatch, as cel-go reports it."""
    joined = None
    for kind in types:
        if joined is None:
            joined = kind
        elif not _assignable(joined, kind):
            return f"expected type '{_name(joined)}' but found '{_name(kind)}'"
        elif kind.HasField("dyn"):
            joined = kind  # the more general one
    return None


def _children(expr: Any) -> list[Any]:
    if expr.HasField("select_expr"):
        return [expr.select_expr.operand]
    if expr.HasField("call_expr"):
        call = expr.call_expr
        return [*([call.target] if call.HasField("target") else []), *call.args]
    if expr.HasField("list_expr"):
        return list(expr.list_expr.elements)
    if expr.HasField("struct_expr"):
        return [e for entry in expr.struct_expr.entries for e in (entry.map_key, entry.value)]
    if expr.HasField("comprehension_expr"):
        c = expr.comprehension_expr
        return [c.iter_range, c.accu_init, c.loop_condition, c.loop_step, c.result]
    return []


def mismatch(serialized: bytes) -> str | None:
    """The first heterogeneous list or map literal of a checked expression (what
    cel-expr-python's Expression.serialize() returns), as the API server reports it."""
    wrapped = any_pb2.Any()
    wrapped.ParseFromString(serialized)
    if wrapped.type_url != _CHECKED_EXPR_URL:
        raise ValueError(f"not a checked CEL expression: {wrapped.type_url}")
    checked = _checked_expr_class()()
    checked.ParseFromString(wrapped.value)
    types = checked.type_map
    todo = [checked.expr]
    while todo:
        expr = todo.pop()
        todo += _children(expr)
        if expr.HasField("list_expr"):
            found = _join([types[e.id] for e in expr.list_expr.elements])
        elif expr.HasField("struct_expr") and not expr.struct_expr.message_name:
            entries = expr.struct_expr.entries
            found = _join([types[e.map_key.id] for e in entries]) or _join(
                [types[e.value.id] for e in entries]
            )
        else:
            found = None
        if found:
            return found
    return None
