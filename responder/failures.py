"""Which Kubernetes failures are permanent and which may pass: decided here, once."""

import json
import logging

import urllib3
from kubernetes.client.exceptions import ApiException

from shared.errors import PermanentError, TransientError
from shared.structured_log import log

logger = logging.getLogger("falco_responder.responder")


def _status_message(exc: ApiException) -> str:
    """The `message` of the Kubernetes Status body, else the HTTP reason."""
    try:
        message = json.loads(exc.body or "").get("message")
    except (ValueError, AttributeError):
        message = None
    return message or exc.reason or "no message"


def classify(exc: Exception) -> Exception:
    """The failure to raise for an exception from a Kubernetes call.

    - 401/403: our credentials or RBAC are wrong. Nothing may be dropped while someone
      fixes them, so it is logged loudly and retried like a transient failure.
    - 429, 5xx, timeouts, refused or broken connections: transient.
    - any other answer (400, 422...): the request itself is wrong; it never succeeds.
    """
    if isinstance(exc, ApiException):
        status = exc.status or 0
        detail = f"Kubernetes answered {status}: {_status_message(exc)}"
        if status in (401, 403):
            log(
                logger,
                logging.CRITICAL,
                "Kubernetes refused our credentials or RBAC: fix the kubeconfig or role",
                status=status,
                error=detail,
            )
            return TransientError(detail)
        if status == 429 or status >= 500 or status == 0:
            return TransientError(detail)
        return PermanentError("kubernetes_rejected", detail)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError):
        return TransientError(f"Kubernetes API unreachable: {exc!r}")
    return exc
