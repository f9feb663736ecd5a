"""Building blocks the per-kind validators share: semantic equality, Go's %#v rendering of
values in field errors, labels and label selectors, CIDRs and finalizers.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import Any

from .json_shapes import Body
from .status import FieldError
from .validation import label_value, qualified_name


def without_empty(spec: dict[str, Any]) -> dict[str, Any]:
    """What apiequality.Semantic.DeepEqual compares: a nil and an empty list or map are
    equal there (unlike reflect.DeepEqual)."""
    return {k: v for k, v in spec.items() if v not in (None, [], {})}


def go_string_map(values: Mapping[str, str] | None) -> str:
    """%#v of a map[string]string (keys sorted, as fmt prints maps)."""
    if values is None:
        return "map[string]string(nil)"
    entries = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(values.items()))
    return f"map[string]string{{{entries}}}"


def go_label_selector(selector: Mapping[str, Any] | None) -> str:
    """%#v of a *metav1.LabelSelector, as ValidateImmutableField prints it."""
    if selector is None:
        return "null"
    expressions = selector.get("matchExpressions")
    if expressions:
        rendered = ", ".join(
            "v1.LabelSelectorRequirement{"
            f"Key:{json.dumps(e.get('key', ''))}, Operator:{json.dumps(e.get('operator', ''))}, "
            f"Values:{_go_strings(e.get('values'))}}}"
            for e in expressions
        )
        expressions_text = f"[]v1.LabelSelectorRequirement{{{rendered}}}"
    else:
        expressions_text = "[]v1.LabelSelectorRequirement(nil)"
    return (
        f"&v1.LabelSelector{{MatchLabels:{go_string_map(selector.get('matchLabels'))}, "
        f"MatchExpressions:{expressions_text}}}"
    )


def _go_strings(values: list[str] | None) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


# --- label selectors (k8s.io/apimachinery/pkg/apis/meta/v1/validation) --------------------


def label_errors(labels: Mapping[str, str], path: str) -> list[FieldError]:
    """ValidateLabels: every problem is reported on the map's path, keys and values alike."""
    errors = []
    for key, value in sorted(labels.items()):
        errors += [FieldError.invalid(path, key, p) for p in qualified_name(key)]
        errors += [FieldError.invalid(path, value, p) for p in label_value(value)]
    return errors


def label_selector_errors(
    body: Body, selector: Any, path: str, allow_invalid_values: bool = False
) -> list[FieldError]:
    """ValidateLabelSelector with LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector}
    (k8s.io/apimachinery/pkg/apis/meta/v1/validation); None is valid. Labels in sorted key
    order (Go's map order is random)."""
    if selector is None:
        return []
    selector = body.mapping(selector, path)
    errors = label_errors(
        body.string_map(selector.get("matchLabels"), f"{path}.matchLabels"), f"{path}.matchLabels"
    )
    expressions = body.items(selector.get("matchExpressions"), f"{path}.matchExpressions")
    for index, raw in enumerate(expressions):
        where = f"{path}.matchExpressions[{index}]"
        errors += _requirement_errors(body, body.mapping(raw, where), where, allow_invalid_values)
    return errors


def _requirement_errors(
    body: Body, requirement: dict[str, Any], path: str, allow_invalid_values: bool
) -> list[FieldError]:
    """ValidateLabelSelectorRequirement."""
    operator = body.string(requirement.get("operator"), f"{path}.operator")
    values = body.strings(requirement.get("values"), f"{path}.values")
    key = body.string(requirement.get("key"), f"{path}.key")
    errors = []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(
                FieldError.required(
                    f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"
                )
            )
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(
                FieldError.forbidden(
                    f"{path}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    else:
        errors.append(
            FieldError.invalid(f"{path}.operator", operator, "not a valid selector operator")
        )
    errors += [FieldError.invalid(f"{path}.key", key, p) for p in qualified_name(key)]
    if not allow_invalid_values:
        for index, value in enumerate(values):
            errors += [
                FieldError.invalid(f"{path}.values[{index}]", value, p) for p in label_value(value)
            ]
    return errors


def has_invalid_label_values(selector: Mapping[str, Any] | None) -> bool:
    """Whether a stored selector already holds values that are not label values: an update
    may keep them (the ratcheting of the *HasInvalidLabelValueInSelector helpers)."""
    requirements = (selector or {}).get("matchExpressions") or []
    return any(label_value(v) for r in requirements for v in r.get("values") or [])


# --- CIDRs (k8s.io/apimachinery/pkg/util/validation/ip.go) ---------------------------------

_CIDR_FORMAT = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_SLOPPY_IPV4 = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


def parse_cidr(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """netutils.ParseCIDRSloppy: the network, or None if unparseable. Sloppy means IPv4 octets
    and the prefix length may carry leading zeros."""
    address, slash, prefix = value.partition("/")
    if not slash or not prefix.isdigit() or "%" in address or not prefix.isascii():
        return None
    sloppy = _SLOPPY_IPV4.fullmatch(address)
    if sloppy:
        octets = [int(octet) for octet in sloppy.groups()]
        if any(octet > 255 for octet in octets):
            return None
        address = ".".join(map(str, octets))
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if int(prefix) > parsed.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{address}/{int(prefix)}", strict=False)


def cidr_errors(path: str, value: str) -> list[FieldError]:
    """parseCIDR with strictValidation (the StrictIPCIDRValidation gate): the stricter of the
    two answers a real server may give, so nothing passes here that one of them refuses."""
    network = parse_cidr(value)
    if network is None:
        return [FieldError.invalid(path, value, _CIDR_FORMAT)]
    address, _, prefix = value.partition("/")
    if (prefix != "0" and prefix.startswith("0")) or (
        _SLOPPY_IPV4.fullmatch(address)
        and any(len(o) > 1 and o.startswith("0") for o in address.split("."))
    ):
        detail = "must not have leading 0s in IP or prefix length"
    elif isinstance(network, ipaddress.IPv6Network) and _is_ipv4_mapped(address):
        detail = "must not have an IPv4-mapped IPv6 address"
    elif ipaddress.ip_address(_unsloppy(address)) != network.network_address:
        detail = "must not have bits set beyond the prefix length"
    else:
        return []
    return [FieldError.invalid(path, value, detail)]


def _is_ipv4_mapped(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    return isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None


def _unsloppy(address: str) -> str:
    sloppy = _SLOPPY_IPV4.fullmatch(address)
    return ".".join(str(int(o)) for o in sloppy.groups()) if sloppy else address


# --- pkg/apis/core/validation ValidateObjectMeta: the finalizer check core kinds add -------

_STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def kube_finalizer_errors(finalizers: Any, path: str = "metadata.finalizers") -> list[FieldError]:
    """validateKubeFinalizerName, for each finalizer (indexed) of a core, apps or networking
    object: a name without a '/' prefix must be one of the standard ones."""
    if not isinstance(finalizers, list):
        return []
    return [
        FieldError.invalid(
            f"{path}[{index}]",
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        )
        for index, name in enumerate(finalizers)
        if isinstance(name, str) and "/" not in name and name not in _STANDARD_FINALIZERS
    ]
