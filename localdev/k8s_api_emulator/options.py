"""Request options (``DeleteOptions``, ``dryRun``) decoded and validated as upstream does.

A DELETE takes its options from the JSON body when there is one and from the query string
only when the body is empty (handlers/delete.go), so the two are never merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .query import first
from .status import FieldError, bad_request, invalid

_PROPAGATION = ["Foreground", "Background", "Orphan"]
_META_GROUP = "meta.k8s.io"


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    uid: str | None = None
    resource_version: str | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    dry_run: bool = False


def dry_run_from_query(query: Mapping[str, Sequence[str]], options_kind: str) -> bool:
    """``?dryRun=All`` for create; anything but ``All`` is rejected like upstream."""
    values = query.get("dryRun", [])
    if any(value != "All" for value in values):
        error = FieldError.not_supported("dryRun", list(values), ["All"])
        raise invalid(options_kind, "", [error], group=_META_GROUP)
    return bool(values)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(f"{name}: expected an integer, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise bad_request(f'strconv.ParseBool: parsing "{value}": invalid syntax ({name})')


def delete_options_from_body(body: Mapping[str, Any]) -> DeleteOptions:
    preconditions = body.get("preconditions") or {}
    dry_run = body.get("dryRun") or []
    if not isinstance(preconditions, Mapping) or not isinstance(dry_run, list):
        raise bad_request("decoded object cannot be converted to DeleteOptions")
    grace = body.get("gracePeriodSeconds")
    orphan = body.get("orphanDependents")
    return _validated(
        DeleteOptions(
            grace_period_seconds=None if grace is None else _int(grace, "gracePeriodSeconds"),
            uid=preconditions.get("uid"),
            resource_version=preconditions.get("resourceVersion"),
            propagation_policy=body.get("propagationPolicy"),
            orphan_dependents=None if orphan is None else _bool(orphan, "orphanDependents"),
        ),
        dry_run,
    )


def delete_options_from_query(query: Mapping[str, Sequence[str]]) -> DeleteOptions:
    grace = first(query, "gracePeriodSeconds")
    orphan = first(query, "orphanDependents")
    return _validated(
        DeleteOptions(
            grace_period_seconds=None if grace is None else _int(grace, "gracePeriodSeconds"),
            propagation_policy=first(query, "propagationPolicy"),
            orphan_dependents=None if orphan is None else _bool(orphan, "orphanDependents"),
        ),
        query.get("dryRun", []),
    )


def _validated(options: DeleteOptions, dry_run: Sequence[str]) -> DeleteOptions:
    """ValidateDeleteOptions: one 422 listing every problem, then the dry-run flag."""
    errors = []
    policy = options.propagation_policy
    if options.orphan_dependents is not None and policy is not None:
        errors.append(
            FieldError.invalid(
                "propagationPolicy",
                policy,
                "orphanDependents and deletionPropagation cannot be both set",
            )
        )
    if policy is not None and policy not in _PROPAGATION:
        errors.append(FieldError.not_supported("propagationPolicy", policy, [*_PROPAGATION, "nil"]))
    if any(value != "All" for value in dry_run):
        errors.append(FieldError.not_supported("dryRun", list(dry_run), ["All"]))
    if errors:
        raise invalid("DeleteOptions", "", errors, group=_META_GROUP)
    return replace(options, dry_run=bool(dry_run))
