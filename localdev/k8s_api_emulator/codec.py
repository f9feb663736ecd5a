"""Request bodies decoded into stored objects, as the API server's decoder and defaulter do."""

from __future__ import annotations

import copy
from typing import Any

from .kinds import ResourceKind
from .status import bad_request


def decode(kind: ResourceKind, body: Any) -> dict[str, Any]:
    """A body -> object without ``kind``/``apiVersion``, checked against ``kind`` and defaulted.

    Type problems are 400s, as a Go decoding error would be; field validation comes later.
    """
    if not isinstance(body, dict):
        raise bad_request(f"the object provided is unrecognized (must be of type {kind.kind})")
    body_kind = body.get("kind") or kind.kind
    body_version = body.get("apiVersion") or kind.api_version
    if (body_kind, body_version) != (kind.kind, kind.api_version):
        raise bad_request(
            f'{body_kind} in version "{body_version.rpartition("/")[2]}" '
            f"cannot be handled as a {kind.kind}"
        )
    obj = copy.deepcopy({k: v for k, v in body.items() if k not in ("kind", "apiVersion")})
    for part in ("metadata", "spec", "status"):
        if obj.get(part) is None:
            obj.pop(part, None)  # JSON null reads as absent, as Go's decoder does
        elif not isinstance(obj[part], dict):
            raise bad_request(f"{kind.kind}.{part}: expected an object")
    meta = obj.setdefault("metadata", {})
    for name in ("name", "generateName", "namespace", "uid", "resourceVersion"):
        if meta.get(name) is not None and not isinstance(meta[name], str):
            raise bad_request(f"{kind.kind}.metadata.{name}: expected a string")
    for part in ("labels", "annotations"):
        values = meta.get(part)
        if values is not None and not (
            isinstance(values, dict) and all(isinstance(v, str) for v in values.values())
        ):
            raise bad_request(f"{kind.kind}.metadata.{part}: expected a map of strings")
    references = meta.get("ownerReferences")
    if references is not None and not (
        isinstance(references, list) and all(isinstance(r, dict) for r in references)
    ):
        raise bad_request(f"{kind.kind}.metadata.ownerReferences: expected a list of objects")
    kind.strategy.default(obj)
    return obj


def typed(kind: ResourceKind, obj: dict[str, Any]) -> dict[str, Any]:
    """A stored object as a single-object response: ``kind`` and ``apiVersion`` first."""
    return {"kind": kind.kind, "apiVersion": kind.api_version, **obj}
