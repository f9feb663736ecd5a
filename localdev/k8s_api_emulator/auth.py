"""Bearer-token authentication and an RBAC-like authorizer with upstream 401/403 bodies.

A token maps to a user and the verbs it may use, either for every resource or per resource.
A resource is named as RBAC names it, ``"pods"``, with a subresource as ``"pods/eviction"``
(a separate resource: ``pods`` does not grant it, nor it ``pods``). A bare plural holds in
every API group that serves it (no two emulated groups share a plural); a group suffix,
``"deployments.apps"`` or ``"deployments.apps/scale"``, restricts a rule to that group as an
RBAC rule's ``apiGroups`` would (the core group has no suffix to name it). Rules may also
hold in chosen namespaces only, as a Role bound by a RoleBinding does (``namespaces``).
Discovery paths are open to every authenticated user, as the default ``system:discovery``
role makes them; other non-resource paths need the ``"*"`` token.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .requestinfo import RequestInfo
from .status import ApiError, forbidden

VERBS = frozenset(
    {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
)
_ALL = "*"
_DISCOVERY = ("/api", "/api/*", "/apis", "/apis/*", "/version", "/version/")

VerbSpec = str | Iterable[str] | Mapping[str, str | Iterable[str]]


@dataclass(frozen=True)
class User:
    name: str
    # resource (or "*") -> verbs (or {"*"})
    rules: Mapping[str, frozenset[str]]
    # namespace -> rules that hold in that namespace only
    namespaced: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return _ALL in self.rules.get(_ALL, frozenset())

    def allows(self, info: RequestInfo) -> bool:
        if not info.is_resource:
            discovery = any(
                info.path == pattern
                or (pattern.endswith("*") and info.path.startswith(pattern[:-1]))
                for pattern in _DISCOVERY
            )
            return self.is_admin or (discovery and info.verb == "get")
        rules = list(self.rules.items())
        if info.namespace:
            rules += self.namespaced.get(info.namespace, {}).items()
        return any(
            info.verb in verbs or _ALL in verbs for key, verbs in rules if _covers(key, info)
        )


def _covers(key: str, info: RequestInfo) -> bool:
    """Whether rule key ``plural[.group][/subresource]`` (or ``*``) names the request's."""
    if key == _ALL:
        return True
    resource, _, subresource = key.partition("/")
    plural, _, group = resource.partition(".")
    if group and group != info.group:
        return False
    return (plural, subresource) == (info.resource, info.subresource)


def _verb_set(verbs: str | Iterable[str]) -> frozenset[str]:
    chosen = frozenset({verbs} if isinstance(verbs, str) else verbs)
    unknown = chosen - VERBS - {_ALL}
    if unknown:
        raise ValueError(f"unknown verbs {sorted(unknown)}; use {sorted(VERBS)} or '*'")
    return chosen


def _rules(verbs: VerbSpec) -> dict[str, frozenset[str]]:
    if isinstance(verbs, Mapping):
        return {resource: _verb_set(allowed) for resource, allowed in verbs.items()}
    return {_ALL: _verb_set(verbs)}


class TokenAuth:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, User] = {}

    def add_token(
        self,
        token: str,
        user: str,
        verbs: VerbSpec = _ALL,
        namespaces: Mapping[str, VerbSpec] | None = None,
    ) -> None:
        if not token:
            raise ValueError("token must not be empty")
        scoped = {namespace: _rules(spec) for namespace, spec in (namespaces or {}).items()}
        entry = User(user, _rules(verbs), scoped)
        with self._lock:
            self._users[token] = entry

    def authenticate(self, authorization: str | None) -> User | None:
        """The user behind an ``Authorization: Bearer <token>`` header, if any."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        with self._lock:
            return self._users.get(token.strip())


def forbidden_error(user: User, info: RequestInfo) -> ApiError:
    """responsewriters.ForbiddenStatusError: the RBAC denial message, word for word."""
    if not info.is_resource:
        return forbidden("", "", f'User "{user.name}" cannot {info.verb} path "{info.path}"')
    resource = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
    scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    cause = (
        f'User "{user.name}" cannot {info.verb} resource "{resource}" '
        f'in API group "{info.group}" {scope}'
    )
    return forbidden(info.resource, info.name, cause, info.group)
