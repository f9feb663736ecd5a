"""ValidatingAdmissionPolicy CEL, type-checked as the API server compiles it.

The checker is Google's C++ CEL runtime (`cel-expr-python`), given the variables the API
server declares (k8s.io/apiserver/pkg/admission/plugin/cel/compile.go, buildRequiredVarsEnv
and BuildRequestType): `object` and `oldObject` are dyn, `request` is the typed
AdmissionRequest (an unknown field of it is a compile error), `params` exists only with a
`paramKind`, `namespaceObject` is dyn, `authorizer` is an opaque type and `variables` an
object without fields (the rails declare none). An expression of the wrong result type
(a validation not bool, a messageExpression not string) fails as upstream's
CompileCELExpression fails it ("must evaluate to ..."), and so does a list or map literal
of mixed types (responder.cel_literals: HomogeneousAggregateLiterals).

An operator-time check (`falco-responder policy admission`, the emulator): the functions
never import this module, so their requirements.txt does not carry cel-expr-python.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from cel_expr_python import cel
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    json_format,
    message_factory,
    struct_pb2,
)

from responder import cel_literals

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_BOOL = descriptor_pb2.FieldDescriptorProto.TYPE_BOOL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
# BuildRequestType's object types, as proto3 messages: has() on a string field holds when
# it is non-empty, as it holds on the JSON request, where empty fields are omitted.
_TYPES: dict[str, list[tuple[str, int | str]]] = {
    "GroupVersionKind": [("group", _STRING), ("version", _STRING), ("kind", _STRING)],
    "GroupVersionResource": [("group", _STRING), ("version", _STRING), ("resource", _STRING)],
    # extra is map(string, list(string)) upstream; a Struct here (map(string, dyn)).
    "UserInfo": [
        ("username", _STRING),
        ("uid", _STRING),
        ("groups", _STRING),
        ("extra", ".google.protobuf.Struct"),
    ],
    "AdmissionRequest": [
        ("kind", ".kubernetes.GroupVersionKind"),
        ("resource", ".kubernetes.GroupVersionResource"),
        ("subResource", _STRING),
        ("requestKind", ".kubernetes.GroupVersionKind"),
        ("requestResource", ".kubernetes.GroupVersionResource"),
        ("requestSubResource", _STRING),
        ("name", _STRING),
        ("namespace", _STRING),
        ("operation", _STRING),
        ("userInfo", ".kubernetes.UserInfo"),
        ("dryRun", _BOOL),
        ("options", ".google.protobuf.Value"),  # dyn upstream
    ],
    "Authorizer": [],
    "Variables": [],
}
_REPEATED_FIELDS = {("UserInfo", "groups")}
REQUEST_TYPE = "kubernetes.AdmissionRequest"


class CelCheckError(ValueError):
    """An expression the API server would refuse to compile, with the checker's message."""


@functools.cache
def _pool() -> descriptor_pool.DescriptorPool:
    file = descriptor_pb2.FileDescriptorProto(
        name="falco_responder/kubernetes_admission.proto",
        package="kubernetes",
        syntax="proto3",
        dependency=["google/protobuf/struct.proto"],
    )
    for name, fields in _TYPES.items():
        message = file.message_type.add(name=name)
        for number, (field, kind) in enumerate(fields, 1):
            declared = message.field.add(name=field, number=number, json_name=field)
            if (name, field) in _REPEATED_FIELDS:
                declared.label = _REPEATED
            if isinstance(kind, str):
                declared.type = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
                declared.type_name = kind
            else:
                declared.type = kind  # type: ignore[assignment]
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(struct_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return pool


@functools.cache
def environment(has_params: bool = False) -> Any:
    """The declarations of a ValidatingAdmissionPolicy's expressions (with `paramKind`:
    `params` too)."""
    variables = {
        "object": cel.Type.DYN,
        "oldObject": cel.Type.DYN,
        "request": cel.Type(REQUEST_TYPE),
        "namespaceObject": cel.Type.DYN,
        "authorizer": cel.Type("kubernetes.Authorizer"),
        "variables": cel.Type("kubernetes.Variables"),
    }
    if has_params:
        variables["params"] = cel.Type.DYN
    return cel.NewEnv(descriptor_pool=_pool(), variables=variables)


# "any": a variable's expression, whose value may be of any type (plugincel.AnyType).
_RESULT_TYPES = {"bool": cel.Type.BOOL, "string": cel.Type.STRING, "any": None}


def compile_checked(source: str, result: str = "bool", has_params: bool = False) -> Any:
    """The checked expression; CelCheckError for a syntax or type error, an unknown
    variable or field, or a result of another type than `result` ('bool', 'string' or
    'any')."""
    try:
        expression = environment(has_params).compile(source)
    except RuntimeError as error:
        message = str(error).removeprefix("INVALID_ARGUMENT: ").removesuffix(" [INVALID_ARGUMENT]")
        raise CelCheckError(message) from None
    if literal := cel_literals.mismatch(expression.serialize()):
        raise CelCheckError(literal)
    found = expression.return_type()
    wanted = _RESULT_TYPES[result]
    if (
        wanted is not None and found != wanted
    ):  # dyn too: upstream compares the checked type exactly
        raise CelCheckError(f"must evaluate to {result}, not {found.name().lower()}")
    return expression


def request_message(request: Mapping[str, Any]) -> Any:
    """A JSON AdmissionRequest (as the API server builds it for CEL) as the typed value."""
    message_class = message_factory.GetMessageClass(_pool().FindMessageTypeByName(REQUEST_TYPE))
    fields = {k: v for k, v in request.items() if k not in ("uid", "object", "oldObject")}
    return json_format.ParseDict(fields, message_class())


def evaluate(expression: Any, variables: Mapping[str, Any]) -> Any:
    """The value of a checked expression, or CelCheckError for an evaluation error;
    `variables['request']` is JSON, converted here."""
    data = dict(variables)
    if "request" in data:
        data["request"] = request_message(data["request"])
    value = expression.eval(data=data)
    if value.type() == cel.Type.ERROR:
        raise CelCheckError(str(value.value()))
    return value.plain_value()
