"""Which Kubernetes and Cloud Storage failures are permanent and which may pass: decided
here, once."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import urllib3

from responder import k8s
from shared.errors import PermanentError, TransientError
from shared.structured_log import log

if TYPE_CHECKING:
    from kubernetes.client import ApiException

logger = logging.getLogger("falco_responder.responder")


def status_message(exc: ApiException) -> str:
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
    if isinstance(exc, k8s.ApiException):
        status = exc.status or 0
        detail = f"Kubernetes answered {status}: {status_message(exc)}"
        if status in (401, 403):
            reason = "kube_unauthorized" if status == 401 else "kube_forbidden"
            log(
                logger,
                logging.CRITICAL,
                "Kubernetes refused our credentials or RBAC: fix the kubeconfig or role",
                status=status,
                error=detail,
            )
            return TransientError(detail, reason)
        if status == 429 or status >= 500 or status == 0:
            return TransientError(detail, "kube_unavailable")
        return PermanentError("kubernetes_rejected", detail)
    if type(exc).__module__.startswith(_STORAGE_ERRORS):
        return _classify_storage(exc)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError | TimeoutError):
        return TransientError(f"Kubernetes API unreachable: {exc!r}", "kube_unreachable")
    return exc


def classify_vanishing(exc: Exception, what: str) -> Exception:
    """The failure to raise for an exception from reading or changing `what`, found
    through the alert's pod after the pod was read (its namespace, its controller, the
    workload to scale). A 404 there means it went away meanwhile (a rollout, a deletion,
    an orphaning delete): retried, as by the next delivery the pod is gone too or what
    it leads to has settled, and is read again. Anything else as `classify` has it.
    """
    if isinstance(exc, k8s.ApiException) and exc.status == 404:
        return TransientError(f"{what} vanished: {exc.reason}", "kube_target_vanished")
    return classify(exc)


# Where the Cloud Storage client's exceptions come from (google-api-core, google-auth,
# google-resumable-media, requests: the Kubernetes client uses urllib3 directly); matched
# by module so this file never imports the client.
_STORAGE_ERRORS = ("google.api_core", "google.auth", "google.resumable_media", "requests")


def _classify_storage(exc: Exception) -> Exception:
    """A failure writing evidence to Cloud Storage.

    - 401/403, and 404 (the bucket does not exist): a configuration fault. Evidence is
      never silently skipped: logged at CRITICAL and retried like a transient failure,
      so the alert is dead-lettered after the last attempt unless someone fixes it.
    - 408, 429, 5xx, and no answer at all (auth or transport): transient.
    - anything else (400...): the request is wrong; it never succeeds.
    """
    status = getattr(exc, "code", None)
    detail = f"Cloud Storage answered {status}: {getattr(exc, 'message', exc)}"
    if status in (401, 403, 404):
        log(
            logger,
            logging.CRITICAL,
            "the evidence bucket refused us or does not exist: fix the bucket or its IAM",
            status=status,
            error=detail,
        )
        return TransientError(detail, "evidence_bucket_refused")
    if not isinstance(status, int) or status in (408, 429) or status >= 500:
        return TransientError(
            f"Cloud Storage unreachable or failing: {exc!r}", "evidence_bucket_unavailable"
        )
    return PermanentError("storage_rejected", detail)
