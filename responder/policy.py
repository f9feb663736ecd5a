"""The response policy: which alerts get which actions, validated before anything runs.

Rules are tried in file order. A rule that matches runs its actions and, unless it says
`continue: true`, ends the search: the first match wins by default, and a rule can let
later rules add to it. A policy file that does not validate stops the responder from
starting, with a message naming the file, the rule and the field.

Alert fields are attacker-influenced (a command line is whatever the intruder typed), so
regexes run on RE2, in time linear in the input, and a glob or regex reads at most
MAX_MATCHED_CHARS of a field: a longer value is refused, never half-matched.
"""

import fnmatch
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import re2
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from responder.actions import Action
from shared.alert import FalcoAlert, Priority
from shared.durations import parse_duration

# Always protected, whatever a policy adds, unless it names one in `unprotect`: Kubernetes'
# own, Falco's, and GKE's (Managed Service for Prometheus, and the gke-managed-* namespaces
# of its add-ons: gke-managed-system, gke-managed-cim, gke-managed-filestorecsi...).
BUILT_IN_PROTECTED_NAMESPACES = (
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "falco",
    "gmp-system",
    "gmp-public",
    "gke-gmp-system",
    "gke-managed-*",
)
# A protected namespace: a name, or an fnmatch glob over namespace-name characters
# (`*`, `?`, `[a-c]`, `[!x]`), read alike by the responder and the admission rails' RE2.
_NAMESPACE_GLOB = re.compile(r"[a-z0-9\-*?\[\]!]{1,253}")
DEFAULT_OPT_OUT_LABEL = "falco-responder/ignore"
# Values Falco prints for a field without a value; `is_null` treats them as null.
_NO_VALUE = (None, "<NA>", "N/A", "")


def _duration(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _as_text(value: timedelta) -> str:
    return f"{int(value.total_seconds())}s"


# `10m`, `1h30m`, `7d` in YAML; a timedelta in code.
Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(_as_text)]

# The most characters of one value a glob or regex reads. Falco's drivers capture a few
# KiB of a command line; a longer value is crafted, and refused rather than matched.
MAX_MATCHED_CHARS = 64 * 1024
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the policy error says it; RE2 would also print to stderr


def _regex(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"expected a pattern (text), got {type(value).__name__}")
    try:
        return re2.compile(value, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(
            f"{value!r} is not a pattern RE2 accepts ({detail}): regexes run in linear time, "
            "so no backreferences or lookarounds"
        ) from None


# A pattern in YAML; a compiled RE2 pattern in code, linear in the text it reads.
Regex = Annotated[Any, BeforeValidator(_regex), PlainSerializer(lambda pattern: pattern.pattern)]


class FieldTooLongError(ValueError):
    """A value longer than a glob or regex reads: the alert is refused, not guessed at."""

    def __init__(self, name: str, length: int) -> None:
        super().__init__(
            f"{name} is {length} characters, over the {MAX_MATCHED_CHARS} the policy "
            "matcher reads: not matched, so not acted on"
        )


def _bounded(name: str, value: str) -> str:
    if len(value) > MAX_MATCHED_CHARS:
        raise FieldTooLongError(name, len(value))
    return value


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


def _globs(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_one_or_many)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldCondition(_Strict):
    """Conditions on one output field; every one given must hold."""

    equals: Any = None
    not_equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    glob: str | None = None
    regex: Regex | None = None
    is_null: bool | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> "FieldCondition":
        if not self.model_fields_set:
            raise ValueError("give at least one of equals, not_equals, in, glob, regex, is_null")
        return self

    def holds(self, fields: dict[str, Any], key: str) -> bool:
        """Whether the field `key` of `fields` meets every condition given.

        Raises FieldTooLongError when a glob or regex would read more than it may.
        """
        value = fields.get(key)
        null = value in _NO_VALUE
        given = self.model_fields_set

        def text() -> str:
            return _bounded(f"output field {key!r}", str(value))

        checks = {
            "equals": lambda: not null and _same(value, self.equals),
            "not_equals": lambda: null or not _same(value, self.not_equals),
            "in_": lambda: not null and any(_same(value, v) for v in self.in_ or []),
            "glob": lambda: not null and fnmatch.fnmatchcase(text(), self.glob or ""),
            "regex": lambda: (
                not null and self.regex is not None and self.regex.search(text()) is not None
            ),
            "is_null": lambda: null == self.is_null,
        }
        return all(check() for name, check in checks.items() if name in given)


def _same(value: Any, expected: Any) -> bool:
    """Equal, or equal as text (YAML `0` against Falco's `"0"` and the other way round)."""
    return value == expected or str(value) == str(expected)


class Tags(_Strict):
    """The alert's tags must include all of `all` and at least one of `any`."""

    all: list[str] = Field(default_factory=list)
    any: list[str] = Field(default_factory=list)

    def holds(self, tags: list[str]) -> bool:
        """Whether `tags` meets both lists."""
        present = set(tags)
        return set(self.all) <= present and (not self.any or bool(present & set(self.any)))


class Namespaces(_Strict):
    """The pod's namespace must match an `include` glob (if any) and no `exclude` glob."""

    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)

    def holds(self, namespace: str | None) -> bool:
        """Whether the namespace (None: the alert has no pod) passes."""
        if namespace is None:
            return not self.include
        if self.include and not _globs(self.include, namespace):
            return False
        return not _globs(self.exclude, namespace)


class Match(_Strict):
    """What an alert must have for the rule to apply; every condition given must hold."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    rule: Names = Field(default_factory=list, description="Falco rule names or globs")
    priority: PriorityCondition | None = Field(default=None, description="e.g. '>=Critical'")
    tags: Tags | None = None
    source: Names = Field(default_factory=list)
    output_fields: dict[str, FieldCondition] = Field(default_factory=dict)
    namespaces: Namespaces | None = None
    cluster: Names = Field(default_factory=list, description="cluster names or globs")

    @field_validator("priority", mode="before")
    @classmethod
    def _priority(cls, value: Any) -> Any:
        return PriorityCondition.parse(value) if isinstance(value, str) else value

    def matches(self, alert: FalcoAlert, cluster: str | None) -> bool:
        """All given conditions hold for the alert, seen in `cluster`.

        Raises FieldTooLongError for a value too long to match (see MAX_MATCHED_CHARS).
        """
        pod = alert.pod
        return (
            # The rule name is bounded where the alert is parsed (shared.alert.MAX_RULE_CHARS).
            (not self.rule or _globs(self.rule, alert.rule))
            and (self.priority is None or self.priority(alert.priority))
            and (self.tags is None or self.tags.holds(alert.tags))
            and (not self.source or alert.source in self.source)
            and all(c.holds(alert.output_fields, k) for k, c in self.output_fields.items())
            and (self.namespaces is None or self.namespaces.holds(pod.namespace if pod else None))
            and (not self.cluster or (cluster is not None and _globs(self.cluster, cluster)))
        )


def _replicas(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(r"\d{1,3}%", value.strip()):
        raise ValueError(f"{value!r} is neither a count nor a percentage like '50%'")
    return value


class CircuitBreaker(_Strict):
    """At most `max_actions` destructive actions per `window` per cluster, and at most
    `namespace_share` of them for the alerts of any one namespace.

    The count lives in a ConfigMap in `namespace`, so every function instance sees it.
    The share keeps a tenant who sets off alerts in its own namespace (throwaway pods it
    may create with `edit`) from opening the breaker for every other namespace.
    """

    max_actions: int = Field(default=10, ge=1)
    window: Duration = timedelta(minutes=10)
    namespace: str = "falco-responder"
    namespace_share: float = Field(default=0.5, gt=0, le=1)

    @property
    def max_actions_per_namespace(self) -> int:
        """The actions one namespace's alerts may take per window: its share, at least 1."""
        # Exact decimal arithmetic: as floats, 100 * 0.29 is 28.999... and would round to 28.
        return max(1, math.floor(Fraction(str(self.namespace_share)) * self.max_actions))


class Safety(_Strict):
    """The rails, all on by default; a rule's own `safety` overrides any of them.

    The namespace lists add up instead: `protected_namespaces` adds to the built-in list,
    and only `unprotect`, naming a built-in namespace exactly, takes one away.
    """

    protected_namespaces: list[str] = Field(default_factory=list)
    unprotect: list[str] = Field(default_factory=list)
    opt_out_label: str = DEFAULT_OPT_OUT_LABEL
    # Off: only a namespace's label opts out (`edit` cannot change namespaces). On, the
    # pod's label too, which anyone who may patch the pod can set.
    allow_pod_opt_out: bool = False
    # Off: `edit` may create DaemonSets, so a tenant sparing DaemonSet pods could make its
    # workload one and never be removed. Node agents belong in protected namespaces.
    ignore_daemonset_pods: bool = False
    ignore_statefulset_pods: bool = False
    ignore_standalone_pods: bool = False
    min_healthy_replicas: Annotated[int | str, BeforeValidator(_replicas)] | None = None
    max_alert_age: Duration | None = timedelta(hours=1)
    circuit_breaker: CircuitBreaker | None = CircuitBreaker()

    @field_validator("protected_namespaces")
    @classmethod
    def _namespace_globs(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            if not _NAMESPACE_GLOB.fullmatch(pattern):
                raise ValueError(
                    f"{pattern!r} is neither a namespace name nor a glob of one (lowercase "
                    "letters, digits, '-', and the wildcards * ? [...] [!...])"
                )
        return patterns

    @field_validator("unprotect")
    @classmethod
    def _built_in_only(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in BUILT_IN_PROTECTED_NAMESPACES:
                built_in = ", ".join(BUILT_IN_PROTECTED_NAMESPACES)
                raise ValueError(
                    f"{name!r} is not a built-in protected namespace ({built_in}); "
                    "unprotect takes only those, by exact name"
                )
        return names

    @field_validator("min_healthy_replicas")
    @classmethod
    def _not_negative(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("min_healthy_replicas cannot be negative")
        return value

    def required_healthy(self, desired: int) -> int:
        """How many ready pods must remain of `desired` (percentages round up)."""
        value = self.min_healthy_replicas
        if value is None:
            return 0
        if isinstance(value, str):
            return math.ceil(int(value.strip().rstrip("%")) * desired / 100)
        return value

    @property
    def owner_rails(self) -> list[str]:
        """The owner-aware rails that are on. Each spares a shape of workload (a DaemonSet,
        a StatefulSet, a bare pod, too few replicas) that the pod's owner chooses."""
        shapes = {
            "ignore_daemonset_pods": self.ignore_daemonset_pods,
            "ignore_statefulset_pods": self.ignore_statefulset_pods,
            "ignore_standalone_pods": self.ignore_standalone_pods,
            "min_healthy_replicas": self.min_healthy_replicas is not None,
        }
        return [name for name, on in shapes.items() if on]

    @property
    def reads_owner(self) -> bool:
        """Whether a destructive action's rails need the pod's controller."""
        return bool(self.owner_rails)

    @property
    def effective_protected_namespaces(self) -> list[str]:
        """The built-in list less what `unprotect` names, then the additions (globs)."""
        kept = [n for n in BUILT_IN_PROTECTED_NAMESPACES if n not in self.unprotect]
        return kept + [n for n in self.protected_namespaces if n not in kept]

    def is_protected(self, namespace: str) -> bool:
        """Whether the namespace is one the responder must never touch (globs allowed)."""
        return _globs(self.effective_protected_namespaces, namespace)

    def overridden_by(self, overrides: "Safety | None") -> "Safety":
        """These rails with the settings a rule sets itself replaced; the lists add up."""
        if overrides is None:
            return self
        update = {name: getattr(overrides, name) for name in overrides.model_fields_set}
        for name in _ADDITIVE:
            update[name] = list(dict.fromkeys([*getattr(self, name), *getattr(overrides, name)]))
        breaker = overrides.circuit_breaker
        if "circuit_breaker" in update and breaker and self.circuit_breaker:
            # Field by field: a rule raising max_actions still counts in the policy's
            # ConfigMap, not in a count of its own that the policy's limit never sees.
            update["circuit_breaker"] = self.circuit_breaker.model_copy(
                update={name: getattr(breaker, name) for name in breaker.model_fields_set}
            )
        return self.model_copy(update=update)


# Rails whose rule-level value adds to the policy's: a rule can never drop a protection
# the policy adds, nor restore one it removes without naming it.
_ADDITIVE = ("protected_namespaces", "unprotect")


class Rule(_Strict):
    """A named rule: when `match` holds, run `actions` in order."""

    name: str = Field(min_length=1)
    match: Match
    actions: list[Action] = Field(min_length=1)
    dry_run: bool = False
    continue_: bool = Field(default=False, alias="continue")
    safety: Safety | None = None


class ClusterAccess(_Strict):
    """How to reach one cluster: a kubeconfig from Secret Manager, or a context of KUBECONFIG.

    `google_identity: true` authenticates with the function's own Google identity (GKE):
    the kubeconfig then needs only the server and its CA.
    """

    kubeconfig_secret: str | None = None
    kubeconfig_context: str | None = None
    google_identity: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> "ClusterAccess":
        if (self.kubeconfig_secret is None) == (self.kubeconfig_context is None):
            raise ValueError("give exactly one of kubeconfig_secret, kubeconfig_context")
        return self


# A cluster's name is the first segment of evidence paths and a Secret Manager secret ID
# part (terraform/variables.tf `clusters` has the same rule).
CLUSTER_NAME = re.compile(r"[a-zA-Z0-9_-]{1,100}")


def check_cluster_name(name: str) -> str:
    """`name` if it may name a cluster; ValueError saying why not."""
    if not CLUSTER_NAME.fullmatch(name):
        raise ValueError(f"{name[:120]!r} is not a cluster name (1 to 100 letters, digits, _ or -)")
    return name


ClusterName = Annotated[str, AfterValidator(check_cluster_name)]


class Policy(_Strict):
    """The whole policy file."""

    dry_run: bool = False
    safety: Safety = Safety()
    # The output field Falcosidekick's `customfields` adds to name the cluster.
    cluster_field: str = "cluster"
    # Empty: one cluster, reached with KUBECONFIG_SECRET / KUBECONFIG / in-cluster.
    clusters: dict[ClusterName, ClusterAccess] = Field(default_factory=dict)
    # Single-cluster mode: the one cluster's name; an alert naming another is refused.
    cluster_name: ClusterName | None = None
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_cluster_or_many(self) -> "Policy":
        if self.cluster_name is not None and self.clusters:
            raise ValueError(
                "cluster_name names the one cluster of single-cluster mode; with clusters, "
                "each alert names one of them"
            )
        return self

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[Rule]) -> list[Rule]:
        seen: set[str] = set()
        for rule in rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}; names must be unique")
            seen.add(rule.name)
        return rules

    def matching_rules(self, alert: FalcoAlert, cluster: str | None) -> list[Rule]:
        """The rules that apply, in order: up to and including the first without `continue`.

        Raises FieldTooLongError when a rule cannot be decided on (see MAX_MATCHED_CHARS).
        """
        found: list[Rule] = []
        for rule in self.rules:
            if rule.match.matches(alert, cluster):
                found.append(rule)
                if not rule.continue_:
                    break
        return found

    def breaker_windows(self) -> dict[str, timedelta]:
        """The longest window any rule counts over, by the breaker's ConfigMap namespace:
        a change is kept in the count until no rule's window holds it."""
        windows: dict[str, timedelta] = {}
        rules = (self.safety.overridden_by(rule.safety) for rule in self.rules)
        for breaker in (s.circuit_breaker for s in (self.safety, *rules)):
            if breaker is not None:
                kept = windows.get(breaker.namespace, breaker.window)
                windows[breaker.namespace] = max(kept, breaker.window)
        return windows

    def cluster_of(self, alert: FalcoAlert) -> str | None:
        """The cluster the alert names in `cluster_field`, if it names one."""
        value = alert.output_fields.get(self.cluster_field)
        return value if isinstance(value, str) and value not in _NO_VALUE else None


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
