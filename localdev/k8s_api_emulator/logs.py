"""``GET pods/{name}/log``: what each container printed, as the API server and kubelet answer.

The API server checks the options (``ValidatePodLogOptions``: 422) and the container name
(400), then the kubelet picks the container instance from the pod's status
(``validateContainerLogStatus``): a container that never started, or a ``previous``
instance that does not exist, is a 400 whose message is the kubelet's. ``tailLines`` keeps
the last lines, then ``limitBytes`` keeps the first bytes of what is left.

Text is kept per pod UID, so a pod recreated under the same name starts with no logs.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from .api import ResourceApi
from .kinds import PODS
from .query import first, integer
from .status import FieldError, bad_request, invalid

# What the API server's query decoding (Go's strconv.ParseBool) reads as true; the
# kubernetes client before 37 sends Python's "True".
_TRUE = ("1", "t", "T", "true", "TRUE", "True")


def _options_errors(tail_lines: int | None, limit_bytes: int | None) -> list[FieldError]:
    errors = []
    if tail_lines is not None and tail_lines < 0:
        errors.append(FieldError.invalid("tailLines", tail_lines, "must be >= 0"))
    if limit_bytes is not None and limit_bytes < 1:
        errors.append(FieldError.invalid("limitBytes", limit_bytes, "must be > 0"))
    return errors


def _container_names(pod: Mapping[str, Any]) -> list[str]:
    spec = pod.get("spec") or {}
    return [
        c.get("name", "")
        for key in ("containers", "initContainers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def _status_of(pod: Mapping[str, Any], container: str) -> Mapping[str, Any] | None:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == container:
                return entry
    return None


def _instance(pod: Mapping[str, Any], container: str, previous: bool) -> str:
    """The container ID whose logs are read, or the kubelet's 400 (its own wording)."""
    name = pod["metadata"]["name"]
    where = f'container "{container}" in pod "{name}"'
    status = _status_of(pod, container)
    if status is None:
        raise bad_request(f"{where} is waiting to start: ContainerCreating")
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    if previous:
        if not last.get("containerID"):
            raise bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return str(last["containerID"])
    if "running" in state:
        return _current_id(status)
    if "terminated" in state:
        terminated = state["terminated"] or {}
        found = terminated.get("containerID") or last.get("containerID")
        if not found:
            raise bad_request(f"{where} is terminated")
        return str(found)
    if last.get("containerID"):
        return str(last["containerID"])
    if "waiting" in state:
        reason = (state["waiting"] or {}).get("reason") or ""
        reason = {
            "ErrImagePull": "image can't be pulled",
            "ImagePullBackOff": "trying and failing to pull image",
        }.get(reason, reason)
        raise bad_request(f"{where} is waiting to start: {reason}")
    raise bad_request(f"{where} is waiting to start - no logs yet")


def _current_id(status: Mapping[str, Any]) -> str:
    # Pods the emulator creates carry no containerID: the restart count tells instances apart.
    return str(status.get("containerID") or f"{status['name']}#{status.get('restartCount', 0)}")


def restarted(status: Mapping[str, Any], when: str) -> dict[str, Any]:
    """A container's status once the kubelet restarted it: the old instance is `lastState`."""
    count = int(status.get("restartCount", 0)) + 1
    return {
        **status,
        "restartCount": count,
        "lastState": {
            "terminated": {
                "containerID": _current_id(status),
                "exitCode": 137,
                "reason": "Error",
                "finishedAt": when,
            }
        },
        "state": {"running": {"startedAt": when}},
        **({"containerID": f"{status['name']}#{count}"} if status.get("containerID") else {}),
    }


def _tail(text: bytes, lines: int) -> bytes:
    if lines == 0:
        return b""
    kept = text.splitlines(keepends=True)[-lines:]
    return b"".join(kept)


class ContainerLogs:
    """The text each container instance printed, keyed by (pod UID, container ID)."""

    def __init__(self, api: ResourceApi) -> None:
        self._api = api
        self._lock = threading.Lock()
        self._text: dict[tuple[str, str], bytes] = {}

    def append(self, namespace: str, name: str, container: str, text: str, previous: bool) -> None:
        """Add to the logs of the container's current (or previous) instance."""
        pod = self._api.get(PODS, namespace, name)
        instance = _instance(pod, container, previous)
        key = (pod["metadata"]["uid"], instance)
        with self._lock:
            self._text[key] = self._text.get(key, b"") + text.encode()

    def read(self, namespace: str, name: str, query: Mapping[str, Sequence[str]]) -> bytes:
        """The body of ``GET .../log``, or the ApiError a real server answers."""
        pod = self._api.get(PODS, namespace, name)
        tail_lines, limit_bytes = integer(query, "tailLines"), integer(query, "limitBytes")
        if errors := _options_errors(tail_lines, limit_bytes):
            raise invalid("PodLogOptions", name, errors)
        names = _container_names(pod)
        container = first(query, "container") or ""
        if not container:
            if len(names) != 1:
                raise bad_request(
                    f"a container name must be specified for pod {name}, "
                    f"choose one of: [{' '.join(names)}]"
                )
            container = names[0]
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise bad_request(f"pod {name} does not have a host assigned")
        instance = _instance(pod, container, (first(query, "previous") or "") in _TRUE)
        with self._lock:
            text = self._text.get((pod["metadata"]["uid"], instance), b"")
        if tail_lines is not None:
            text = _tail(text, tail_lines)
        if limit_bytes is not None:
            text = text[:limit_bytes]
        return text
