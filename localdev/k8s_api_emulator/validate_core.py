"""Validation of the core-group kinds the project writes, after
pkg/apis/core/validation/validation.go and events.go: ConfigMap, Event, Namespace, Node and
Pod updates. Each function names the upstream function it follows."""

from __future__ import annotations

import base64
import binascii
import copy
import re
from typing import Any

from .json_shapes import Body
from .status import FieldError, bad_request
from .validate_common import (
    cidr_errors,
    go_string_map,
    kube_finalizer_errors,
    parse_cidr,
    without_empty,
)
from .validation import dns1123_subdomain, label_value, qualified_name

_IMMUTABLE_CONFIG = "field is immutable when `immutable` is set"
_CONFIG_KEY = "[-._a-zA-Z0-9]+"
_CONFIG_KEY_MESSAGE = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
    f"(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
    f"'{_CONFIG_KEY}')"
)
# core.MaxSecretSize, the limit of a ConfigMap's data and binaryData together.
MAX_CONFIGMAP_SIZE = 1 * 1024 * 1024


def config_key(key: str) -> list[str]:
    """IsConfigMapKey (k8s.io/apimachinery/pkg/util/validation)."""
    problems = []
    if len(key) > 253:
        problems.append("must be no more than 253 characters")
    if not re.fullmatch(_CONFIG_KEY, key):
        problems.append(_CONFIG_KEY_MESSAGE)
    if key == ".":
        problems.append("must not be '.'")
    elif key == "..":
        problems.append("must not be '..'")
    elif key.startswith(".."):
        problems.append("must not start with '..'")
    return problems


# --- ConfigMap -----------------------------------------------------------------------------

_CONFIGMAP = Body("ConfigMap", "v1")


def _binary_size(value: str, key: str) -> int:
    """binaryData values are base64 []byte: a bad encoding is the decoder's 400."""
    try:
        return len(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise bad_request(
            'ConfigMap in version "v1" cannot be handled as a ConfigMap: illegal base64 data '
            f"in binaryData[{key}]"
        ) from None


def validate_configmap(obj: dict[str, Any]) -> list[FieldError]:
    """ValidateConfigMap: key syntax, no key in both maps, 1 MiB of values in all."""
    data = _CONFIGMAP.string_map(obj.get("data"), "data")
    binary = _CONFIGMAP.string_map(obj.get("binaryData"), "binaryData")
    errors = kube_finalizer_errors(obj["metadata"].get("finalizers"))
    size = 0
    for key, value in sorted(data.items()):
        errors += [FieldError.invalid(f"data[{key}]", key, p) for p in config_key(key)]
        if key in binary:
            errors.append(
                FieldError.invalid(f"data[{key}]", key, "duplicate of key present in binaryData")
            )
        size += len(value.encode())
    for key, value in sorted(binary.items()):
        errors += [FieldError.invalid(f"binaryData[{key}]", key, p) for p in config_key(key)]
        size += _binary_size(value, key)
    if size > MAX_CONFIGMAP_SIZE:
        # "" names the whole object.
        errors.append(FieldError.too_long("", MAX_CONFIGMAP_SIZE))
    return errors


def validate_configmap_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """ValidateConfigMapUpdate: an immutable ConfigMap keeps its data and its flag."""
    errors = []
    if old.get("immutable"):
        if not _CONFIGMAP.boolean(new.get("immutable"), "immutable"):
            errors.append(FieldError.forbidden("immutable", _IMMUTABLE_CONFIG))
        for part in ("data", "binaryData"):
            if _map_changed(new.get(part), old.get(part)):
                errors.append(FieldError.forbidden(part, _IMMUTABLE_CONFIG))
    return errors + validate_configmap(new)


def _map_changed(after: Any, before: Any) -> bool:
    """reflect.DeepEqual of the maps: storage reads an empty map back as nil, and nil
    differs from a given empty map."""
    if after == before:
        return False
    return not (not before and after is None)


# --- Event (events.go) ---------------------------------------------------------------------

_EVENT = Body("Event", "v1")
_EVENT_LIMITS = (("reportingInstance", 128), ("action", 128), ("reason", 128))
_NOTE_LIMIT = 1024


def _byte_length(value: str) -> int:
    return len(value.encode())


def validate_event(obj: dict[str, Any]) -> list[FieldError]:
    """legacyValidateEvent: all ValidateEventCreate/Update check for the core v1 API (the
    stricter events.k8s.io/v1 rules are not served here)."""
    namespace = obj["metadata"].get("namespace", "")
    involved = _EVENT.mapping(obj.get("involvedObject"), "involvedObject")
    involved_namespace = _EVENT.string(involved.get("namespace"), "involvedObject.namespace")
    fields = {
        key: _EVENT.string(obj.get(json_key), json_key)
        for key, json_key in (
            ("reportingController", "reportingComponent"),
            ("reportingInstance", "reportingInstance"),
            ("action", "action"),
            ("reason", "reason"),
            ("message", "message"),
        )
    }
    mismatch = FieldError.invalid(
        "involvedObject.namespace", involved_namespace, "does not match event.namespace"
    )
    errors = []
    if not obj.get("eventTime"):
        # An old-style event: its namespace and its object's agree ("default" for
        # cluster-scoped objects, for old clients).
        allowed = {involved_namespace} if involved_namespace else {"", "default"}
        if namespace not in allowed:
            errors.append(mismatch)
    else:
        if not involved_namespace and namespace not in ("default", "kube-system"):
            errors.append(mismatch)
        controller = fields["reportingController"]
        if not controller:
            errors.append(FieldError.required("reportingController"))
        errors += [
            FieldError.invalid("reportingController", controller, p)
            for p in qualified_name(controller)
        ]
        for key, limit in _EVENT_LIMITS:
            if not fields[key]:
                errors.append(FieldError.required(key))
            if _byte_length(fields[key]) > limit:
                errors.append(FieldError.invalid(key, "", f"can have at most {limit} characters"))
        if _byte_length(fields["message"]) > _NOTE_LIMIT:
            errors.append(
                FieldError.invalid("message", "", f"can have at most {_NOTE_LIMIT} characters")
            )
    errors += [FieldError.invalid("namespace", namespace, p) for p in dns1123_subdomain(namespace)]
    return errors


# --- Namespace -----------------------------------------------------------------------------

_NAMESPACE = Body("Namespace", "v1")


def validate_namespace(obj: dict[str, Any]) -> list[FieldError]:
    """ValidateNamespace: metadata finalizers, and spec.finalizers (reported unindexed)."""
    spec = _NAMESPACE.mapping(obj.get("spec"), "spec")
    finalizers = _NAMESPACE.strings(spec.get("finalizers"), "spec.finalizers")
    errors = kube_finalizer_errors(obj["metadata"].get("finalizers"))
    for name in finalizers:
        # validateFinalizerName: ValidateFinalizerName, then validateKubeFinalizerName.
        errors += [FieldError.invalid("spec.finalizers", name, p) for p in qualified_name(name)]
        errors += [
            FieldError.invalid("spec.finalizers", name, error.body.rpartition(": ")[2])
            for error in kube_finalizer_errors([name])
        ]
    return errors


# --- Node ----------------------------------------------------------------------------------

_NODE = Body("Node", "v1")
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_PROVIDER_ID = 'node updates may not change providerID except from "" to valid'
_POD_CIDR = 'node updates may not change podCIDR except from "" to valid'


def taint_effect_errors(effect: str, path: str, allow_empty: bool) -> list[FieldError]:
    """validateTaintEffect."""
    if not effect:
        return [] if allow_empty else [FieldError.required(path)]
    if effect not in _TAINT_EFFECTS:
        return [FieldError.not_supported(path, effect, _TAINT_EFFECTS)]
    return []


def _go_taint(taint: dict[str, Any]) -> str:
    """%#v of a core.Taint, as field.Duplicate prints it."""
    added = taint.get("timeAdded")
    time_added = "(*v1.Time)(nil)" if added is None else f"time.Date({added})"
    return (
        f'core.Taint{{Key:"{taint.get("key", "")}", Value:"{taint.get("value", "")}", '
        f'Effect:"{taint.get("effect", "")}", TimeAdded:{time_added}}}'
    )


def taint_errors(raw: Any) -> list[FieldError]:
    """validateNodeTaints, on ValidateNode's path: upstream reports them under
    ``metadata.taints``, not ``spec.taints``."""
    errors = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(_NODE.items(raw, "spec.taints")):
        taint = _NODE.mapping(item, f"spec.taints[{index}]")
        path = f"metadata.taints[{index}]"
        key = _NODE.string(taint.get("key"), "spec.taints.key")
        value = _NODE.string(taint.get("value"), "spec.taints.value")
        effect = _NODE.string(taint.get("effect"), "spec.taints.effect")
        errors += [FieldError.invalid(f"{path}.key", key, p) for p in qualified_name(key)]
        problems = label_value(value)
        if problems:
            errors.append(FieldError.invalid(f"{path}.value", value, ";".join(problems)))
        errors += taint_effect_errors(effect, f"{path}.effect", allow_empty=False)
        if (key, effect) in seen:
            detail = "taints must be unique by key and effect pair"
            errors.append(FieldError.duplicate(path, taint, detail, rendered=_go_taint(taint)))
            continue
        seen.add((key, effect))
    return errors


def _pod_cidr_errors(cidrs: list[str]) -> list[FieldError]:
    errors = []
    for index, value in enumerate(cidrs):
        errors += _canonical_cidr_errors(f"spec.podCIDRs[{index}]", value)
    if len(cidrs) > 1:
        families = {":" in cidr for cidr in cidrs}
        if len(families) != 2 or len(cidrs) > 2:
            errors.append(
                FieldError.invalid(
                    "spec.podCIDRs", cidrs, "may specify no more than one CIDR for each IP family"
                )
            )
        for index, value in enumerate(cidrs):
            if value in cidrs[:index]:
                errors.append(FieldError.duplicate(f"spec.podCIDRs[{index}]", value))
    return errors


def _canonical_cidr_errors(path: str, value: str) -> list[FieldError]:
    """IsValidCIDR: a strict CIDR in canonical form."""
    errors = cidr_errors(path, value)
    if errors:
        return errors
    network = parse_cidr(value)
    if network is not None and str(network) != value:
        return [FieldError.invalid(path, value, f'must be in canonical form ("{network}")')]
    return []


def validate_node(obj: dict[str, Any]) -> list[FieldError]:
    """ValidateNode: taints and podCIDRs (status fields are the kubelet's)."""
    spec = _NODE.mapping(obj.get("spec"), "spec")
    errors = kube_finalizer_errors(obj["metadata"].get("finalizers"))
    errors += taint_errors(spec.get("taints"))
    return errors + _pod_cidr_errors(_NODE.strings(spec.get("podCIDRs"), "spec.podCIDRs"))


def validate_node_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """ValidateNodeUpdate: taints may change, unschedulable may change; podCIDRs and
    providerID only from empty, externalID never."""
    spec = _NODE.mapping(new.get("spec"), "spec")
    old_spec = old.get("spec") or {}
    errors = kube_finalizer_errors(new["metadata"].get("finalizers"))
    old_cidrs = old_spec.get("podCIDRs") or []
    new_cidrs = _NODE.strings(spec.get("podCIDRs"), "spec.podCIDRs")
    if old_cidrs:
        if len(old_cidrs) != len(new_cidrs):
            errors.append(FieldError.forbidden("spec.podCIDRs", _POD_CIDR))
        else:
            errors += [
                FieldError.forbidden("spec.podCIDRs", _POD_CIDR)
                for before, after in zip(old_cidrs, new_cidrs, strict=True)
                if before != after
            ]
    old_provider = old_spec.get("providerID") or ""
    provider = _NODE.string(spec.get("providerID"), "spec.providerID")
    if old_provider and old_provider != provider:
        errors.append(FieldError.forbidden("spec.providerID", _PROVIDER_ID))
    errors += taint_errors(spec.get("taints"))
    if _NODE.string(spec.get("externalID"), "spec.externalID") != (
        old_spec.get("externalID") or ""
    ):
        errors.append(FieldError.forbidden("spec.externalID", "may not be updated"))
    return errors


# --- Pod updates (ValidatePodUpdate) -------------------------------------------------------

_POD = Body("Pod", "v1")
_UPDATABLE_POD_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
# updatablePodSpecFields joined; upstream appends a diff of the specs, left out here.
POD_UPDATE_FORBIDDEN = "pod updates may not change fields other than " + ",".join(
    _UPDATABLE_POD_FIELDS
)
_MIRROR = "kubernetes.io/config.mirror"
_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
_INT32 = range(-(2**31), 2**31)


def _container_update_errors(
    new: list[Any], old: list[Any], path: str
) -> tuple[list[FieldError], bool]:
    """ValidateContainerUpdates: same number of containers, each with an image without
    surrounding whitespace. True means stop: nothing else is compared."""
    if len(new) != len(old):
        return [FieldError.forbidden(path, "pod updates may not add or remove containers")], True
    errors = []
    for index, raw in enumerate(new):
        container = _POD.mapping(raw, f"{path}[{index}]")
        image = _POD.string(container.get("image"), f"{path}.image")
        if not image:
            errors.append(FieldError.required(f"{path}[{index}].image"))
        if image.strip() != image:
            errors.append(
                FieldError.invalid(
                    f"{path}[{index}].image", image, "must not have leading or trailing whitespace"
                )
            )
    return errors, False


def toleration_errors(tolerations: list[Any], path: str) -> list[FieldError]:
    """ValidateTolerations."""
    errors = []
    for index, raw in enumerate(tolerations):
        toleration = _POD.mapping(raw, f"{path}[{index}]")
        where = f"{path}[{index}]"
        key = _POD.string(toleration.get("key"), f"{path}.key")
        operator = _POD.string(toleration.get("operator"), f"{path}.operator")
        value = _POD.string(toleration.get("value"), f"{path}.value")
        effect = _POD.string(toleration.get("effect"), f"{path}.effect")
        seconds = _POD.integer(toleration.get("tolerationSeconds"), f"{path}.tolerationSeconds", 64)
        if key:
            errors += [FieldError.invalid(f"{where}.key", key, p) for p in qualified_name(key)]
        if not key and operator != "Exists":
            errors.append(
                FieldError.invalid(
                    f"{where}.operator",
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values '
                    'and all keys"',
                )
            )
        if seconds is not None and effect != "NoExecute":
            errors.append(
                FieldError.invalid(
                    f"{where}.effect",
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if operator in ("Equal", ""):
            problems = label_value(value)
            if problems:
                errors.append(FieldError.invalid(f"{where}.operator", value, ";".join(problems)))
        elif operator == "Exists":
            if value:
                rendered = (
                    f'core.Toleration{{Key:"{key}", Operator:"{operator}", Value:"{value}", '
                    f'Effect:"{effect}", TolerationSeconds:{_go_int64_pointer(seconds)}}}'
                )
                errors.append(
                    FieldError.invalid_rendered(
                        f"{where}.operator",
                        rendered,
                        "value must be empty when `operator` is 'Exists'",
                    )
                )
        else:
            errors.append(
                FieldError.not_supported(f"{where}.operator", operator, ["Equal", "Exists"])
            )
        errors += taint_effect_errors(effect, f"{where}.effect", allow_empty=True)
    return errors


def _go_int64_pointer(value: int | None) -> str:
    """%#v of an *int64: nil, or an address (which varies; any stands for it)."""
    return "(*int64)(nil)" if value is None else "(*int64)(0xc000000000)"


def _only_added_tolerations(new: list[Any], old: list[Any]) -> list[FieldError]:
    """validateOnlyAddedTolerations: every old toleration is still there (its
    tolerationSeconds may change), then the new list is validated."""
    for before in old:
        kept = dict(before) if isinstance(before, dict) else {}
        kept.pop("tolerationSeconds", None)
        if not any(
            isinstance(after, dict)
            and {k: v for k, v in after.items() if k != "tolerationSeconds"} == kept
            for after in new
        ):
            return [
                FieldError.forbidden(
                    "spec.tolerations",
                    "existing toleration can not be modified except its tolerationSeconds",
                )
            ]
    return toleration_errors(new, "spec.tolerations")


def _only_deleted_gates(new: list[Any], old: list[Any]) -> list[FieldError]:
    """validateOnlyDeletedSchedulingGates."""
    old_names = {gate.get("name") for gate in old if isinstance(gate, dict)}
    return [
        FieldError.forbidden(
            f"spec.schedulingGates[{index}].name",
            f"only deletion is allowed, but found new scheduling gate '{gate.get('name')}'",
        )
        for index, gate in enumerate(new)
        if isinstance(gate, dict) and gate.get("name") not in old_names
    ]


def _deletion_cost_valid(value: str) -> bool:
    """GetDeletionCostFromPodAnnotations: a base-10 int32 without '+' or a leading zero."""
    if not re.fullmatch(r"-[0-9]+|0|[1-9][0-9]*", value):
        return False
    return int(value) in _INT32


def pod_annotation_update_errors(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """ValidatePodSpecificAnnotationUpdates (and the ValidatePodSpecificAnnotations it ends
    with, for the annotations the emulator knows)."""
    new_annotations = new["metadata"].get("annotations") or {}
    old_annotations = old["metadata"].get("annotations") or {}
    errors = []
    for key in sorted(old_annotations):
        if new_annotations.get(key) == old_annotations[key]:
            continue
        if key.startswith(_APPARMOR_PREFIX):
            errors.append(
                FieldError.forbidden(
                    f"metadata.annotations[{key}]", "may not remove or update AppArmor annotations"
                )
            )
        if key == _MIRROR:
            errors.append(
                FieldError.forbidden(
                    f"metadata.annotations[{key}]", "may not remove or update mirror pod annotation"
                )
            )
    for key in sorted(set(new_annotations) - set(old_annotations)):
        if key.startswith(_APPARMOR_PREFIX):
            errors.append(
                FieldError.forbidden(
                    f"metadata.annotations[{key}]", "may not add AppArmor annotations"
                )
            )
        if key == _MIRROR:
            errors.append(
                FieldError.forbidden(
                    f"metadata.annotations[{key}]", "may not add mirror pod annotation"
                )
            )
    if _MIRROR in new_annotations and not (new.get("spec") or {}).get("nodeName"):
        errors.append(
            FieldError.invalid(
                f"metadata.annotations[{_MIRROR}]",
                new_annotations[_MIRROR],
                "must set spec.nodeName if mirror pod annotation is set",
            )
        )
    cost = new_annotations.get(_DELETION_COST)
    # AllowInvalidPodDeletionCost: a stored pod whose cost was already invalid may keep it.
    old_cost = old_annotations.get(_DELETION_COST)
    old_invalid = old_cost is not None and not _deletion_cost_valid(old_cost)
    if cost is not None and not old_invalid and not _deletion_cost_valid(cost):
        errors.append(
            FieldError.invalid(
                f"metadata.annotations[{_DELETION_COST}]", cost, "must be a 32bit integer"
            )
        )
    return errors


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """ValidatePodUpdate, from the annotation rules on: only images, activeDeadlineSeconds
    (set, or lowered), tolerations (added), schedulingGates (removed) and a negative
    terminationGracePeriodSeconds (to 1) may change in a pod's spec."""
    spec = _POD.mapping(new.get("spec"), "spec")
    old_spec = old.get("spec") or {}
    errors = pod_annotation_update_errors(new, old)
    for part in ("containers", "initContainers"):
        found, stop = _container_update_errors(
            _POD.items(spec.get(part), f"spec.{part}"), old_spec.get(part) or [], f"spec.{part}"
        )
        errors += found
        if stop:
            return errors
    deadline = _POD.integer(spec.get("activeDeadlineSeconds"), "spec.activeDeadlineSeconds", 64)
    old_deadline = old_spec.get("activeDeadlineSeconds")
    if deadline is not None:
        if not 0 <= deadline <= 2**31 - 1:
            errors.append(
                FieldError.invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    f"must be between 0 and {2**31 - 1}, inclusive",
                )
            )
            return errors
        if old_deadline is not None and old_deadline < deadline:
            errors.append(
                FieldError.invalid(
                    "spec.activeDeadlineSeconds",
                    deadline,
                    "must be less than or equal to previous value",
                )
            )
            return errors
    elif old_deadline is not None:
        errors.append(
            FieldError.invalid(
                "spec.activeDeadlineSeconds",
                "null",
                "must not update from a positive integer to nil value",
            )
        )
    tolerations = _POD.items(spec.get("tolerations"), "spec.tolerations")
    errors += _only_added_tolerations(tolerations, old_spec.get("tolerations") or [])
    gates = _POD.items(spec.get("schedulingGates"), "spec.schedulingGates")
    errors += _only_deleted_gates(gates, old_spec.get("schedulingGates") or [])
    munged = _munged(spec, old_spec)
    if old_spec.get("schedulingGates"):
        # A gated pod may gain nodeSelector entries (validateNodeSelectorMutation). Its
        # required node affinity may be narrowed too upstream; here any change of it is
        # refused, the stricter answer.
        selector = _POD.string_map(spec.get("nodeSelector"), "spec.nodeSelector")
        old_selector = old_spec.get("nodeSelector") or {}
        if selector != old_selector:
            if any(selector.get(k) != v for k, v in old_selector.items()):
                errors.append(
                    FieldError.invalid_rendered(
                        "spec.nodeSelector",
                        go_string_map(selector),
                        "only additions to spec.nodeSelector are allowed (no mutations or "
                        "deletions)",
                    )
                )
            munged.pop("nodeSelector", None)
            if old_selector:
                munged["nodeSelector"] = old_selector
    if munged != without_empty(old_spec):
        errors.append(FieldError.forbidden("spec", POD_UPDATE_FORBIDDEN))
    return errors


def _munged(spec: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """The new spec with every field a pod update may change put back to its old value."""
    munged = copy.deepcopy(spec)
    for part in ("containers", "initContainers"):
        for container, before in zip(munged.get(part) or [], old.get(part) or [], strict=False):
            if isinstance(container, dict) and isinstance(before, dict):
                container.pop("image", None)
                if "image" in before:
                    container["image"] = before["image"]
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged.pop(key, None)
        if key in old:
            munged[key] = old[key]
    grace, old_grace = (
        munged.get("terminationGracePeriodSeconds"),
        old.get("terminationGracePeriodSeconds"),
    )
    if isinstance(old_grace, int) and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return without_empty(munged)
