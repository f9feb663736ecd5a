"""Seed documents: namespaces and pods to preload, from YAML/JSON files or dicts.

Format::

    namespaces: [{name: falco, labels: {team: sec}}]
    pods: [{namespace: falco, name: web, labels: {app: web}, uid: ..., creationTimestamp: ...,
            annotations: {...}, phase: Running, ready: true, nodeName: node-1, spec: {...}}]

Unknown keys are rejected so a typo fails loudly instead of seeding something else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

_NAMESPACE_KEYS = {"name": "name", "labels": "labels"}
# seed key -> KubeApiEmulator.create_pod keyword
_POD_KEYS = {
    "namespace": "namespace",
    "name": "name",
    "labels": "labels",
    "annotations": "annotations",
    "uid": "uid",
    "creationTimestamp": "creation_timestamp",
    "spec": "spec",
    "phase": "phase",
    "ready": "ready",
    "nodeName": "node_name",
}


@dataclass(frozen=True)
class Seed:
    namespaces: list[dict[str, Any]]  # create_namespace keyword arguments
    pods: list[dict[str, Any]]  # create_pod keyword arguments


def _entries(
    document: Mapping[str, Any], section: str, keys: Mapping[str, str]
) -> list[dict[str, Any]]:
    entries = document.get(section) or []
    if not isinstance(entries, list):
        raise ValueError(f"seed: {section} must be a list")
    converted = []
    for entry in entries:
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ValueError(f"seed: every entry of {section} needs a name: {entry!r}")
        unknown = set(entry) - set(keys)
        if unknown:
            raise ValueError(
                f"seed: unknown keys {sorted(unknown)} in {section} entry {entry['name']!r}"
            )
        converted.append({keys[key]: value for key, value in entry.items()})
    return converted


def load_seed(source: str | os.PathLike[str] | Mapping[str, Any]) -> Seed:
    if isinstance(source, Mapping):
        document: Any = source
    else:
        with open(source, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
    if not isinstance(document, Mapping):
        raise ValueError("seed: the document must be a mapping")
    unknown = set(document) - {"namespaces", "pods"}
    if unknown:
        raise ValueError(f"seed: unknown sections {sorted(unknown)}")
    pods = _entries(document, "pods", _POD_KEYS)
    for pod in pods:
        if "namespace" not in pod:
            raise ValueError(f"seed: pod {pod['name']!r} needs a namespace")
    return Seed(_entries(document, "namespaces", _NAMESPACE_KEYS), pods)
