"""Request handling in the API server's filter order: faults, authentication, authorization,
then discovery or resource routes (whose writes pass admission, ``admission.py``). Knows
nothing about sockets; ``server.py`` does the HTTP."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .admission import Admit, ValidatingAdmission
from .api import ResourceApi
from .auth import TokenAuth, User, forbidden_error
from .discovery import VERSION_INFO, api_group, api_group_list, api_versions, resource_list
from .eviction import EvictionApi
from .faults import Fault, FaultInjector
from .kinds import Registry, ResourceKind
from .logs import ContainerLogs
from .options import delete_options_from_body, delete_options_from_query, dry_run_from_query
from .query import first, integer
from .requestinfo import RequestInfo, parse_request_info
from .requestlog import RequestLog, RequestRecord
from .scale import ScaleApi
from .status import (
    ApiError,
    bad_request,
    internal_error,
    method_not_allowed,
    route_not_found,
    unauthorized,
)
from .updates import UpdateApi

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query string
    query: dict[str, list[str]]
    authorization: str | None
    body: bytes
    server_address: str  # host:port the request arrived on, for /api discovery
    content_type: str = ""
    # time.perf_counter() when the server began to read the request's headers.
    received: float = field(default_factory=time.perf_counter)


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    # A plain-text answer (pods/log) instead of the JSON `body`.
    text: bytes | None = None


def _error_response(error: ApiError) -> Response:
    return Response(error.code, error.status(), error.headers)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise bad_request(f"couldn't get version/kind; json parse error: {error}") from None


class Router:
    def __init__(
        self,
        registry: Registry,
        api: ResourceApi,
        auth: TokenAuth,
        faults: FaultInjector,
        log: RequestLog,
        stopping: threading.Event,
        *,
        updates: UpdateApi,
        evictions: EvictionApi,
        scales: ScaleApi,
        admission: ValidatingAdmission,
        logs: ContainerLogs,
    ) -> None:
        self._registry = registry
        self._api = api
        self._updates = updates
        self._evictions = evictions
        self._scales = scales
        self._admission = admission
        self._logs = logs
        self._auth = auth
        self._faults = faults
        self._log = log
        self._stopping = stopping  # cuts injected hangs short when the emulator stops

    def handle(self, request: Request) -> Response:
        user = self._auth.authenticate(request.authorization)
        fault = self._faults.take(request.method, request.path)
        if fault is not None and not fault.after_performing:
            return self._inject(request, fault, user)
        response = self._perform(request, user)
        if fault is not None:
            # The request took effect; only its answer is lost on the way back.
            return self._inject(request, fault, user)
        self._record(request, response.status, user)
        return response

    def _perform(self, request: Request, user: User | None) -> Response:
        warnings: list[str] = []
        try:
            response = self._route(request, user, warnings)
        except ApiError as error:
            response = _error_response(error)
        except Exception:
            # An emulator bug still answers with a Status the client can parse.
            _log.exception("k8s-api-emulator failed on %s %s", request.method, request.path)
            response = _error_response(internal_error("k8s-api-emulator bug, see its log"))
        if warnings:
            # RFC 7234 warn-code 299, several values comma-separated, as the server sends them.
            escaped = [w.replace("\\", "\\\\").replace('"', '\\"') for w in warnings]
            response.headers["Warning"] = ", ".join(f'299 - "{w}"' for w in escaped)
        return response

    def _inject(self, request: Request, fault: Fault, user: User | None) -> Response:
        error = fault.error()
        # Logged before a hang so a test can see the request while the client still waits.
        self._record(request, error.code, user)
        if fault.hang_seconds is not None:
            self._stopping.wait(fault.hang_seconds)
        return _error_response(error)

    def _record(self, request: Request, status: int, user: User | None) -> None:
        self._log.append(
            RequestRecord(
                method=request.method,
                path=request.path,
                query=request.query,
                status=status,
                user=user.name if user else None,
                seconds=time.perf_counter() - request.received,
            )
        )

    def _route(self, request: Request, user: User | None, warnings: list[str]) -> Response:
        if user is None:
            raise unauthorized()
        info = parse_request_info(request.method, request.path, request.query)
        if not user.allows(info):
            raise forbidden_error(user, info)
        if info.is_resource:
            return self._resource(request, info, self._admission.admitter(user, warnings))
        document = self._discovery(request)
        if document is None:
            raise route_not_found()
        if request.method != "GET":
            raise method_not_allowed()
        return Response(200, document)

    def _discovery(self, request: Request) -> dict[str, Any] | None:
        match [part for part in request.path.split("/") if part]:
            case ["version"]:
                return dict(VERSION_INFO)
            case ["api"]:
                return api_versions(request.server_address)
            case ["api", version]:
                return resource_list(self._registry, "", version)
            case ["apis"]:
                return api_group_list(self._registry)
            case ["apis", group]:
                return api_group(self._registry, group)
            case ["apis", group, version]:
                return resource_list(self._registry, group, version)
        return None

    def _kind(self, info: RequestInfo) -> ResourceKind:
        kind = self._registry.lookup(info.group, info.version, info.resource)
        if kind is None or (info.subresource and kind.subresource(info.subresource) is None):
            raise route_not_found()
        # Cluster-scoped kinds have no /namespaces/{ns}/ routes; namespaced objects no
        # cluster-wide ones (only the all-namespaces list exists there).
        if info.in_namespace and not kind.namespaced:
            raise route_not_found()
        if kind.namespaced and info.name and not info.in_namespace:
            raise route_not_found()
        return kind

    def _resource(self, request: Request, info: RequestInfo, admit: Admit) -> Response:
        kind = self._kind(info)
        namespace = info.namespace if kind.namespaced else ""
        query = request.query
        if request.method == "HEAD":
            raise method_not_allowed()
        if info.subresource:
            return self._subresource(request, info, kind, namespace, admit)
        if info.verb == "get":
            return Response(200, self._api.get(kind, namespace, info.name))
        if info.verb == "list":
            scope = namespace if kind.namespaced and info.in_namespace else None
            listing = self._api.list(
                kind,
                scope,
                first(query, "labelSelector"),
                first(query, "fieldSelector"),
                integer(query, "limit"),
                first(query, "continue"),
            )
            return Response(200, listing)
        if info.verb == "create" and not info.name and (info.in_namespace or not kind.namespaced):
            dry_run = dry_run_from_query(query, "CreateOptions")
            created = self._api.create(
                kind, namespace, _json(request.body), dry_run=dry_run, admit=admit
            )
            return Response(201, created)
        if info.verb in ("update", "patch") and info.name:
            options = "UpdateOptions" if info.verb == "update" else "PatchOptions"
            dry_run = dry_run_from_query(query, options)
            return self._write(request, info, kind, namespace, dry_run, admit)
        if info.verb == "delete":
            if request.body.strip():
                body = _json(request.body)
                if not isinstance(body, dict):
                    raise bad_request("decoded object cannot be converted to DeleteOptions")
                options = delete_options_from_body(body)
            else:
                options = delete_options_from_query(query)
            status, result = self._api.delete(kind, namespace, info.name, options, admit)
            return Response(status, result)
        raise method_not_allowed()

    def _subresource(
        self,
        request: Request,
        info: RequestInfo,
        kind: ResourceKind,
        namespace: str,
        admit: Admit,
    ) -> Response:
        sub = kind.subresource(info.subresource)
        if sub is None or info.verb not in sub.verbs:
            raise method_not_allowed()
        options = "CreateOptions" if info.verb == "create" else "UpdateOptions"
        if info.verb == "patch":
            options = "PatchOptions"
        dry_run = False if info.verb == "get" else dry_run_from_query(request.query, options)
        if sub.name == "eviction":
            status, body = self._evictions.evict(
                namespace, info.name, _json(request.body), dry_run=dry_run, admit=admit
            )
            return Response(status, body)
        if sub.name == "log":
            return Response(200, {}, text=self._logs.read(namespace, info.name, request.query))
        if sub.name == "scale":
            if info.verb == "get":
                return Response(200, self._scales.get(kind, namespace, info.name))
            body = _json(request.body) if info.verb == "update" else None
            patch = (request.content_type, request.body) if info.verb == "patch" else None
            scale = self._scales.update(
                kind, namespace, info.name, body, patch, dry_run=dry_run, admit=admit
            )
            return Response(200, scale)
        if info.verb == "get":
            return Response(200, self._api.get(kind, namespace, info.name))
        return self._write(request, info, kind, namespace, dry_run, admit, subresource="status")

    def _write(
        self,
        request: Request,
        info: RequestInfo,
        kind: ResourceKind,
        namespace: str,
        dry_run: bool,
        admit: Admit,
        subresource: str = "",
    ) -> Response:
        """PUT (update) or PATCH of an object, or of its status."""
        if info.verb == "update":
            status, updated = self._updates.update(
                kind,
                namespace,
                info.name,
                _json(request.body),
                dry_run=dry_run,
                admit=admit,
                subresource=subresource,
            )
            return Response(status, updated)
        patched = self._updates.patch(
            kind,
            namespace,
            info.name,
            request.content_type,
            request.body,
            dry_run=dry_run,
            admit=admit,
            subresource=subresource,
        )
        return Response(200, patched)
