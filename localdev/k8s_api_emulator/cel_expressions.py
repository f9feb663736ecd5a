"""CEL expressions of admission policies: type-checked as the API server compiles them,
then evaluated by a CEL library.

The check is responder.admission_cel's (Google's C++ CEL with Kubernetes' variable
declarations): an unknown variable or field of ``request``, a type error or a result of
the wrong type is refused at create time, as upstream refuses it, and the standard macros
(``all``, ``exists``, ``exists_one``, ``map``, ``filter``) are accepted.

The evaluator is ``common-expression-language`` (bindings of cel-rust). Of the CEL libraries
for Python it is the closer to cel-go, which Kubernetes uses: ``oldObject != null`` holds
for an object, ``1 == 1.0`` and ``1 == 1u`` hold (heterogeneous equality), and ``has()``
or a field of ``null`` (``object`` on DELETE) is an error, not false. Neither the checker
nor the evaluator has the Kubernetes extension libraries (``split``, ``lowerAscii``,
``quantity``, ``authorizer``...) nor optional fields (``a.?b``): a policy using them is
refused when written, where a real server accepts it, so the emulator is never kinder
than one. Nor are CEL's cost limits applied.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel

from responder.admission_cel import CelCheckError, compile_checked


class CelError(Exception):
    """An expression that does not compile, or whose evaluation ended in an error."""


@dataclass(frozen=True)
class Expression:
    source: str
    program: Any


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str, result: str = "bool", has_params: bool = False) -> Expression:
    """Type-check ``source`` (its value a ``result``: 'bool', 'string' or 'any'; ``params``
    declared only for a policy with a ``paramKind``) and compile it
    for evaluation; raises CelError with the checker's or the parser's message. Compiled
    programs are cached: every admitted request evaluates the same few expressions."""
    try:
        compile_checked(source, result, has_params)
    except CelCheckError as error:
        raise CelError(str(error)) from None
    try:
        program = cel.compile(source)
    except ValueError as error:
        message = str(error).removeprefix(f"Failed to parse expression '{source}': ")
        raise CelError(message) from None
    return Expression(source, program)


def activation(variables: Mapping[str, Any]) -> Any:
    """The variables of one request, converted to CEL values once for all its expressions
    (not to be shared between threads)."""
    return cel.Context(variables=dict(variables))


def evaluate(expression: Expression, variables: Any) -> Any:
    """The value of ``expression`` over an ``activation``; raises CelError in cel-go's words
    where they differ."""
    try:
        return expression.program.execute(variables)
    except KeyError as error:
        raise CelError(f"no such key: {error.args[0]}") from None
    except (TypeError, ValueError, RuntimeError, ArithmeticError) as error:
        raise CelError(str(error)) from None
