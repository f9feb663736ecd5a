"""capture_evidence: keep what an investigator needs before the pod is gone.

Everything is read first (the pod as the rails read it, its events, each container's
logs, its owner chain), then written to Cloud Storage under
CLUSTER/NAMESPACE/POD/ALERT_ID/, each object created only if it does not exist yet, the
manifest (every object's SHA-256, and what could not be captured and why) last.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from responder import evidence_bucket, k8s
from responder.actions.base import ActionContext, BaseAction, RbacRule
from responder.failures import status_message
from responder.outcome import ActionResult, ActionStatus
from responder.pods import read_pod
from shared import config
from shared.errors import PermanentError, TransientError

MANIFEST = "manifest.json"
JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
EARLIER_ATTEMPT = "an earlier, interrupted attempt"
# The prefix's first part when the policy names no clusters (single-cluster mode).
SINGLE_CLUSTER = "single-cluster"
# Owners followed up the controller chain, and how each is read.
_OWNER_READERS = {
    ("apps", "ReplicaSet"): "read_namespaced_replica_set",
    ("apps", "Deployment"): "read_namespaced_deployment",
    ("apps", "StatefulSet"): "read_namespaced_stateful_set",
    ("apps", "DaemonSet"): "read_namespaced_daemon_set",
}
_MAX_OWNER_DEPTH = 4
# A log is read as a stream, keeping its last max_bytes: the server sends at most this many
# times max_bytes (limitBytes), so a container printing without end cannot hold the read.
LOG_READ_FACTOR = 16
_CHUNK = 64 * 1024
# Events listed per capture (anyone who may create Events can add to the pod's).
MAX_EVENTS = 500


def evidence_prefix(cluster: str | None, namespace: str, pod: str, alert_id: str) -> str:
    """Where one alert's evidence lives in the bucket (ends with `/`)."""
    return f"{cluster or SINGLE_CLUSTER}/{namespace}/{pod}/{alert_id}/"


def sha256(data: bytes) -> str:
    """The hex SHA-256 the manifest records (and `falco-responder evidence` checks)."""
    return hashlib.sha256(data).hexdigest()


def _json(document: Any) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True, default=str).encode()


def cut_at_start(data: bytes, limit: int) -> bytes:
    """The last `limit` bytes, starting at a whole line when one begins in them."""
    if len(data) <= limit:
        return data
    kept = data[-limit:]
    if data[-limit - 1 : -limit] == b"\n":
        return kept
    newline = kept.find(b"\n")
    return kept[newline + 1 :] if 0 <= newline < len(kept) - 1 else kept


def read_tail(response: Any, keep: int) -> tuple[bytes, int]:
    """The last `keep` bytes of a streamed answer (cut at a line start), and how many
    were read; never more than twice `keep` and a chunk are held."""
    held = bytearray()
    read = 0
    for chunk in response.stream(_CHUNK, decode_content=True):
        read += len(chunk)
        held += chunk
        if len(held) > 2 * keep:
            del held[: len(held) - keep - 1]  # and the byte before: does a line start?
    response.release_conn()
    return cut_at_start(bytes(held), keep), read


def read_at_most(response: Any, limit: int) -> bytes:
    """At most `limit` bytes of a streamed answer; the rest is never read."""
    held = bytearray()
    for chunk in response.stream(_CHUNK, decode_content=True):
        held += chunk[: limit - len(held)]
        if len(held) >= limit:
            response.close()  # the rest unread: this connection cannot serve another call
            return bytes(held)
    response.release_conn()
    return bytes(held)


@dataclass
class Evidence:
    """The objects to store (name -> bytes, content type) and the notes on what is missing."""

    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, data: bytes, content_type: str = JSON) -> None:
        self.objects[name] = (data, content_type)

    def note(self, what: str, reason: str) -> None:
        self.notes.append({"object": what, "reason": reason})


class CaptureEvidence(BaseAction):
    """Store the pod's evidence in Cloud Storage before anything destructive runs."""

    action: Literal["capture_evidence"]
    # Cloud Storage's bucket name syntax, so a typo stops the policy at start.
    bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$",
        description=f"default: ${config.EVIDENCE_BUCKET}",
    )
    log_lines: int = Field(default=1000, ge=1, le=100_000)
    max_bytes: int = Field(default=1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    max_total_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=512 * 1024 * 1024)
    previous_logs: bool = True

    rbac: ClassVar = (
        RbacRule("", ("pods",), ("get",)),
        RbacRule("", ("pods/log",), ("get",)),
        RbacRule("", ("events",), ("list",)),
        RbacRule("apps", ("replicasets", "deployments", "statefulsets", "daemonsets"), ("get",)),
    )
    description: ClassVar[str] = (
        "stores the pod's evidence (spec, events, logs, owners) in Cloud Storage"
    )
    idempotent: ClassVar[str] = "objects are named by the alert id and created only if absent"
    example: ClassVar = {"action": "capture_evidence", "log_lines": 500}

    def run(self, ctx: ActionContext) -> ActionResult:
        """Read everything, then create each object; a dry run writes nothing."""
        bucket = self.bucket or config.env(config.EVIDENCE_BUCKET)
        if not bucket:
            raise PermanentError(
                "evidence_bucket_unset",
                f"capture_evidence has no bucket: set it in the policy or {config.EVIDENCE_BUCKET}",
            )
        # Named by the pod as read (the API server's names) and the alert id shared.alert
        # checked to be one path segment: never by the alert's own text.
        read = ctx.pod.metadata
        prefix = evidence_prefix(ctx.cluster, read.namespace, read.name, ctx.alert.alert_id)
        target = f"gs://{bucket}/{prefix}"
        evidence = self.collect(ctx)
        if ctx.dry_run:
            return self.result(
                target,
                ActionStatus.DRY_RUN,
                f"would store {len(evidence.objects) + 1} objects (nothing written)",
            )
        writer = evidence_bucket.CreateOnlyWriter(bucket, prefix, ctx.timeout)
        existed = {
            name
            for name, (data, content_type) in evidence.objects.items()
            if not writer.create(name, data, content_type)
        }
        manifest = self._manifest(ctx, evidence, existed)
        if not writer.create(MANIFEST, manifest, JSON):
            return self.result(target, ActionStatus.ALREADY_DONE, "evidence already stored")
        notes = f"; {len(evidence.notes)} not captured (see manifest)" if evidence.notes else ""
        stored = len(evidence.objects) + 1 - len(existed)
        return self.result(target, ActionStatus.DONE, f"stored {stored} objects{notes}")

    @property
    def memory_bytes(self) -> int:
        """The most one capture holds at once: the evidence kept (max_total_bytes) and
        one log's rolling read (twice max_bytes, and a chunk)."""
        return self.max_total_bytes + 2 * self.max_bytes + _CHUNK

    def collect(self, ctx: ActionContext) -> Evidence:
        """Everything the manifest lists: reads only, each bounded in bytes."""
        evidence = Evidence()
        alert = ctx.received or _json(ctx.alert.model_dump(mode="json", by_alias=True))
        evidence.add("alert.json", alert)
        evidence.add("pod.json", _json(ctx.pod.document))  # as the API server sent it
        self._events(ctx, evidence)
        evidence.add("owners.json", _json(self._owners(ctx, evidence)))
        for container, restarted in self._containers(ctx):
            self._logs(ctx, evidence, container, previous=False)
            if self.previous_logs and restarted:
                self._logs(ctx, evidence, container, previous=True)
        self._still_the_pod(ctx)
        return evidence

    def _still_the_pod(self, ctx: ActionContext) -> None:
        """Logs are read by the pod's name: one deleted and made again under it meanwhile
        would have given the replacement's. Its UID, read after them, says whose they
        were; if another's, the capture is retried (and then, the pod replaced, refused)."""
        try:
            now = read_pod(ctx.apis.core, ctx.pod_ref.name, ctx.pod_ref.namespace, ctx.timeout)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return  # gone since: what was read was its own, or nobody's
            raise
        if now.metadata.uid != ctx.pod.metadata.uid:
            raise TransientError(
                f"pod {ctx.pod_ref} was replaced while its evidence was read: not stored",
                "evidence_pod_replaced",
            )

    def _room(self, evidence: Evidence) -> int:
        """Bytes the capture may still keep (max_total_bytes less what it holds)."""
        return self.max_total_bytes - sum(len(data) for data, _ in evidence.objects.values())

    def _note_full(self, evidence: Evidence, name: str) -> None:
        evidence.note(name, f"not read: the capture holds max_total_bytes ({self.max_total_bytes})")

    def _events(self, ctx: ActionContext, evidence: Evidence) -> None:
        """The pod's Events, at most MAX_EVENTS and max_bytes of them, kept as listed."""
        cap = min(self.max_bytes, self._room(evidence))
        if cap <= 0:  # the alert and the pod (both the sender's to size) took it all
            self._note_full(evidence, "events.json")
            return
        response = ctx.apis.core.list_namespaced_event(
            ctx.pod_ref.namespace,
            field_selector=f"involvedObject.uid={ctx.pod.metadata.uid}",
            limit=MAX_EVENTS,
            _preload_content=False,
            _request_timeout=ctx.timeout,
        )
        data = read_at_most(response, cap + 1)
        if len(data) > cap:
            evidence.note("events.json", f"the Events are over {cap} bytes: not captured")
            return
        listed = json.loads(data)
        if (listed.get("metadata") or {}).get("continue"):
            evidence.note("events.json", f"more than {MAX_EVENTS} Events: the first kept")
        evidence.add("events.json", _json(listed.get("items") or []))

    def _containers(self, ctx: ActionContext) -> list[tuple[str, bool]]:
        """Every container of the pod (init and ephemeral too), and whether it restarted."""
        spec, status = ctx.pod.spec, ctx.pod.status
        names = [
            c.name
            for group in (spec.init_containers, spec.containers, spec.ephemeral_containers)
            for c in group or []
        ]
        statuses = [
            s
            for group in (
                status.init_container_statuses if status else None,
                status.container_statuses if status else None,
                status.ephemeral_container_statuses if status else None,
            )
            for s in group or []
        ]
        restarts = {s.name: bool(s.restart_count) for s in statuses}
        return [(name, restarts.get(name, False)) for name in names]

    def _logs(self, ctx: ActionContext, evidence: Evidence, container: str, previous: bool) -> None:
        name = f"logs/{container}{'.previous' if previous else ''}.log"
        keep = min(self.max_bytes, self._room(evidence))
        if keep <= 0:
            self._note_full(evidence, name)
            return
        limit = self.max_bytes * LOG_READ_FACTOR
        try:
            response = ctx.apis.core.read_namespaced_pod_log(
                ctx.pod_ref.name,
                ctx.pod_ref.namespace,
                container=container,
                tail_lines=self.log_lines,
                limit_bytes=limit,
                previous=previous,
                _preload_content=False,
                _request_timeout=ctx.timeout,
            )
        except k8s.ApiException as exc:
            # 400: the kubelet has no such instance (never started, no previous one).
            if exc.status == 400:
                evidence.note(name, f"no logs: {status_message(exc)}")
                return
            raise
        kept, read = read_tail(response, keep)
        if read >= limit:
            evidence.note(
                name,
                f"the last {self.log_lines} lines are over {limit} bytes, where the server "
                f"stops (limitBytes): the last {len(kept)} bytes of the first {limit} kept",
            )
        elif len(kept) < read:
            evidence.note(
                name,
                f"cut at the start to the last {len(kept)} of {read} bytes "
                f"(max_bytes, max_total_bytes)",
            )
        evidence.add(name, kept, TEXT)

    def _owners(self, ctx: ActionContext, evidence: Evidence) -> list[dict[str, Any]]:
        """The controller chain, pod upwards (ReplicaSet, Deployment...)."""
        owners: list[dict[str, Any]] = []
        metadata = ctx.pod.metadata
        for _ in range(_MAX_OWNER_DEPTH):
            owner = next((r for r in metadata.owner_references or [] if r.controller), None)
            if owner is None:
                break
            group = owner.api_version.partition("/")[0] if "/" in owner.api_version else ""
            reader = _OWNER_READERS.get((group, owner.kind))
            if reader is None:
                evidence.note(
                    "owners.json", f"{owner.kind} {owner.name}: not read (kind not followed)"
                )
                break
            try:
                read = getattr(ctx.apis.apps, reader)(
                    owner.name, ctx.pod_ref.namespace, _request_timeout=ctx.timeout
                )
            except k8s.ApiException as exc:
                if exc.status != 404:
                    raise
                evidence.note("owners.json", f"{owner.kind} {owner.name}: gone (404)")
                break
            owners.append(ctx.apis.client.sanitize_for_serialization(read))
            metadata = read.metadata
        return owners

    def _manifest(self, ctx: ActionContext, evidence: Evidence, existed: set[str]) -> bytes:
        """The index of the capture. An object an earlier, interrupted attempt already
        stored is kept as it was (create-only: never overwritten, never read back), so
        its checksum is not known here."""
        ref = ctx.pod_ref
        return _json(
            {
                "alert_id": ctx.alert.alert_id,
                "rule": ctx.alert.rule,
                "cluster": ctx.cluster,
                "namespace": ref.namespace,
                "pod": ref.name,
                "pod_uid": ctx.pod.metadata.uid,
                "captured_at": datetime.now(UTC).isoformat(),
                "objects": [
                    {"name": name, "sha256": None, "stored_by": EARLIER_ATTEMPT}
                    if name in existed
                    else {"name": name, "sha256": sha256(data), "bytes": len(data)}
                    for name, (data, _) in evidence.objects.items()
                ],
                "not_captured": evidence.notes,
            }
        )
