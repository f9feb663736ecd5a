"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1)
checked as the API server checks them: kubernetes/kubernetes
pkg/apis/admissionregistration/validation/validation.go, function by function (each named
below), with its field paths and messages. Metadata (ValidateObjectMeta with
NameIsDNSSubdomain) is the API layer's; the JSON shapes here are the decoder's (400).

CEL expressions are compiled by the emulator's engine (cel_expressions.compile_expression)
in the environment the API server declares for each of them: ``params`` only with a
``paramKind``, ``authorizer`` everywhere but in a ``messageExpression``, ``variables`` only
with ``spec.variables``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cel

from .cel_expressions import CelError, compile_expression
from .json_shapes import LABEL_SELECTOR, STRING, STRINGS, Body, Shape, list_of, struct
from .status import FieldError, go_quote
from .validate_common import label_selector_errors
from .validation import dns1035_label, dns1123_subdomain, path_segment_name, qualified_name

# The sets' List() order (sorted), as NotSupported prints them.
FAILURE_POLICIES = ["Fail", "Ignore"]
MATCH_POLICIES = ["Equivalent", "Exact"]
OPERATIONS = ["*", "CONNECT", "CREATE", "DELETE", "UPDATE"]
SCOPES = ["*", "Cluster", "Namespaced"]
REASONS = ["Forbidden", "Invalid", "RequestEntityTooLarge"]
VALIDATION_ACTIONS = ["Audit", "Deny", "Warn"]
PARAMETER_NOT_FOUND_ACTIONS = ["Deny", "Allow"]
MAX_MATCH_CONDITIONS = 64
MAX_AUDIT_ANNOTATIONS = 20
MAX_AUDIT_VALUE_EXPRESSION = 5 * 1024

# Variables whose declaration depends on the policy and the expression (plugin/cel
# OptionalVariableDeclarations); object, oldObject, request and namespaceObject are always.
_OPTIONAL_VARIABLES = frozenset({"params", "authorizer", "variables"})
_CEL_IDENTIFIER = re.compile("[_a-zA-Z][_a-zA-Z0-9]*")
_CEL_RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)
_NEWLINES = re.compile("[\n\r]+")

_NAMED_RULE = struct(
    "v1.NamedRuleWithOperations",
    resourceNames=STRINGS,
    operations=STRINGS,
    apiGroups=STRINGS,
    apiVersions=STRINGS,
    resources=STRINGS,
    scope=STRING,
)
_MATCH_RESOURCES = struct(
    "v1.MatchResources",
    namespaceSelector=LABEL_SELECTOR,
    objectSelector=LABEL_SELECTOR,
    resourceRules=list_of(_NAMED_RULE),
    excludeResourceRules=list_of(_NAMED_RULE),
    matchPolicy=STRING,
)
POLICY_SHAPE: Shape = struct(
    "ValidatingAdmissionPolicy",
    spec=struct(
        "v1.ValidatingAdmissionPolicySpec",
        paramKind=struct("v1.ParamKind", apiVersion=STRING, kind=STRING),
        matchConstraints=_MATCH_RESOURCES,
        validations=list_of(
            struct(
                "v1.Validation",
                expression=STRING,
                message=STRING,
                reason=STRING,
                messageExpression=STRING,
            )
        ),
        failurePolicy=STRING,
        auditAnnotations=list_of(struct("v1.AuditAnnotation", key=STRING, valueExpression=STRING)),
        matchConditions=list_of(struct("v1.MatchCondition", name=STRING, expression=STRING)),
        variables=list_of(struct("v1.Variable", name=STRING, expression=STRING)),
    ),
)
BINDING_SHAPE: Shape = struct(
    "ValidatingAdmissionPolicyBinding",
    spec=struct(
        "v1.ValidatingAdmissionPolicyBindingSpec",
        policyName=STRING,
        paramRef=struct(
            "v1.ParamRef",
            name=STRING,
            namespace=STRING,
            selector=LABEL_SELECTOR,
            parameterNotFoundAction=STRING,
        ),
        matchResources=_MATCH_RESOURCES,
        validationActions=STRINGS,
    ),
)


@dataclass(frozen=True)
class GoSlice:
    """A typed Go slice as field.Error prints a bad value (%#v): []string{"a", "b"}."""

    type: str
    items: tuple[Any, ...]

    def __str__(self) -> str:
        return f"[]{self.type}{{" + ", ".join(go_quote(item) for item in self.items) + "}"


# Typed reads of each kind; policies.py has checked the whole object's JSON shape before
# validation, as the API server's decoder does, so these never refuse.
_POLICY = Body("ValidatingAdmissionPolicy", "admissionregistration.k8s.io/v1")
_BINDING = Body("ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io/v1")


def _present(parent: Mapping[str, Any], key: str) -> bool:
    """A pointer field that is set: JSON null decodes to nil."""
    return parent.get(key) is not None


def _has_wildcard(values: Sequence[str]) -> bool:
    return "*" in values


# --- rules -----------------------------------------------------------------------------------


def resources_errors(resources: Sequence[str], field: str) -> list[FieldError]:
    """validateResources: subresources allowed, ``*/*`` alone, ``*`` with subresources only."""
    errors = []
    if not resources:
        errors.append(FieldError.required(field))
    with_wildcard_subresource: set[str] = set()  # x/*
    with_wildcard_resource: set[str] = set()  # */x
    has_double_wildcard = has_single_wildcard = has_resource_without_subresource = False
    for index, entry in enumerate(resources):
        if entry == "":
            errors.append(FieldError.required(f"{field}[{index}]"))
            continue
        has_double_wildcard |= entry == "*/*"
        has_single_wildcard |= entry == "*"
        if "/" not in entry:
            # upstream assigns, not ORs: the last resource without a subresource decides
            has_resource_without_subresource = entry != "*"
            continue
        resource, _, subresource = entry.partition("/")
        if resource in with_wildcard_subresource:
            detail = f"if '{resource}/*' is present, must not specify {entry}"
            errors.append(FieldError.invalid(f"{field}[{index}]", entry, detail))
        if subresource in with_wildcard_resource:
            detail = f"if '*/{subresource}' is present, must not specify {entry}"
            errors.append(FieldError.invalid(f"{field}[{index}]", entry, detail))
        if subresource == "*":
            with_wildcard_subresource.add(resource)
        if resource == "*":
            with_wildcard_resource.add(subresource)
    value = GoSlice("string", tuple(resources))
    if len(resources) > 1 and has_double_wildcard:
        detail = "if '*/*' is present, must not specify other resources"
        errors.append(FieldError.invalid(field, value, detail))
    if has_single_wildcard and has_resource_without_subresource:
        detail = "if '*' is present, must not specify other resources without subresources"
        errors.append(FieldError.invalid(field, value, detail))
    return errors


def _rule_errors(rule: Mapping[str, Any], field: str) -> list[FieldError]:
    """validateRule with allowSubResource."""
    errors = []
    groups = rule.get("apiGroups") or []
    if not groups:
        errors.append(FieldError.required(f"{field}.apiGroups"))
    if len(groups) > 1 and _has_wildcard(groups):
        detail = "if '*' is present, must not specify other API groups"
        errors.append(
            FieldError.invalid(f"{field}.apiGroups", GoSlice("string", tuple(groups)), detail)
        )
    versions = rule.get("apiVersions") or []
    if not versions:
        errors.append(FieldError.required(f"{field}.apiVersions"))
    if len(versions) > 1 and _has_wildcard(versions):
        detail = "if '*' is present, must not specify other API versions"
        value = GoSlice("string", tuple(versions))
        errors.append(FieldError.invalid(f"{field}.apiVersions", value, detail))
    errors += [
        FieldError.required(f"{field}.apiVersions[{index}]")
        for index, version in enumerate(versions)
        if version == ""
    ]
    errors += resources_errors(rule.get("resources") or [], f"{field}.resources")
    scope = rule.get("scope")
    if scope is not None and scope not in SCOPES:
        errors.append(FieldError.not_supported(f"{field}.scope", scope, SCOPES))
    return errors


def _rule_with_operations_errors(rule: Mapping[str, Any], field: str) -> list[FieldError]:
    """validateRuleWithOperations."""
    errors = []
    operations = rule.get("operations") or []
    if not operations:
        errors.append(FieldError.required(f"{field}.operations"))
    if len(operations) > 1 and _has_wildcard(operations):
        value = GoSlice("admissionregistration.OperationType", tuple(operations))
        detail = "if '*' is present, must not specify other operations"
        errors.append(FieldError.invalid(f"{field}.operations", value, detail))
    errors += [
        FieldError.not_supported(f"{field}.operations[{index}]", operation, OPERATIONS)
        for index, operation in enumerate(operations)
        if operation not in OPERATIONS
    ]
    return errors + _rule_errors(rule, field)


def _named_rule_errors(rule: Mapping[str, Any], field: str) -> list[FieldError]:
    """validateNamedRuleWithOperations."""
    errors = []
    seen: set[str] = set()
    for index, name in enumerate(rule.get("resourceNames") or []):
        path = f"{field}.resourceNames[{index}]"
        errors += [FieldError.invalid(path, name, problem) for problem in path_segment_name(name)]
        if name in seen:
            errors.append(FieldError.duplicate(path, name))
        seen.add(name)
    return errors + _rule_with_operations_errors(rule, field)


def match_resources_errors(
    match: Mapping[str, Any] | None, field: str, body: Body
) -> list[FieldError]:
    """validateMatchResources (after SetDefaults_MatchResources) in the object ``body`` reads."""
    if match is None:
        return []
    errors = []
    policy = match.get("matchPolicy")
    if policy is None:
        errors.append(FieldError.required(f"{field}.matchPolicy"))
    elif policy not in MATCH_POLICIES:
        errors.append(FieldError.not_supported(f"{field}.matchPolicy", policy, MATCH_POLICIES))
    for selector in ("namespaceSelector", "objectSelector"):
        if not _present(match, selector):
            errors.append(FieldError.required(f"{field}.{selector}"))
        else:
            errors += label_selector_errors(body, match[selector], f"{field}.{selector}")
    for part in ("resourceRules", "excludeResourceRules"):
        for index, rule in enumerate(match.get(part) or []):
            errors += _named_rule_errors(rule, f"{field}.{part}[{index}]")
    return errors


# --- CEL ---------------------------------------------------------------------------------------


def _compile_problem(source: str, declared: frozenset[str], result: str = "bool") -> str | None:
    """Why the API server would not compile ``source`` in its environment to a ``result``
    (the detail of convertCELErrorToValidationError), or None."""
    try:
        compile_expression(source, result, "params" in declared)
    except CelError as error:
        # A wrong result type is reported bare, a compile error with its prefix (compile.go).
        detail = str(error)
        return detail if detail.startswith("must evaluate to ") else f"compilation failed: {detail}"
    # The emulator's engine declares every admission variable; the API server only those
    # the policy and the expression have (references: the library's own parse).
    referenced = set(cel.compile(source).references()["variables"])
    undeclared = sorted((referenced & _OPTIONAL_VARIABLES) - declared)
    if undeclared:
        return (
            f"compilation failed: ERROR: <input>: undeclared reference to '{undeclared[0]}' "
            "(in container '')"
        )
    return None


def _compile_errors(
    field: str, source: str, declared: frozenset[str], result: str = "bool"
) -> list[FieldError]:
    problem = _compile_problem(source, declared, result)
    return [] if problem is None else [FieldError.invalid(field, source, problem)]


@dataclass(frozen=True)
class _Environment:
    """plugincel.OptionalVariableDeclarations of a policy's expressions."""

    has_params: bool
    has_variables: bool

    def declared(self, authorizer: bool = True, variables: bool = True) -> frozenset[str]:
        names = set()
        if self.has_params:
            names.add("params")
        if authorizer:
            names.add("authorizer")
        if variables and self.has_variables:
            names.add("variables")
        return frozenset(names)


def _match_conditions_errors(
    conditions: Sequence[Mapping[str, Any]], env: _Environment, field: str
) -> list[FieldError]:
    """validateMatchConditions and validateMatchCondition (the stateless compiler: no
    ``variables``)."""
    errors = []
    if len(conditions) > MAX_MATCH_CONDITIONS:
        errors.append(FieldError.too_many(field, len(conditions), MAX_MATCH_CONDITIONS))
    names: set[str] = set()
    for index, condition in enumerate(conditions):
        path = f"{field}[{index}]"
        expression = (condition.get("expression") or "").strip()
        if not expression:
            errors.append(FieldError.required(f"{path}.expression"))
        else:
            declared = env.declared(variables=False)
            errors += _compile_errors(f"{path}.expression", expression, declared)
        name = condition.get("name") or ""
        if not name:
            errors.append(FieldError.required(f"{path}.name"))
        else:
            errors += [FieldError.invalid(f"{path}.name", name, p) for p in qualified_name(name)]
            if name in names:
                errors.append(FieldError.duplicate(f"{path}.name", name))
            names.add(name)
    return errors


def _variable_errors(
    variable: Mapping[str, Any], env: _Environment, field: str
) -> list[FieldError]:
    """validateVariable."""
    errors = []
    name = variable.get("name") or ""
    if not name.strip():
        errors.append(FieldError.required(f"{field}.name", "name is not specified"))
    elif not _CEL_IDENTIFIER.fullmatch(name) or name in _CEL_RESERVED:
        errors.append(
            FieldError.invalid(f"{field}.name", name, "name is not a valid CEL identifier")
        )
    expression = variable.get("expression") or ""
    if not expression.strip():
        errors.append(FieldError.required(f"{field}.expression", "expression is not specified"))
    else:
        errors += _compile_errors(f"{field}.expression", expression, env.declared(), "any")
    return errors


def _validation_errors(
    validation: Mapping[str, Any], env: _Environment, field: str
) -> list[FieldError]:
    """validateValidation."""
    errors = []
    expression = validation.get("expression") or ""
    if not expression.strip():
        errors.append(FieldError.required(f"{field}.expression", "expression is not specified"))
    else:
        errors += _compile_errors(f"{field}.expression", expression, env.declared())
    message_expression = validation.get("messageExpression") or ""
    if message_expression and not message_expression.strip():
        detail = "must be non-empty if specified"
        errors.append(FieldError.invalid(f"{field}.messageExpression", message_expression, detail))
    elif message_expression.strip():
        declared = env.declared(authorizer=False)
        errors += _compile_errors(
            f"{field}.messageExpression", message_expression, declared, "string"
        )
    message = validation.get("message") or ""
    if message and not message.strip():
        detail = "message must be non-empty if specified"
        errors.append(FieldError.invalid(f"{field}.message", message, detail))
    elif _NEWLINES.search(message.strip()):
        detail = "message must not contain line breaks"
        errors.append(FieldError.invalid(f"{field}.message", message, detail))
    reason = validation.get("reason")
    if reason is not None and reason not in REASONS:
        errors.append(FieldError.not_supported(f"{field}.reason", reason, REASONS))
    return errors


def _audit_annotation_errors(
    annotation: Mapping[str, Any], policy_name: str, env: _Environment, field: str
) -> list[FieldError]:
    """validateAuditAnnotation."""
    errors = []
    key = annotation.get("key") or ""
    if policy_name:
        qualified = f"{policy_name}/{key}"
        errors += [
            FieldError.invalid(f"{field}.key", qualified, problem)
            for problem in qualified_name(qualified)
        ]
    else:
        errors.append(
            FieldError.invalid(f"{field}.key", key, "requires metadata.name be non-empty")
        )
    value = annotation.get("valueExpression") or ""
    trimmed = value.strip()
    path = f"{field}.valueExpression"
    if not trimmed:
        errors.append(FieldError.required(path, "valueExpression is not specified"))
    elif len(trimmed.encode()) > MAX_AUDIT_VALUE_EXPRESSION:
        detail = f"must not exceed {MAX_AUDIT_VALUE_EXPRESSION} bytes in length"
        errors.append(FieldError.required(path, detail))
    else:
        # compiled trimmed, reported with the value as written
        # string or null (AuditAnnotationCondition.ReturnTypes): checked as any type here
        if (problem := _compile_problem(trimmed, env.declared(), "any")) is not None:
            errors.append(FieldError.invalid(path, value, problem))
    return errors


# --- ValidatingAdmissionPolicy -------------------------------------------------------------------


def _param_kind_errors(param_kind: Mapping[str, Any], field: str) -> list[FieldError]:
    """validateParamKind (and parseGroupVersion)."""
    errors = []
    api_version = param_kind.get("apiVersion") or ""
    path = f"{field}.apiVersion"
    if not api_version:
        errors.append(FieldError.required(path))
    elif api_version.count("/") > 1:
        detail = f"unexpected GroupVersion string: {api_version}"
        errors.append(FieldError.invalid(path, api_version, detail))
    else:
        group, _, version = api_version.rpartition("/")
        if api_version == "/":
            group = version = ""
        if group and (problems := dns1123_subdomain(group)):
            errors.append(FieldError.invalid(path, group, ",".join(problems)))
        if not version:
            errors.append(FieldError.invalid(path, api_version, "version must be specified"))
        elif problems := dns1035_label(version):
            errors.append(FieldError.invalid(path, version, ",".join(problems)))
    kind = param_kind.get("kind") or ""
    if not kind:
        errors.append(FieldError.required(f"{field}.kind"))
    elif problems := dns1035_label(kind.lower()):
        detail = "may have mixed case, but should otherwise match: " + ",".join(problems)
        errors.append(FieldError.invalid(f"{field}.kind", kind, detail))
    return errors


def _match_conditions_unchanged(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """ignoreValidatingAdmissionPolicyMatchConditions."""
    return all(new.get(key) == old.get(key) for key in ("paramKind", "matchConditions"))


def policy_errors(obj: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[FieldError]:
    """validateValidatingAdmissionPolicySpec (ValidateValidatingAdmissionPolicy, and its
    Update with the stored ``old``)."""
    spec = obj.get("spec") or {}
    errors = []
    failure_policy = spec.get("failurePolicy")
    if failure_policy is None:
        errors.append(FieldError.required("spec.failurePolicy"))
    elif failure_policy not in FAILURE_POLICIES:
        errors.append(
            FieldError.not_supported("spec.failurePolicy", failure_policy, FAILURE_POLICIES)
        )
    env = _Environment(_present(spec, "paramKind"), bool(spec.get("variables")))
    if env.has_params:
        errors += _param_kind_errors(spec["paramKind"], "spec.paramKind")
    if not _present(spec, "matchConstraints"):
        errors.append(FieldError.required("spec.matchConstraints"))
    else:
        errors += match_resources_errors(spec["matchConstraints"], "spec.matchConstraints", _POLICY)
        # at least one resourceRule must be defined to provide type information
        if not spec["matchConstraints"].get("resourceRules"):
            errors.append(FieldError.required("spec.matchConstraints.resourceRules"))
    if old is None or not _match_conditions_unchanged(spec, old.get("spec") or {}):
        errors += _match_conditions_errors(
            spec.get("matchConditions") or [], env, "spec.matchConditions"
        )
    for index, variable in enumerate(spec.get("variables") or []):
        errors += _variable_errors(variable, env, f"spec.variables[{index}]")
    validations = spec.get("validations") or []
    annotations = spec.get("auditAnnotations") or []
    if not validations and not annotations:
        detail = "validations or auditAnnotations must contain at least one item"
        errors.append(FieldError.required("spec.validations", detail))
        errors.append(FieldError.required("spec.auditAnnotations", detail))
        return errors
    for index, validation in enumerate(validations):
        errors += _validation_errors(validation, env, f"spec.validations[{index}]")
    if len(annotations) > MAX_AUDIT_ANNOTATIONS:
        detail = f"must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations"
        value = GoSlice("admissionregistration.AuditAnnotation", tuple(annotations))
        errors.append(FieldError.invalid("spec.auditAnnotations", value, detail))
    name = (obj.get("metadata") or {}).get("name") or ""
    keys: set[str] = set()
    for index, annotation in enumerate(annotations):
        field = f"spec.auditAnnotations[{index}]"
        errors += _audit_annotation_errors(annotation, name, env, field)
        key = annotation.get("key") or ""
        if key in keys:
            errors.append(FieldError.duplicate(f"{field}.key", key))
        keys.add(key)
    return errors


# --- ValidatingAdmissionPolicyBinding -------------------------------------------------------------


def _param_ref_errors(param_ref: Mapping[str, Any] | None, field: str) -> list[FieldError]:
    """validateParamRef."""
    if param_ref is None:
        return []
    errors = []
    name = param_ref.get("name") or ""
    has_selector = _present(param_ref, "selector")
    exclusive = "name and selector are mutually exclusive"
    if name:
        errors += [
            FieldError.invalid(f"{field}.name", name, problem)
            for problem in path_segment_name(name)
        ]
        if has_selector:
            errors.append(FieldError.forbidden(f"{field}.name", exclusive))
    if has_selector:
        errors += label_selector_errors(_BINDING, param_ref["selector"], f"{field}.selector")
        if name:
            errors.append(FieldError.forbidden(f"{field}.selector", exclusive))
    if not name and not has_selector:
        errors.append(FieldError.required(field, "one of name or selector must be specified"))
    action = param_ref.get("parameterNotFoundAction") or ""
    path = f"{field}.parameterNotFoundAction"
    if not action:
        errors.append(FieldError.required(path))
    elif action not in PARAMETER_NOT_FOUND_ACTIONS:
        errors.append(FieldError.not_supported(path, action, PARAMETER_NOT_FOUND_ACTIONS))
    return errors


def _validation_actions_errors(actions: Sequence[str], field: str) -> list[FieldError]:
    """validateValidationActions."""
    errors = []
    seen: set[str] = set()
    for index, action in enumerate(actions):
        if action not in VALIDATION_ACTIONS:
            errors.append(FieldError.not_supported(f"{field}[{index}]", action, VALIDATION_ACTIONS))
        if action in seen:
            errors.append(FieldError.duplicate(f"{field}[{index}]", action))
        seen.add(action)
    if {"Deny", "Warn"} <= seen:
        detail = (
            "must not contain both Deny and Warn (repeating the same validation failure "
            "information in the API response and headers serves no purpose)"
        )
        value = GoSlice("admissionregistration.ValidationAction", tuple(actions))
        errors.append(FieldError.invalid(field, value, detail))
    if not seen:
        errors.append(FieldError.required(field, "at least one validation action is required"))
    return errors


def binding_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """validateValidatingAdmissionPolicyBindingSpec (create and update alike)."""
    spec = obj.get("spec") or {}
    errors = []
    policy_name = spec.get("policyName") or ""
    if not policy_name:
        errors.append(FieldError.required("spec.policyName"))
    else:
        errors += [
            FieldError.invalid("spec.policyName", policy_name, problem)
            for problem in dns1123_subdomain(policy_name)
        ]
    errors += _param_ref_errors(spec.get("paramRef"), "spec.paramRef")
    # "matchResouces" [sic]: upstream's field path has this typo
    errors += match_resources_errors(spec.get("matchResources"), "spec.matchResouces", _BINDING)
    errors += _validation_actions_errors(
        spec.get("validationActions") or [], "spec.validationActions"
    )
    return errors
