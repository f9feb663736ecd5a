"""Label and field selectors with the grammar of k8s.io/apimachinery ``labels`` and ``fields``.

Parse errors raise ``ValueError``; the API layer turns them into 400 BadRequest as upstream does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

_IN, _NOT_IN = "in", "notin"
_OPERATORS = ("!=", "==", "=", "!", "(", ")", ",", "<", ">")


def _tokenize(text: str) -> list[str]:
    """Split a label selector into identifiers and operators, skipping whitespace."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator:
            tokens.append(operator)
            i += len(operator)
            continue
        start = i
        while i < len(text) and not text[i].isspace() and text[i] not in "!=(),<>":
            i += 1
        tokens.append(text[start:i])
    return tokens


def _is_identifier(token: str | None) -> bool:
    return token is not None and token not in _OPERATORS


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # exists, !, =, !=, in, notin, gt, lt
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", _IN):
            return present and value in self.values
        if self.operator in ("!=", _NOT_IN):
            return not present or value not in self.values
        # gt / lt compare integers; a non-integer label value never matches.
        try:
            actual, wanted = int(value), int(next(iter(self.values)))
        except ValueError:
            return False
        return present and (actual > wanted if self.operator == "gt" else actual < wanted)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        self.pos += 1
        return token

    def identifier(self, expected: str) -> str:
        token = self.take()
        if token is None or token in _OPERATORS:
            raise ValueError(
                f"unable to parse requirement: found '{token or ''}', expected: {expected}"
            )
        return token

    def requirements(self) -> list[Requirement]:
        parsed = []
        while self.peek() is not None:
            parsed.append(self.requirement())
            token = self.take()
            if token not in (None, ","):
                raise ValueError(f"found '{token}', expected: ',' or 'end of string'")
        return parsed

    def requirement(self) -> Requirement:
        if self.peek() == "!":
            self.take()
            return Requirement(self.identifier("identifier"), "!")
        key = self.identifier("!, identifier")
        operator = self.peek()
        if operator in (None, ","):
            return Requirement(key, "exists")
        self.take()
        if operator in ("=", "==", "!="):
            # "a=" selects an empty value, as upstream allows.
            value = self.take() if _is_identifier(self.peek()) else ""
            return Requirement(key, "!=" if operator == "!=" else "=", frozenset({value}))
        if operator in (_IN, _NOT_IN):
            return Requirement(key, operator, frozenset(self.value_set()))
        if operator in ("<", ">"):
            value = self.identifier("integer")
            if not value.lstrip("-").isdigit():
                raise ValueError(
                    "unable to parse requirement: for 'gt', 'lt' operators, "
                    f"the value must be an integer: {value}"
                )
            return Requirement(key, "gt" if operator == ">" else "lt", frozenset({value}))
        raise ValueError(
            f"unable to parse requirement: found '{operator}', "
            "expected: in, notin, =, ==, !=, gt, lt"
        )

    def value_set(self) -> list[str]:
        opening = self.take()
        if opening != "(":
            raise ValueError(f"unable to parse requirement: found '{opening or ''}', expected: '('")
        values = []
        while self.peek() != ")":
            values.append(self.identifier("',', ')' or identifier"))
            if self.peek() == ",":
                self.take()
        self.take()
        if not values:
            raise ValueError("for 'in', 'notin' operators, values set can't be empty")
        return values


def parse_label_selector(text: str) -> Callable[[Mapping[str, str]], bool]:
    """``labelSelector`` query value -> predicate over an object's labels (comma = AND)."""
    requirements = _Parser(text).requirements()
    return lambda labels: all(r.matches(labels) for r in requirements)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current + ("\\" if escaped else ""))
    return parts


def _unescape(value: str) -> str:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise ValueError(f"invalid escape sequence: \\{char}")
            out += char
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out += char
    return out


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str


def parse_field_selector(text: str) -> list[FieldRequirement]:
    """``fieldSelector`` query value (``a=b``, ``a==b``, ``a!=b``, comma = AND)."""
    requirements = []
    for term in _split_unescaped(text, ","):
        if term:
            requirements.append(_field_requirement(text, term))
    return requirements


def _field_requirement(text: str, term: str) -> FieldRequirement:
    # The first unescaped operator splits field from value, as fields.ParseSelector does.
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for operator in ("!=", "==", "="):
            if term.startswith(operator, i):
                value = _unescape(term[i + len(operator) :])
                return FieldRequirement(term[:i], operator != "!=", value)
        i += 1
    raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")
