"""The ``pods/eviction`` subresource (``EvictionREST.Create``): delete a pod unless that would
break its PodDisruptionBudget.

* A pod that is Pending, Succeeded, Failed or already terminating is deleted without a look
  at budgets. Otherwise:
* more than one matching budget: 500, "This pod has more than one PodDisruptionBudget...";
* no budget: the pod is deleted;
* one budget: an unready pod is deleted if the budget says ``AlwaysAllow``, or if it is
  otherwise satisfied (currentHealthy >= desiredHealthy > 0, the IfHealthyBudget default);
  anything else needs ``disruptionsAllowed`` > 0, else 429 with a DisruptionBudget cause.
* Deletion honours the request's DeleteOptions (preconditions, grace period, dry run) and
  answers 201 with a Success Status.

Budgets are computed from the current pods (``disruption.py``) under the store lock, so the
eviction and the disruption controller never race; upstream's ``DisruptedPods`` bookkeeping
and its PDB status write are therefore left out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .admission import Admit, Attributes
from .api import ResourceApi
from .core import is_pod_ready
from .disruption import budget, budgets_for
from .kinds import PODS
from .options import delete_options_from_body
from .status import (
    ApiError,
    FieldError,
    bad_request,
    eviction_success,
    invalid,
    unknown_error,
)
from .store import ObjectStore

_VERSIONS = ("policy/v1", "policy/v1beta1")
_EVICTION_KIND = ("policy", "v1", "Eviction")
_TOO_MANY = "Cannot evict pod as it would violate the pod's disruption budget."
_SEVERAL = (
    "This pod has more than one PodDisruptionBudget, which the eviction subresource does not "
    "support."
)


def _decode(namespace: str, name: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the object provided is unrecognized (must be of type Eviction)")
    kind = body.get("kind") or "Eviction"
    version = body.get("apiVersion") or _VERSIONS[0]
    if kind != "Eviction" or version not in _VERSIONS:
        raise bad_request(
            f'{kind} in version "{version.rpartition("/")[2]}" cannot be handled as a Eviction'
        )
    meta = body.get("metadata") or {}
    if meta.get("namespace") and meta["namespace"] != namespace:
        raise bad_request(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if (meta.get("name") or "") != name:
        raise bad_request("name in URL does not match name in Eviction object")
    options = body.get("deleteOptions") or {}
    if not isinstance(options, dict):
        raise bad_request("decoded object cannot be converted to DeleteOptions")
    if options.get("ignoreStoreReadErrorWithClusterBreakingPotential") is True:
        # EvictionREST.Create: an unsafe delete is never an eviction's to make.
        error = FieldError.invalid(
            "deleteOptions.ignoreStoreReadErrorWithClusterBreakingPotential",
            True,
            "can not be set for pod eviction, try after removing the option",
        )
        raise invalid("Eviction", name, [error], "policy")
    return options


def _can_ignore_budgets(pod: dict[str, Any]) -> bool:
    phase = pod.get("status", {}).get("phase")
    return phase in ("Pending", "Succeeded", "Failed") or bool(
        pod["metadata"].get("deletionTimestamp")
    )


def _budget_exhausted(name: str, desired: int, healthy: int) -> ApiError:
    cause = {
        "reason": "DisruptionBudget",
        "message": f"The disruption budget {name} needs {desired} healthy pods and has "
        f"{healthy} currently",
    }
    return ApiError(429, "TooManyRequests", _TOO_MANY, {"causes": [cause]})


class EvictionApi:
    def __init__(self, api: ResourceApi, store: ObjectStore) -> None:
        self._api = api
        self._store = store

    def evict(
        self,
        namespace: str,
        name: str,
        body: Any,
        *,
        dry_run: bool = False,
        admit: Admit | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, Status body). ``dry_run`` is the request's ``?dryRun=All``."""
        options = delete_options_from_body(_decode(namespace, name, body))
        if dry_run:  # propagateDryRun: the query's dryRun joins the body's
            options = replace(options, dry_run=True)
        if admit is not None:
            # The Eviction is admitted (CREATE of pods/eviction); the delete it causes is not.
            eviction = {"kind": "Eviction", "apiVersion": "policy/v1", **body}
            attrs = Attributes(
                "CREATE", PODS, namespace, name, eviction, None, "eviction", _EVICTION_KIND
            )
            admit(replace(attrs, dry_run=options.dry_run))
        with self._store.lock:
            pod = self._api.get(PODS, namespace, name)
            if not _can_ignore_budgets(pod):
                budgets = budgets_for(self._store, pod)
                if len(budgets) > 1:
                    error = unknown_error(_SEVERAL)
                    return error.code, error.status()
                if budgets:
                    self._check_budget(pod, budgets[0])
            self._api.delete(PODS, namespace, name, options)
        return 201, eviction_success()

    def _check_budget(self, pod: dict[str, Any], pdb: dict[str, Any]) -> None:
        numbers = budget(self._store, pdb)
        if not is_pod_ready(pod):
            policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
            if policy == "AlwaysAllow":
                return
            if numbers.healthy >= numbers.desired > 0:
                return
        if numbers.allowed <= 0:
            raise _budget_exhausted(pdb["metadata"]["name"], numbers.desired, numbers.healthy)
