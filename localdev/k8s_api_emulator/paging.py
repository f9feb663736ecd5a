"""``limit`` and ``continue`` on a list, as the API server's etcd3 store pages one.

Follows staging/src/k8s.io/apiserver/pkg/storage/etcd3/store.go (GetList: at most
``limit`` matching items in key order, a ``continue`` token while keys remain, even when
none of them would match; ``remainingItemCount`` only for an unfiltered list) and
storage/continue.go (EncodeContinue / DecodeContinue: base64url JSON ``{"v", "rv",
"start"}``, the start key relative to the listed prefix; a bad token is a 400).

Unlike etcd, a continued list reads the store as it is now, not as it was at the token's
resource version, and no token ever expires (410).
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
from collections.abc import Callable
from typing import Any

from .status import ApiError, bad_request

_VERSION = "meta.k8s.io/v1"


def key_of(obj: dict[str, Any], namespace: str | None) -> str:
    """The object's key relative to the listed prefix: `name` within a namespace (or for a
    cluster-scoped kind), `namespace/name` across namespaces."""
    meta = obj["metadata"]
    if namespace is not None or not meta.get("namespace"):
        return str(meta["name"])
    return f"{meta['namespace']}/{meta['name']}"


def encode_continue(key: str, revision: int) -> str:
    """storage.EncodeContinue for the key after `key`."""
    token = {"v": _VERSION, "rv": revision, "start": key + "\x00"}
    encoded = json.dumps(token, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(encoded).decode().rstrip("=")


def _invalid(reason: str) -> ApiError:
    return bad_request(f"invalid continue token: {reason}")


def decode_continue(token: str) -> str:
    """storage.DecodeContinue: the start key of a ``continue`` token, or a 400 worded as
    the etcd3 store's GetList words it."""
    generic = "continue key is not valid"
    try:
        if "=" in token:  # base64.RawURLEncoding: no padding
            raise ValueError("illegal base64 data")
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise _invalid(f"{generic}: {exc}") from None
    if not isinstance(decoded, dict) or decoded.get("v") != _VERSION:
        version = decoded.get("v") if isinstance(decoded, dict) else None
        raise _invalid(f"{generic}: server does not recognize this encoded version {version}")
    if not decoded.get("rv"):
        raise _invalid(
            f"{generic}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    start = decoded.get("start")
    if not isinstance(start, str) or not start:
        raise _invalid(f"{generic}: encoded start key empty (version meta.k8s.io/v1)")
    # Against path traversal: the key, rooted, must be its own path.Clean.
    rooted = start if start.startswith("/") else "/" + start
    if posixpath.normpath(rooted) != rooted:
        raise _invalid(f"{generic}: {start}")
    return rooted[1:]


def page(
    items: list[dict[str, Any]],
    namespace: str | None,
    matches: Callable[[dict[str, Any]], bool],
    filtered: bool,
    limit: int | None,
    token: str | None,
    revision: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The matching items of one page (``items`` in key order) and the list metadata."""
    start = decode_continue(token) if token else None
    remaining = [o for o in items if start is None or key_of(o, namespace) >= start]
    if not limit or limit <= 0:
        return [o for o in remaining if matches(o)], {}
    selected: list[dict[str, Any]] = []
    for position, obj in enumerate(remaining):
        if not matches(obj):
            continue
        selected.append(obj)
        if len(selected) == limit:
            rest = remaining[position + 1 :]
            if not rest:
                break
            metadata: dict[str, Any] = {
                "continue": encode_continue(key_of(obj, namespace), revision)
            }
            if not filtered:
                metadata["remainingItemCount"] = len(rest)
            return selected, metadata
    return selected, {}
