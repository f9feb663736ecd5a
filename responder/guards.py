"""The safety rails checked on the cluster before a rule acts on a pod.

Some refuse the whole rule (a replacement pod, a protected namespace, an opt-out label);
the owner-aware ones refuse only destructive actions (deleting, evicting or scaling),
so a DaemonSet pod can still be labelled or isolated.
"""

from dataclasses import dataclass
from datetime import datetime

from kubernetes.client import V1Pod

from responder.actions.base import KubeApis
from responder.policy import Safety
from responder.workloads import is_ready, owning_workload, ready_pods
from shared.alert import FalcoAlert, PodRef

OPT_OUT_VALUE = "true"


def replacement_reason(pod: V1Pod, ref: PodRef, alert: FalcoAlert) -> str | None:
    """Why the pod now under the alert's name is not the one Falco saw, or None.

    A pod recreated under the same name (a StatefulSet, a bare pod re-applied) must
    never pay for its predecessor. When the alert carries k8s.pod.uid, the UID decides.
    Without it, the creation time does: creationTimestamp has whole seconds, so a pod
    created in the alert's own second cannot be told from a replacement and is left alone.
    """
    uid = pod.metadata.uid
    if ref.uid is not None:
        if uid != ref.uid:
            return f"pod UID is {uid}, the alert's pod was {ref.uid}: a replacement, left alone"
        return None
    created = pod.metadata.creation_timestamp
    if created is not None and created >= alert.time.replace(microsecond=0):
        return (
            f"pod was created at {created.isoformat()}, not before the alert "
            f"({alert.time.isoformat()}): may be a replacement, left alone"
        )
    return None


@dataclass(frozen=True)
class Verdict:
    """What the rails allow: nothing (`refuse_all`), or all but destructive actions."""

    refuse_all: str | None = None
    refuse_destructive: str | None = None


def _opted_out(labels: dict[str, str] | None, key: str) -> bool:
    return (labels or {}).get(key, "").lower() == OPT_OUT_VALUE


def precheck(alert: FalcoAlert, ref: PodRef, safety: Safety, now: datetime) -> str | None:
    """The rails that need no call to the cluster: why the rule may not act, or None."""
    age = alert.age(now)
    if safety.max_alert_age is not None and age > safety.max_alert_age:
        return f"alert is {age} old, over max_alert_age {safety.max_alert_age}: not acted on"
    if safety.is_protected(ref.namespace):
        return f"namespace {ref.namespace} is protected"
    return None


def check(
    apis: KubeApis,
    pod: V1Pod,
    ref: PodRef,
    alert: FalcoAlert,
    safety: Safety,
    timeout: float,
    destructive: bool,
) -> Verdict:
    """The rails that read the cluster: the namespace, and the owner when `destructive`."""
    replaced = replacement_reason(pod, ref, alert)
    if replaced:
        return Verdict(refuse_all=replaced)
    label = safety.opt_out_label
    if _opted_out(pod.metadata.labels, label):
        return Verdict(refuse_all=f"pod is labelled {label}={OPT_OUT_VALUE}")
    namespace = apis.core.read_namespace(ref.namespace, _request_timeout=timeout)
    if _opted_out(namespace.metadata.labels, label):
        return Verdict(refuse_all=f"namespace {ref.namespace} is labelled {label}={OPT_OUT_VALUE}")
    if not destructive:
        return Verdict()
    return Verdict(refuse_destructive=_owner_refusal(apis, pod, safety, timeout))


def _owner_refusal(apis: KubeApis, pod: V1Pod, safety: Safety, timeout: float) -> str | None:
    workload = owning_workload(apis, pod, timeout)
    if workload is None:
        return (
            "a standalone pod (ignore_standalone_pods)" if safety.ignore_standalone_pods else None
        )
    if workload.kind == "DaemonSet" and safety.ignore_daemonset_pods:
        return f"a pod of {workload} (ignore_daemonset_pods)"
    if workload.kind == "StatefulSet" and safety.ignore_statefulset_pods:
        return f"a pod of {workload} (ignore_statefulset_pods)"
    if safety.min_healthy_replicas is None or workload.desired is None:
        return None
    required = safety.required_healthy(workload.desired)
    ready = ready_pods(apis, workload, timeout)
    left = len(ready) - (1 if is_ready(pod) else 0)
    if left < required:
        return (
            f"min_healthy_replicas {safety.min_healthy_replicas}: acting would leave {left} "
            f"ready pod(s) of {workload} ({workload.desired} desired), {required} required"
        )
    return None
