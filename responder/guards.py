"""The safety rails checked on the cluster before a rule acts on a pod.

Some refuse the whole rule (a replacement pod, a protected namespace, an opt-out label);
the owner-aware ones refuse only destructive actions (deleting, evicting or scaling),
so a DaemonSet pod can still be labelled or isolated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from responder.actions.base import KubeApis
from responder.policy import Safety
from responder.workloads import OwnerMismatchError, count_ready_pods, owning_workload
from shared.alert import FalcoAlert, PodRef

if TYPE_CHECKING:
    from responder.pods import ReadPod

OPT_OUT_VALUE = "true"
# An alert this far in the future defeats both replay guards (age and creation time).
FUTURE_TOLERANCE = timedelta(minutes=2)


def replacement_reason(pod: ReadPod, ref: PodRef, alert: FalcoAlert) -> str | None:
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
    """What the rails allow: nothing (`refuse_all`), or all but some destructive actions.

    `refuse_pod_removal` holds for deleting or evicting this pod, `refuse_scale_down`
    for scaling its whole workload to zero.
    """

    refuse_all: str | None = None
    refuse_pod_removal: str | None = None
    refuse_scale_down: str | None = None

    def refusal_for(self, removes_workload: bool) -> str | None:
        """Why a destructive action may not run, or None."""
        return self.refuse_scale_down if removes_workload else self.refuse_pod_removal


def _opted_out(labels: dict[str, str] | None, key: str) -> bool:
    return (labels or {}).get(key, "").lower() == OPT_OUT_VALUE


def precheck(alert: FalcoAlert, ref: PodRef, safety: Safety, now: datetime) -> str | None:
    """The rails that need no call to the cluster: why the rule may not act, or None."""
    age = alert.age(now)
    if -age > FUTURE_TOLERANCE:
        return (
            f"alert is dated {-age} in the future (a clock off?): its pod cannot be told "
            "from a replacement, so it is not acted on"
        )
    if safety.max_alert_age is not None and age > safety.max_alert_age:
        return f"alert is {age} old, over max_alert_age {safety.max_alert_age}: not acted on"
    if safety.is_protected(ref.namespace):
        return f"namespace {ref.namespace} is protected"
    return None


def check(
    apis: KubeApis,
    pod: ReadPod,
    ref: PodRef,
    alert: FalcoAlert,
    safety: Safety,
    timeout: float,
    destructive: bool,
) -> Verdict:
    """The rails that read the cluster: the namespace, and the owner when `destructive`
    and a rail needs it (Safety.reads_owner).

    The namespace's labels may be up to LABELS_MAX_AGE_SECONDS old (responder.namespaces).
    """
    replaced = replacement_reason(pod, ref, alert)
    if replaced:
        return Verdict(refuse_all=replaced)
    label = safety.opt_out_label
    # The pod's own label only where the policy allows it: whoever can edit the pod (the
    # workload the response is aimed at, with `edit`) could otherwise opt itself out.
    if safety.allow_pod_opt_out and _opted_out(pod.metadata.labels, label):
        return Verdict(refuse_all=f"pod is labelled {label}={OPT_OUT_VALUE}")
    if _opted_out(apis.namespace_labels.get(ref.namespace, timeout), label):
        return Verdict(refuse_all=f"namespace {ref.namespace} is labelled {label}={OPT_OUT_VALUE}")
    if not destructive or not safety.reads_owner:
        return Verdict()
    return _owner_verdict(apis, pod, safety, timeout)


def _owner_verdict(apis: KubeApis, pod: ReadPod, safety: Safety, timeout: float) -> Verdict:
    try:
        workload = owning_workload(apis, pod, timeout)
    except OwnerMismatchError:
        # Named as owned by a workload that does not control it: no owner-aware rail
        # spares it (as one spared by a real owner could be), nor counts it for one.
        return Verdict()
    if workload is None:
        if safety.ignore_standalone_pods:
            return _refuse_both("a standalone pod (ignore_standalone_pods)")
        return Verdict()
    if workload.kind == "DaemonSet" and safety.ignore_daemonset_pods:
        return _refuse_both(f"a pod of {workload} (ignore_daemonset_pods)")
    if workload.kind == "StatefulSet" and safety.ignore_statefulset_pods:
        return _refuse_both(f"a pod of {workload} (ignore_statefulset_pods)")
    if safety.min_healthy_replicas is None or workload.desired is None:
        return Verdict()
    required = safety.required_healthy(workload.desired)
    if required == 0:
        return Verdict()
    setting = f"min_healthy_replicas {safety.min_healthy_replicas}"
    scale_down = (
        f"{setting}: scaling {workload} to zero would leave no ready pod, {required} required"
    )
    if workload.selector is None:
        return _refuse_both(f"{setting}: cannot count the ready pods of {workload} (no selector)")
    # The others only: the pod itself, ready or not, relabelled out of the selector or
    # not, is the one about to go.
    left = count_ready_pods(apis, workload, timeout, required, pod.metadata.uid)
    if left < required:
        return Verdict(
            refuse_pod_removal=f"{setting}: acting would leave {left} ready pod(s) of "
            f"{workload} ({workload.desired} desired), {required} required",
            refuse_scale_down=scale_down,
        )
    return Verdict(refuse_scale_down=scale_down)


def _refuse_both(reason: str) -> Verdict:
    return Verdict(refuse_pod_removal=reason, refuse_scale_down=reason)
