"""Request attributes as the API server's ``RequestInfoFactory`` derives them from a URL.

Authorization and routing both work from these, so a 403 names the same verb, resource and
namespace a real server would (e.g. ``GET /api/v1/namespaces/x`` is in namespace ``x``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
# /api/v1/namespaces/{name}/{these} address the namespace itself, not a resource in it.
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class RequestInfo:
    path: str
    verb: str
    is_resource: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    # Addressed as /namespaces/{namespace}/{resource}...; only namespaced kinds live there.
    in_namespace: bool = False


def parse_request_info(method: str, path: str, query: Mapping[str, Sequence[str]]) -> RequestInfo:
    parts = [part for part in path.split("/") if part]
    non_resource = RequestInfo(path=path, verb=method.lower())
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return non_resource
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return non_resource
        group, parts = parts[0], parts[1:]
    version, parts = parts[0], parts[1:]

    namespace, in_namespace = "", False
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in _NAMESPACE_SUBRESOURCES:
            parts, in_namespace = parts[2:], True

    name = parts[1] if len(parts) > 1 else ""
    verb = _VERBS.get(method, "")
    if not name and verb == "get":
        verb = "watch" if query.get("watch", [""])[-1] in ("true", "1") else "list"
    elif not name and verb == "delete":
        verb = "deletecollection"
    return RequestInfo(
        path=path,
        verb=verb,
        is_resource=True,
        group=group,
        version=version,
        resource=parts[0],
        subresource=parts[2] if len(parts) > 2 else "",
        namespace=namespace,
        name=name,
        in_namespace=in_namespace,
    )
