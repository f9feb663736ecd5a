"""RBAC manifests (ClusterRoles, Roles and their bindings) as the rights of one token.

What ``python -m localdev.k8s_api_emulator --token NAME=RBAC_FILE`` and the local stack
use, so a token holds what the manifests would grant on a cluster: with bindings in the
documents, each ClusterRoleBinding grants its ClusterRole everywhere and each RoleBinding
its Role or ClusterRole in the binding's namespace; without any, every ClusterRole holds
everywhere and every Role in its own namespace (as ``falco-responder policy rbac`` prints
them, to be bound by deploy/rbac). The user is the first binding's subject (a ServiceAccount
as ``system:serviceaccount:<namespace>:<name>``) unless one is given.

Each document is first held to the API server's validation of its kind (validate_rbac.py):
what a cluster would refuse, this refuses with the API server's message. Rules the
emulator's authorizer cannot honour exactly (``resourceNames``,
``nonResourceURLs``, ``resources: ["*"]`` in a named group) are refused rather than
widened.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from . import validate_rbac
from .status import ApiError

_RBAC = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class Grant:
    user: str
    cluster: dict[str, set[str]]  # resource key -> verbs, in every namespace
    namespaced: dict[str, dict[str, set[str]]]  # namespace -> resource key -> verbs


def load(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [document for document in yaml.safe_load_all(handle) if document]


def _keys(rule: dict[str, Any], where: str) -> list[str]:
    """Rule -> auth.py resource keys: ``plural``, ``plural.group``, ``plural/sub``..."""
    for unsupported in ("resourceNames", "nonResourceURLs"):
        if rule.get(unsupported):
            raise ValueError(f"{where}: {unsupported} is not supported by k8s-api-emulator")
    keys = []
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            if resource == "*" or resource.startswith("*/"):
                if group != "*" or resource != "*":
                    raise ValueError(f"{where}: only apiGroups ['*'] may go with resources ['*']")
                keys.append("*")
                continue
            plural, slash, subresource = resource.partition("/")
            suffix = "" if group in ("", "*") else f".{group}"
            keys.append(f"{plural}{suffix}{slash}{subresource}")
    return keys


def _rules(role: dict[str, Any]) -> dict[str, set[str]]:
    where = f"{role.get('kind')} {role.get('metadata', {}).get('name')!r}"
    rules: dict[str, set[str]] = defaultdict(set)
    for rule in role.get("rules") or []:
        for key in _keys(rule, where):
            rules[key] |= set(rule.get("verbs") or [])
    return dict(rules)


def _subject_user(subject: dict[str, Any]) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f"system:serviceaccount:{subject.get('namespace')}:{subject.get('name')}"
    return str(subject.get("name"))


def _merge(into: dict[str, set[str]], rules: dict[str, set[str]]) -> None:
    for key, verbs in rules.items():
        into.setdefault(key, set()).update(verbs)


def grant(documents: Iterable[dict[str, Any]], user: str | None = None) -> Grant:
    """The rights and user the RBAC ``documents`` give; ValueError names what is wrong."""
    roles: dict[tuple[str, str, str], dict[str, set[str]]] = {}
    bindings = []
    for document in documents:
        kind = document.get("kind")
        if document.get("apiVersion") != _RBAC:
            raise ValueError(f"{kind}: expected apiVersion {_RBAC}")
        if kind not in validate_rbac.KINDS:
            raise ValueError(f"{kind}: not an RBAC role or binding")
        try:  # what the API server would refuse, it refuses here
            validate_rbac.check_document(document)
        except ApiError as error:
            raise ValueError(error.message) from None
        meta = document.get("metadata") or {}
        if kind in ("ClusterRole", "Role"):
            namespace = meta.get("namespace", "") if kind == "Role" else ""
            roles[(kind, namespace, meta.get("name", ""))] = _rules(document)
        else:
            bindings.append(document)
    cluster: dict[str, set[str]] = {}
    namespaced: dict[str, dict[str, set[str]]] = defaultdict(dict)
    if not bindings:
        for (kind, namespace, _), rules in roles.items():
            _merge(namespaced[namespace] if kind == "Role" else cluster, rules)
    for binding in bindings:
        meta, ref = binding.get("metadata") or {}, binding.get("roleRef") or {}
        namespace = meta.get("namespace", "") if binding["kind"] == "RoleBinding" else ""
        role_namespace = namespace if ref.get("kind") == "Role" else ""
        rules = roles.get((ref.get("kind", ""), role_namespace, ref.get("name", "")))
        if rules is None:
            raise ValueError(f"{binding['kind']} {meta.get('name')!r}: its role is not given")
        _merge(namespaced[namespace] if namespace else cluster, rules)
        subjects = binding.get("subjects") or []
        if user is None and subjects:
            user = _subject_user(subjects[0])
    if user is None:
        raise ValueError("no user: give one, or a binding with a subject")
    return Grant(user, cluster, dict(namespaced))
