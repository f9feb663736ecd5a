"""record_event: a Kubernetes Event on the pod, so `kubectl describe pod` tells the story."""

import hashlib
from datetime import UTC, datetime
from typing import ClassVar, Literal

from pydantic import Field

from responder import k8s
from responder.actions.base import ActionContext, BaseAction, RbacRule
from responder.outcome import ActionResult, ActionStatus
from shared.k8s_names import DNS1123_SUBDOMAIN_MAX

COMPONENT = "falco-responder"
# What every Event name ends with, before its 16 hex digits of digest.
EVENT_NAME_SUFFIX = f".{COMPONENT}."
# Kubernetes keeps Event messages short; the alert's output can be long.
MAX_MESSAGE = 1024


def event_name(pod: str, alert_id: str, reason: str) -> str:
    """Deterministic per alert and reason, so a redelivery finds its Event already there.

    Always a valid name (a DNS-1123 subdomain of at most 253 characters, as the pod's own
    is): the pod's name is cut to leave room for the digest, which keeps it unique.
    """
    digest = hashlib.sha256(f"{alert_id}/{reason}".encode()).hexdigest()[:16]
    suffix = f"{EVENT_NAME_SUFFIX}{digest}"
    head = pod[: DNS1123_SUBDOMAIN_MAX - len(suffix)].rstrip(".-")
    return f"{head}{suffix}"


class RecordEvent(BaseAction):
    """Record a Kubernetes Event on the pod (reason, message, type)."""

    action: Literal["record_event"]
    reason: str = Field(default="FalcoAlert", pattern=r"^[A-Z][A-Za-z0-9]{0,127}$")
    message: str | None = Field(default=None, description="default: the Falco rule and output")
    type: Literal["Normal", "Warning"] = "Warning"

    rbac: ClassVar = (RbacRule("", ("events",), ("create",)),)
    description: ClassVar[str] = "records a Kubernetes Event on the pod"
    idempotent: ClassVar[str] = "its name is derived from the alert, so a redelivery finds it"
    example: ClassVar = {
        "action": "record_event",
        "reason": "FalcoShellInContainer",
        "message": "an interactive shell ran in this pod",
    }

    def run(self, ctx: ActionContext) -> ActionResult:
        """Create the Event; 409 (already there) means a redelivery: already done."""
        ref, alert = ctx.pod_ref, ctx.alert
        now = datetime.now(UTC)
        message = (
            self.message or f"Falco rule {alert.rule!r} ({alert.priority.label}): {alert.output}"
        )
        event = k8s.CoreV1Event(
            metadata=k8s.V1ObjectMeta(
                name=event_name(ref.name, alert.alert_id, self.reason), namespace=ref.namespace
            ),
            involved_object=k8s.V1ObjectReference(
                api_version="v1",
                kind="Pod",
                name=ref.name,
                namespace=ref.namespace,
                uid=ctx.pod.metadata.uid,
            ),
            reason=self.reason,
            message=message[:MAX_MESSAGE],
            type=self.type,
            source=k8s.V1EventSource(component=COMPONENT),
            reporting_component=COMPONENT,
            reporting_instance=COMPONENT,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        target = f"event/{ref.namespace}/{event.metadata.name}"
        try:
            ctx.apis.core.create_namespaced_event(
                ref.namespace, event, dry_run=ctx.dry_run_param, _request_timeout=ctx.timeout
            )
        except k8s.ApiException as exc:
            if exc.status == 409:
                return self.result(target, ActionStatus.ALREADY_DONE, "event already recorded")
            raise
        return self.done(ctx, target, f"recorded {self.reason}", f"record {self.reason}")
