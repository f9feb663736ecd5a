"""``metav1.Status`` failure bodies, built the way k8s.io/apimachinery/pkg/api/errors does.

Messages and ``details`` follow the upstream constructors (``NewNotFound``, ``NewConflict``, ...)
so clients that parse ``reason``/``details`` behave as they would against a real API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def qualified(resource: str, group: str = "") -> str:
    """``schema.GroupResource.String()``: ``pods`` or ``deployments.apps``."""
    return f"{resource}.{group}" if group else resource


def _details(name: str = "", group: str = "", kind: str = "", **extra: Any) -> dict[str, Any]:
    # Go omits empty fields of StatusDetails, so the core group never shows up as "group": "".
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({key: value for key, value in extra.items() if value})
    return details


@dataclass(frozen=True)
class FieldError:
    """One ``field.Error``; ``type`` is its CauseType (``FieldValueRequired``...)."""

    type: str
    field: str
    body: str

    @classmethod
    def required(cls, field: str, detail: str = "") -> FieldError:
        return cls("FieldValueRequired", field, _with_detail("Required value", detail))

    @classmethod
    def invalid(cls, field: str, value: object, detail: str) -> FieldError:
        return cls(
            "FieldValueInvalid", field, _with_detail(f"Invalid value: {go_quote(value)}", detail)
        )

    @classmethod
    def forbidden(cls, field: str, detail: str) -> FieldError:
        return cls("FieldValueForbidden", field, _with_detail("Forbidden", detail))

    @classmethod
    def not_supported(cls, field: str, value: object, supported: list[str]) -> FieldError:
        choices = ", ".join(go_quote(choice) for choice in supported)
        body = f"Unsupported value: {go_quote(value)}: supported values: {choices}"
        return cls("FieldValueNotSupported", field, body)

    @classmethod
    def invalid_rendered(cls, field: str, rendered: str, detail: str) -> FieldError:
        """field.Invalid of a value ErrorBody prints with %#v (structs, maps, pointers)."""
        return cls("FieldValueInvalid", field, f"Invalid value: {rendered}: {detail}")

    @classmethod
    def duplicate(
        cls, field: str, value: object, detail: str = "", rendered: str | None = None
    ) -> FieldError:
        """field.Duplicate, with the Detail some validators set on it (validateNodeTaints);
        ``rendered`` is a struct value as ErrorBody prints it (%#v)."""
        shown = go_quote(value) if rendered is None else rendered
        return cls("FieldValueDuplicate", field, _with_detail(f"Duplicate value: {shown}", detail))

    @classmethod
    def too_long(cls, field: str, limit: int) -> FieldError:
        """field.TooLong: the value itself is never printed."""
        return cls("FieldValueTooLong", field, f"Too long: must have at most {limit} bytes")

    @classmethod
    def too_many(cls, field: str, actual: int, limit: int) -> FieldError:
        items = "item" if limit == 1 else "items"
        return cls(
            "FieldValueTooMany", field, f"Too many: {actual}: must have at most {limit} {items}"
        )

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


def _with_detail(prefix: str, detail: str) -> str:
    return f"{prefix}: {detail}" if detail else prefix


def go_quote(value: object) -> str:
    """Render a bad value like ``field.Error.ErrorBody`` does (``%q`` or ``%#v``)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[]string{" + ", ".join(go_quote(item) for item in value) + "}"
    return str(value)


class ApiError(Exception):
    """A failure answered with a ``Status`` body; raised anywhere below the HTTP layer."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:  # StatusReasonUnknown is "" and omitted
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def success(name: str, group: str, resource: str, uid: str) -> dict[str, Any]:
    """What ``Store.finalizeDelete`` returns for kinds that do not return the deleted object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": _details(name, group, resource, uid=uid),
    }


def eviction_success() -> dict[str, Any]:
    """The Status an eviction answers with: create.go fills in 201 for a code-less Status."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    message = f"{qualified(resource, group)} {go_quote(name)} not found"
    return ApiError(404, "NotFound", message, _details(name, group, resource))


def route_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    message = f"{qualified(resource, group)} {go_quote(name)} already exists"
    return ApiError(409, "AlreadyExists", message, _details(name, group, resource))


def conflict(resource: str, name: str, cause: str, group: str = "") -> ApiError:
    message = (
        f"Operation cannot be fulfilled on {qualified(resource, group)} {go_quote(name)}: {cause}"
    )
    return ApiError(409, "Conflict", message, _details(name, group, resource))


def forbidden(
    resource: str,
    name: str,
    cause: str,
    group: str = "",
    causes: list[dict[str, str]] | None = None,
) -> ApiError:
    if not resource:
        message = f"forbidden: {cause}"
    elif not name:
        message = f"{qualified(resource, group)} is forbidden: {cause}"
    else:
        message = f"{qualified(resource, group)} {go_quote(name)} is forbidden: {cause}"
    return ApiError(403, "Forbidden", message, _details(name, group, resource, causes=causes))


def invalid(kind: str, name: str, errors: list[FieldError], group: str = "") -> ApiError:
    # errors.ToAggregate(): repeated messages once; one error is printed bare, several as
    # "[a, b]". The causes keep every error.
    text = list(dict.fromkeys(str(error) for error in errors))
    aggregate = text[0] if len(text) == 1 else "[" + ", ".join(text) + "]"
    message = f"{qualified(kind, group)} {go_quote(name)} is invalid: {aggregate}"
    causes = [{"reason": e.type, "message": e.body, "field": e.field} for e in errors]
    return ApiError(422, "Invalid", message, _details(name, group, kind, causes=causes))


def rejected() -> ApiError:
    """NewGenericServerResponse(422, ...): a JSON patch that does not apply; upstream drops
    the patch library's own message."""
    message = "the server rejected our request due to an error in our request"
    return ApiError(422, "Invalid", message, {})


def unknown_error(message: str, code: int = 500) -> ApiError:
    """ErrorToAPIStatus of an error that is not a Status: reason Unknown (omitted), no details."""
    return ApiError(code, "", message)


def unsupported_media_type(accepted: list[str]) -> ApiError:
    message = (
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted)
    )
    return ApiError(415, "UnsupportedMediaType", message, {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> ApiError:
    message = "the server does not allow this method on the requested resource"
    return ApiError(405, "MethodNotAllowed", message, {})


def internal_error(cause: str) -> ApiError:
    message = f"Internal error occurred: {cause}"
    return ApiError(500, "InternalError", message, {"causes": [{"message": cause}]})


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        _details(retryAfterSeconds=retry_after),
        {"Retry-After": str(retry_after)},
    )


def service_unavailable() -> ApiError:
    message = "the server is currently unable to handle the request"
    return ApiError(503, "ServiceUnavailable", message)


def gateway_timeout() -> ApiError:
    message = "Timeout: request did not complete within the allotted timeout"
    return ApiError(504, "Timeout", message, {})


# NewGenericServerResponse's reason for each code, for fault injection of arbitrary statuses.
_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def reason_for(code: int) -> str:
    return _REASONS.get(code, "InternalError" if code >= 500 else "Unknown")


def for_code(code: int, retry_after: int | None = None) -> ApiError:
    """A representative failure for ``code``, as a proxy or overloaded server would send it."""
    if code == 429:
        return too_many_requests(1 if retry_after is None else retry_after)
    if code == 500:
        error = internal_error("injected fault")
    elif code == 503:
        error = service_unavailable()
    elif code == 504:
        error = gateway_timeout()
    else:
        error = ApiError(code, reason_for(code), f"injected fault (HTTP {code})", {})
    if retry_after is not None:
        error.headers["Retry-After"] = str(retry_after)
    return error
