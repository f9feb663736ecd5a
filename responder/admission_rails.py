"""The CEL of each limit responder.admission puts on a kind of change: what a request by
the responder's identity may change in an object, and nothing else.

`object` and `oldObject` are dyn (as the API server declares them), so every term guards
a field that may be absent with has(). Lists and maps are looked into with macros (all,
exists); list literals are homogeneous, as the API server requires
(cel.HomogeneousAggregateLiterals): mixed elements are wrapped in dyn().
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def cel_string(text: str) -> str:
    """`text` as a CEL string literal (JSON's escapes are all CEL escapes)."""
    return (
        "'"
        + json.dumps(text, ensure_ascii=False)[1:-1].replace('\\"', '"').replace("'", "\\'")
        + "'"
    )


def cel_list(values: Iterable[str]) -> str:
    return "[" + ", ".join(cel_string(v) for v in values) + "]"


def cel_value(value: Any) -> str:
    """A JSON value as a CEL literal (maps and lists of mixed values wrapped in dyn())."""
    if isinstance(value, str):
        return cel_string(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(f"dyn({cel_value(v)})" for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{cel_string(k)}: dyn({cel_value(v)})" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"no CEL literal for {value!r}")


def unchanged(path: str) -> str:
    """The optional field `path` (of object) is as it was: both absent, or equal."""
    return (
        f"(has(object.{path}) == has(oldObject.{path}) &&\n"
        f"(!has(object.{path}) || object.{path} == oldObject.{path}))"
    )


# A changed map of a pod's metadata is looked into key by key only up to this many keys.
# The API server stops an expression past 1,000,000 in CEL cost (PerCallLimit), and a
# tenant may give its pod more keys than a look within that can cover (labels have no
# count limit, annotations 256 KiB); a look cut off by cost is refused with a 422. At
# this bound the look costs under 800,000 (26 per key at most, measured with cel-go),
# and a pod with more keys is refused with the rail's own message.
MAX_LOOKED_INTO_KEYS = 30_000


def _metadata_map(field: str, changes: Mapping[str, Sequence[str | None]]) -> str:
    """Map `field` of the pod's metadata: a key changes only to a value the policy sets
    (or goes, where the policy removes it); every other key is as it was.

    Unchanged, the map is compared whole (cost: a tenth of its size). Changed, each key
    the policy changes is checked alone; the other keys are as many before as after; and
    each old key but those is still there with its value: together, no key is added,
    changed or removed but as the policy does it, in one look over the old keys.
    """
    path = f"metadata.{field}"
    if not changes:
        return unchanged(path)
    new, old = f"object.{path}", f"oldObject.{path}"
    terms, in_new, in_old = [], [], []
    for key, values in changes.items():
        k = cel_string(key)
        has_new, has_old = f"(has({new}) && {k} in {new})", f"(has({old}) && {k} in {old})"
        in_new.append(f"({has_new} ? 1 : 0)")
        in_old.append(f"({has_old} ? 1 : 0)")
        setting = [v for v in values if v is not None]
        to_value = f" ||\n{new}[{k}] in {cel_list(setting)}" if setting else ""
        kept = f"({has_old} && {new}[{k}] == {old}[{k}]{to_value})"
        terms.append(f"({has_new} ? {kept} :\n{'true' if None in values else '!' + has_old})")
    terms.append(
        f"(has({new}) ? {new}.size() : 0) + {' + '.join(in_old)} ==\n"
        f"(has({old}) ? {old}.size() : 0) + {' + '.join(in_new)}"
    )
    terms.append(
        f"(!has({old}) || ({old}.size() <= {MAX_LOOKED_INTO_KEYS} &&\n"
        f"{old}.all(k, k in {cel_list(changes)} ||\n"
        f"(has({new}) && k in {new} && {new}[k] == {old}[k]))))"
    )
    return f"({unchanged(path)} ||\n(" + " &&\n".join(terms) + "))"


def _update_of(group: str, resources: Sequence[str]) -> str:
    """The request is not an UPDATE of one of `resources` (then the limit is not its)."""
    which = (
        f"request.resource.resource != {cel_string(resources[0])}"
        if len(resources) == 1
        else f"!(request.resource.resource in {cel_list(resources)})"
    )
    return (
        f"request.resource.group != {cel_string(group)} || {which} ||\n"
        "has(request.subResource) || request.operation != 'UPDATE' ||\n"
    )


_OWNERSHIP = ("metadata.ownerReferences", "metadata.finalizers")


def _only_tightened(key: str, tightest: str) -> str:
    """Label `key`, where a pod had it and keeps it, keeps its value or takes `tightest`:
    another value the policy sets would loosen what the old one enforces."""
    new, old = "object.metadata.labels", "oldObject.metadata.labels"
    k = cel_string(key)
    return (
        f"(!has({old}) || !({k} in {old}) || !has({new}) || !({k} in {new}) ||\n"
        f"{new}[{k}] == {old}[{k}] || {new}[{k}] == {cel_string(tightest)})"
    )


def pod_update(
    labels: Mapping[str, Sequence[str | None]],
    annotations: Mapping[str, Sequence[str | None]],
    tightened: Mapping[str, str] | None = None,
) -> list[str]:
    """A pod update changes only the labels and annotations the policy's actions set; a
    label of `tightened` (key -> its tightest value) only ever to its tightest value.

    Three expressions, each with the API server's cost limit of one expression to itself:
    the spec and ownership, the labels, the annotations.
    """
    update = _update_of("", ["pods"])
    tight = "".join(f" &&\n{_only_tightened(k, v)}" for k, v in (tightened or {}).items())
    return [
        update
        + "(object.spec == oldObject.spec &&\n"
        + " &&\n".join(unchanged(p) for p in _OWNERSHIP)
        + ")",
        update + "(" + _metadata_map("labels", labels) + tight + ")",
        update + _metadata_map("annotations", annotations),
    ]


def _only_spec_field(field: str) -> str:
    """Every field of object.spec other than `field` is as it was, none added or gone."""
    return (
        f"object.spec.all(k, k == {cel_string(field)} ||\n"
        f"(k in oldObject.spec && object.spec[k] == oldObject.spec[k])) &&\n"
        f"oldObject.spec.all(k, k == {cel_string(field)} || k in object.spec)"
    )


_METADATA = (
    "metadata.labels",
    "metadata.annotations",
    "metadata.ownerReferences",
    "metadata.finalizers",
)


def _sets_only(group: str, resources: Sequence[str], field: str, value: str) -> str:
    """An update of `resources` sets spec.`field` (to what `value` checks) and nothing else:
    no other spec field, no owner, finalizer, label or annotation."""
    return (
        _update_of(group, resources)
        + f"(has(object.spec.{field}) && {value} &&\n"
        + _only_spec_field(field)
        + " &&\n"
        + " &&\n".join(unchanged(p) for p in _METADATA)
        + ")"
    )


def scale_to_zero(resources: Sequence[str]) -> str:
    """A direct update of a Deployment or StatefulSet sets spec.replicas to 0, nothing else
    (no persistentVolumeClaimRetentionPolicy, template, owner or finalizer)."""
    return _sets_only("apps", resources, "replicas", "object.spec.replicas == 0")


CORDON = _sets_only("", ["nodes"], "unschedulable", "object.spec.unschedulable")

# A DELETE only: an eviction (CREATE of pods/eviction) carries the Eviction, not the pod,
# and the delete it makes is not admitted (EvictionREST.Create, rest.ValidateAllObjectFunc).
NO_DAEMONSET_POD_DELETE = (
    "request.resource.group != '' || request.resource.resource != 'pods' ||\n"
    "has(request.subResource) || request.operation != 'DELETE' ||\n"
    "!has(oldObject.metadata.ownerReferences) ||\n"
    "!oldObject.metadata.ownerReferences.exists(r, r.kind == 'DaemonSet')"
)


def _rules_are(field: str, expected: list[Any]) -> str:
    if not expected:
        return f"(!has(object.spec.{field}) || object.spec.{field}.size() == 0)"
    return f"(has(object.spec.{field}) && object.spec.{field} == {cel_value(expected)})"


def isolation_policy(isolations: Sequence[Mapping[str, Any]]) -> str:
    """A NetworkPolicy write makes one of the policies isolate_pod creates: its name, its
    pod selector, both policy types, and the rules (none: deny all) it has; no owner or
    finalizer (isolate_pod sets none, and a replace drops a tenant's: an owner reference
    to nothing would have the garbage collector delete the isolation)."""
    shapes = [
        f"(object.metadata.name == {cel_string(i['name'])} &&\n"
        f"object.spec.podSelector == {cel_value(i['spec']['podSelector'])} &&\n"
        f"{_rules_are('ingress', i['spec'].get('ingress') or [])} &&\n"
        f"{_rules_are('egress', i['spec'].get('egress') or [])})"
        for i in isolations
    ]
    kinds = cel_list(isolations[0]["spec"]["policyTypes"]) if isolations else "[]"
    return (
        "request.resource.group != 'networking.k8s.io' ||\n"
        "request.resource.resource != 'networkpolicies' || has(request.subResource) ||\n"
        "request.operation == 'DELETE' ||\n"
        f"(has(object.spec.policyTypes) && object.spec.policyTypes == {kinds} &&\n"
        + "".join(f"(!has(object.{p}) || object.{p}.size() == 0) &&\n" for p in _OWNERSHIP)
        + (" ||\n".join(shapes) if shapes else "false")
        + ")"
    )


def breaker_configmap(name: str, data_key: str) -> str:
    """The breaker's ConfigMap holds only its count, and gains no owner or finalizer, nor
    `immutable` (which would keep the count from ever changing again)."""
    ownership = " &&\n".join(
        f"(request.operation == 'CREATE' ? !has(object.{p}) : {unchanged(p)})" for p in _OWNERSHIP
    )
    return (
        "request.resource.group != '' || request.resource.resource != 'configmaps' ||\n"
        f"has(request.subResource) || request.operation == 'DELETE' ||\n"
        f"(object.metadata.name == {cel_string(name)} &&\n"
        f"(!has(object.data) || object.data.all(k, k == {cel_string(data_key)})) &&\n"
        f"!has(object.binaryData) && (!has(object.immutable) || !object.immutable) &&\n"
        f"{ownership})"
    )


def recorded_event(component: str, name_suffix: str, reasons: Sequence[str]) -> str:
    """An Event is one record_event writes: about a pod of its own namespace, from
    `component`, named by `event_name` (ending `name_suffix` and a 16-digit digest), with
    a reason the policy's actions give, and no owner or finalizer."""
    ours = cel_string(component)
    return (
        "request.resource.group != '' || request.resource.resource != 'events' ||\n"
        "has(request.subResource) || request.operation == 'DELETE' ||\n"
        "(has(object.involvedObject.kind) && object.involvedObject.kind == 'Pod' &&\n"
        "has(object.involvedObject.apiVersion) && object.involvedObject.apiVersion == 'v1' &&\n"
        "has(object.involvedObject.namespace) &&\n"
        "object.involvedObject.namespace == request.namespace &&\n"
        "has(object.source) && has(object.source.component) &&\n"
        f"object.source.component == {ours} &&\n"
        f"has(object.reportingComponent) && object.reportingComponent == {ours} &&\n"
        f"has(object.reason) && object.reason in {cel_list(reasons)} &&\n"
        f"has(object.metadata.name) &&\n"
        f"object.metadata.name.matches({cel_string(_escaped(name_suffix) + '[0-9a-f]{16}$')}) &&\n"
        + " &&\n".join(f"!has(object.{p})" for p in _OWNERSHIP)
        + ")"
    )


def _escaped(text: str) -> str:
    """`text` as an RE2 pattern matching itself: each character outside [A-Za-z0-9-] in a
    class of its own."""
    return "".join(c if c.isalnum() or c == "-" else f"[{c}]" for c in text)
