"""Policies for the local stack: the default policy with a few settings changed."""

import tempfile
from pathlib import Path
from typing import Any

import yaml

from responder.handler import DEFAULT_POLICY_FILE

# Tests and benchmarks delete hundreds of pods in minutes: far past the default circuit
# breaker, which has tests of its own.
MANY_ACTIONS = {"safety": {"circuit_breaker": {"max_actions": 100_000}}}


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def default_policy_with(
    changes: dict[str, Any], first_rules: list[dict[str, Any]] | None = None
) -> Path:
    """A temporary policy file: the default policy with `changes` merged in, and
    `first_rules` tried before its own rules."""
    document = _merge(yaml.safe_load(DEFAULT_POLICY_FILE.read_text()), changes)
    document["rules"] = [*(first_rules or []), *document.get("rules", [])]
    handle, name = tempfile.mkstemp(prefix="falco-responder-policy-", suffix=".yaml")
    with open(handle, "w") as file:
        yaml.safe_dump(document, file, sort_keys=False)
    return Path(name)
