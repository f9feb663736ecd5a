"""The response policy: which alerts get which actions, validated before anything runs.

Rules are tried in order and the first one that matches decides (the full policy
engine adds per-rule `continue`). A policy file that does not validate stops the
responder from starting, with a message naming the file, the rule and the field.
"""

import fnmatch
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from responder.actions import DeletePod
from shared.alert import FalcoAlert, Priority

DEFAULT_PROTECTED_NAMESPACES = ["kube-system", "kube-public", "kube-node-lease", "falco"]

_COMPARISONS: dict[str, Callable[[Priority, Priority], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_PRIORITY_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*([A-Za-z]+)\s*$")


@dataclass(frozen=True)
class PriorityCondition:
    """`>=Critical`, `<Warning`, `Notice` (a bare name means equal)."""

    text: str
    compare: Callable[[Priority, Priority], bool]
    priority: Priority

    @classmethod
    def parse(cls, text: str) -> "PriorityCondition":
        """A comparison operator (optional) and a Falco priority name."""
        match = _PRIORITY_CONDITION.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a priority condition like '>=Critical'")
        op, name = match.groups()
        return cls(text, _COMPARISONS[op or "=="], Priority.parse(name))

    def __call__(self, priority: Priority) -> bool:
        return self.compare(priority, self.priority)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """What an alert must have for the rule to apply; every condition given must hold."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    rule: list[str] = Field(default_factory=list, description="Falco rule names or globs")
    priority: PriorityCondition | None = Field(default=None, description="e.g. '>=Critical'")

    @field_validator("rule", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        if isinstance(value, str):
            return PriorityCondition.parse(value)
        return value

    def matches(self, alert: FalcoAlert) -> bool:
        """All given conditions hold for the alert."""
        if self.rule and not any(fnmatch.fnmatchcase(alert.rule, p) for p in self.rule):
            return False
        return self.priority is None or self.priority(alert.priority)


# Actions are told apart by their `action` key; more kinds join this union.
Action = Annotated[DeletePod, Field(discriminator="action")]


class Rule(_Strict):
    """A named rule: when `match` holds, run `actions` in order."""

    name: str = Field(min_length=1)
    match: Match
    actions: list[Action] = Field(min_length=1)
    dry_run: bool = False


class Policy(_Strict):
    """The whole policy file."""

    dry_run: bool = False
    protected_namespaces: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PROTECTED_NAMESPACES)
    )
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(rule.name)
        return rules

    def first_match(self, alert: FalcoAlert) -> Rule | None:
        """The first rule, in file order, whose match holds."""
        return next((rule for rule in self.rules if rule.match.matches(alert)), None)

    def is_protected(self, namespace: str) -> bool:
        """Whether the namespace is one the responder must never touch (globs allowed)."""
        return any(fnmatch.fnmatchcase(namespace, p) for p in self.protected_namespaces)


class PolicyError(Exception):
    """A policy file that cannot be used, with the file, rule and field in the message."""


def _where(document: Any, location: tuple[int | str, ...]) -> str:
    """`rules[0] (kill-shells).match.priority` from a pydantic error location."""
    parts: list[str] = []
    node = document
    for key in location:
        if isinstance(key, int):
            parts[-1] = f"{parts[-1]}[{key}]" if parts else f"[{key}]"
            node = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                parts[-1] += f" ({node['name']})"
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return ".".join(parts) or "policy"


def parse_policy(document: Any, source: str) -> Policy:
    """Validate a decoded policy document; `source` names it in error messages."""
    try:
        return Policy.model_validate(document if document is not None else {})
    except ValidationError as exc:
        problems = [
            f"{_where(document, tuple(e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise PolicyError(f"policy {source}: " + "; ".join(problems)) from None


def load_policy(path: Path) -> Policy:
    """Read and validate a policy YAML file."""
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PolicyError(f"policy {path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy {path}: not valid YAML: {exc}") from None
    return parse_policy(document, str(path))
