"""The three patch formats a PATCH may carry, applied to an object's JSON form.

* ``application/json-patch+json``: RFC 6902 operations (add, remove, replace, move, copy,
  test) with RFC 6901 pointers; an operation that does not apply is a 422, as upstream.
* ``application/merge-patch+json``: RFC 7386; ``null`` deletes a key, lists are replaced.
* ``application/strategic-merge-patch+json``: a merge patch that merges some lists by key.
  Approximation: upstream reads each list's strategy from the Go types; the emulator knows the
  common ones (containers, env, volumes, ports, conditions, ownerReferences, finalizers...,
  see ``_merge_key``) and replaces every other list. The ``$patch`` (replace, delete, merge),
  ``$retainKeys`` and ``$deleteFromPrimitiveList/`` directives work; ``$setElementOrder/`` is
  accepted and ignored.

Server-side apply (``application/apply-patch+yaml``) is not supported: it answers 415.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .status import bad_request, rejected, unknown_error, unsupported_media_type

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
SUPPORTED = [JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH]

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_DIRECTIVE = "$patch"
_DELETE_FROM = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"
_RETAIN = "$retainKeys"


def apply_patch(content_type: str, document: dict[str, Any], raw: bytes) -> Any:
    """``document`` with the patch in ``raw`` applied; raises ApiError as the server would."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in SUPPORTED:
        raise unsupported_media_type(SUPPORTED)
    try:
        patch = json.loads(raw)
    except ValueError as error:
        if media_type == MERGE_PATCH:
            raise bad_request("Invalid JSON Patch") from None
        raise bad_request(f"error decoding patch: {error}") from None
    if media_type == JSON_PATCH:
        if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
            kind = "object" if isinstance(patch, dict) else type(patch).__name__
            raise bad_request(
                f"json: cannot unmarshal {kind} into Go value of type jsonpatch.Patch"
            )
        return json_patch(document, patch)
    if media_type == MERGE_PATCH:
        if not isinstance(patch, dict):
            raise bad_request("Invalid JSON Patch")
        return merge_patch(document, patch)
    if patch is None:
        return copy.deepcopy(document)
    if not isinstance(patch, dict):
        kind = "array" if isinstance(patch, list) else type(patch).__name__
        raise bad_request(
            f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )
    return strategic_merge_patch(document, patch)


# --- RFC 7386 ------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- RFC 6902 ------------------------------------------------------------------------------


class _PatchFailed(Exception):
    pass


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise _PatchFailed(f"invalid pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _index(container: list[Any], segment: str, *, adding: bool = False) -> int:
    if adding and segment == "-":
        return len(container)
    if not segment.isdigit() or (len(segment) > 1 and segment.startswith("0")):
        raise _PatchFailed(f"invalid array index {segment!r}")
    index = int(segment)
    if index > len(container) or (index == len(container) and not adding):
        raise _PatchFailed(f"array index {index} out of bounds")
    return index


def _parent(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token)]
        else:
            raise _PatchFailed(f"missing path segment {token!r}")
    return node


def _get(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        return document
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last)]
    raise _PatchFailed(f"missing value at {last!r}")


def _remove(document: Any, tokens: list[str]) -> Any:
    if not tokens:
        raise _PatchFailed("cannot remove the whole document")
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last))
    raise _PatchFailed(f"missing value at {last!r}")


def _add(document: Any, tokens: list[str], value: Any) -> Any:
    if not tokens:
        return value
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, adding=True), value)
    else:
        raise _PatchFailed(f"cannot add to a scalar at {last!r}")
    return document


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    result = copy.deepcopy(document)
    try:
        for operation in operations:
            result = _apply_operation(result, operation)
    except _PatchFailed:
        raise rejected() from None
    return result


def _apply_operation(document: Any, operation: dict[str, Any]) -> Any:
    op = operation.get("op")
    if "path" not in operation:
        raise _PatchFailed("operation missing path")
    path = _tokens(operation["path"])
    if op in ("add", "replace", "test") and "value" not in operation:
        raise _PatchFailed(f"{op} operation missing value")
    value = copy.deepcopy(operation.get("value"))
    if op == "add":
        return _add(document, path, value)
    if op == "remove":
        _remove(document, path)
        return document
    if op == "replace":
        _get(document, path)  # must exist
        if not path:
            return value
        _remove(document, path)
        return _add(document, path, value)
    if op == "test":
        if _get(document, path) != value:
            raise _PatchFailed("testing value failed")
        return document
    if op in ("move", "copy"):
        source = _tokens(operation.get("from"))
        moved = _remove(document, source) if op == "move" else copy.deepcopy(_get(document, source))
        return _add(document, path, moved)
    raise _PatchFailed(f"unexpected kind: {op}")


# --- strategic merge patch -----------------------------------------------------------------


def _merge_key(path: tuple[str, ...]) -> str | None:
    """The patchMergeKey of the list at ``path`` (map keys from the root), or None: replace."""
    last = path[-1] if path else ""
    parent = path[-2] if len(path) > 1 else ""
    if last in _CONTAINER_LISTS or last in ("env", "imagePullSecrets"):
        return "name"
    if last == "volumes" and parent == "spec":
        return "name"
    if last == "ports" and parent in _CONTAINER_LISTS:
        return "containerPort"
    if last == "volumeMounts":
        return "mountPath"
    if last == "volumeDevices":
        return "devicePath"
    if last == "conditions":
        return "type"
    if last == "ownerReferences":
        return "uid"
    if last == "addresses" and parent == "status":
        return "type"
    if last == "hostAliases":
        return "ip"
    return None


def _merges_primitives(path: tuple[str, ...]) -> bool:
    return path in (("metadata", "finalizers"),)


def strategic_merge_patch(
    original: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...] = ()
) -> dict[str, Any] | None:
    """The merged map, or None when the patch deletes it (``$patch: delete``)."""
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return None
    body = {k: v for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "replace":
        return _strip_directives(body)
    if directive not in (None, "merge"):
        raise bad_request(f"Unknown patch type: {directive}, Original map: {original}")
    result = copy.deepcopy(original)
    retain = body.pop(_RETAIN, None)
    for key, value in body.items():
        if key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_FROM):
            field = key[len(_DELETE_FROM) :]
            if isinstance(result.get(field), list) and isinstance(value, list):
                result[field] = [item for item in result[field] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            merged = strategic_merge_patch(result[key], value, (*path, key))
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = _merge_list(result[key], value, (*path, key))
        elif isinstance(value, dict):
            merged = strategic_merge_patch({}, value, (*path, key))
            if merged is not None:
                result[key] = merged
        else:
            result[key] = _strip_directives(value)
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list[Any], patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        return [
            _strip_directives(item)
            for item in patch
            if not (isinstance(item, dict) and item.get(_DIRECTIVE) == "replace")
        ]
    if _merges_primitives(path):
        return original + [item for item in patch if item not in original]
    key = _merge_key(path)
    if key is None:
        return _strip_directives(patch)
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise unknown_error(f"map: {item} does not contain declared merge key: {key}")
        match = next(
            (
                index
                for index, old in enumerate(result)
                if isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if match is not None:
                result.pop(match)
            continue
        if match is None:
            result.append(strategic_merge_patch({}, item, path))
        else:
            merged = strategic_merge_patch(result[match], item, path)
            if merged is not None:
                result[match] = merged
    return result


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_directives(v)
            for k, v in value.items()
            if not k.startswith("$") and v is not None
        }
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value
