"""NetworkPolicy validation: pkg/apis/networking/validation/validation.go
(ValidateNetworkPolicy, ValidateNetworkPolicyUpdate and the functions they call)."""

from __future__ import annotations

import re
from typing import Any

from .json_shapes import Body
from .status import FieldError
from .strategy import GenerationStrategy
from .validate_common import (
    cidr_errors,
    kube_finalizer_errors,
    label_selector_errors,
    parse_cidr,
)

_BODY = Body("NetworkPolicy", "networking.k8s.io/v1")
_PROTOCOLS = ["TCP", "UDP", "SCTP"]
_POLICY_TYPES = ["Ingress", "Egress"]
_PORT_RANGE = "must be between 1 and 65535, inclusive"


def port_number_errors(value: int) -> list[str]:
    """IsValidPortNum (k8s.io/apimachinery/pkg/util/validation)."""
    return [] if 1 <= value <= 65535 else [_PORT_RANGE]


def port_name_errors(value: str) -> list[str]:
    """IsValidPortName (k8s.io/apimachinery/pkg/util/validation)."""
    problems = []
    if len(value) > 15:
        problems.append("must be no more than 15 characters")
    if not re.fullmatch("[-a-z0-9]+", value):
        problems.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        problems.append("must contain at least one letter (a-z)")
    if "--" in value:
        problems.append("must not contain consecutive hyphens")
    if value and (value[0] == "-" or value[-1] == "-"):
        problems.append("must not begin or end with a hyphen")
    return problems


def _port_errors(raw: Any, path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPort."""
    port = _BODY.mapping(raw, path)
    errors = []
    protocol = port.get("protocol")
    if protocol is not None:
        protocol = _BODY.string(protocol, f"{path}.protocol")
        if protocol not in _PROTOCOLS:
            errors.append(FieldError.not_supported(f"{path}.protocol", protocol, _PROTOCOLS))
    number = port.get("port")
    end = _BODY.integer(port.get("endPort"), f"{path}.endPort")
    if number is None:
        if end is not None:
            errors.append(
                FieldError.invalid(
                    f"{path}.endPort", end, "may not be specified when `port` is not specified"
                )
            )
    elif isinstance(number, str):
        if end is not None:
            errors.append(
                FieldError.invalid(
                    f"{path}.endPort", end, "may not be specified when `port` is non-numeric"
                )
            )
        errors += [FieldError.invalid(f"{path}.port", number, p) for p in port_name_errors(number)]
    else:
        # intstr.IntOrString: a JSON integer within int32, or a string.
        value = _BODY.integer(number, f"{path}.port") or 0
        errors += [FieldError.invalid(f"{path}.port", value, p) for p in port_number_errors(value)]
        if end is not None:
            if end < value:
                errors.append(
                    FieldError.invalid(
                        f"{path}.endPort", end, "must be greater than or equal to `port`"
                    )
                )
            errors += [
                FieldError.invalid(f"{path}.endPort", end, p) for p in port_number_errors(end)
            ]
    return errors


def _ip_block_errors(raw: Any, path: str, old_cidrs: frozenset[str]) -> list[FieldError]:
    """ValidateIPBlock: a CIDR already in the old policy is not checked again."""
    block = _BODY.mapping(raw, path)
    cidr = _BODY.string(block.get("cidr"), f"{path}.cidr")
    if not cidr:
        return [FieldError.required(f"{path}.cidr")]
    errors = [] if cidr in old_cidrs else cidr_errors(f"{path}.cidr", cidr)
    network = parse_cidr(cidr)
    if network is None:
        return errors
    for index, except_cidr in enumerate(_BODY.strings(block.get("except"), f"{path}.except")):
        where = f"{path}.except[{index}]"
        if except_cidr not in old_cidrs:
            errors += cidr_errors(where, except_cidr)
        excepted = parse_cidr(except_cidr)
        if excepted is None:
            continue
        contained = excepted.version == network.version and excepted.network_address in network
        if not contained or network.prefixlen >= excepted.prefixlen:
            errors.append(
                FieldError.invalid(where, except_cidr, "must be a strict subset of `cidr`")
            )
    return errors


def _peer_errors(
    raw: Any, path: str, allow_invalid_values: bool, old_cidrs: frozenset[str]
) -> list[FieldError]:
    """ValidateNetworkPolicyPeer: exactly one kind of peer, ipBlock alone."""
    peer = _BODY.mapping(raw, path)
    errors = []
    for selector in ("podSelector", "namespaceSelector"):
        if peer.get(selector) is not None:
            errors += label_selector_errors(
                _BODY, peer[selector], f"{path}.{selector}", allow_invalid_values
            )
    if peer.get("ipBlock") is not None:
        errors += _ip_block_errors(peer["ipBlock"], f"{path}.ipBlock", old_cidrs)
    given = [
        key for key in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(key) is not None
    ]
    if not given:
        errors.append(FieldError.required(path, "must specify a peer"))
    elif len(given) > 1 and "ipBlock" in given:
        errors.append(FieldError.forbidden(path, "may not specify both ipBlock and another peer"))
    return errors


def _rules(spec: dict[str, Any], direction: str) -> list[dict[str, Any]]:
    return [
        _BODY.mapping(rule, f"spec.{direction}[{index}]")
        for index, rule in enumerate(_BODY.items(spec.get(direction), f"spec.{direction}"))
    ]


def spec_errors(
    spec: dict[str, Any],
    allow_invalid_values: bool = False,
    old_cidrs: frozenset[str] = frozenset(),
) -> list[FieldError]:
    """ValidateNetworkPolicySpec."""
    errors = label_selector_errors(
        _BODY, spec.get("podSelector"), "spec.podSelector", allow_invalid_values
    )
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for index, rule in enumerate(_rules(spec, direction)):
            where = f"spec.{direction}[{index}]"
            ports = _BODY.items(rule.get("ports"), f"{where}.ports")
            for port_index, port in enumerate(ports):
                errors += _port_errors(port, f"{where}.ports[{port_index}]")
            for peer_index, peer in enumerate(_BODY.items(rule.get(peers), f"{where}.{peers}")):
                errors += _peer_errors(
                    peer, f"{where}.{peers}[{peer_index}]", allow_invalid_values, old_cidrs
                )
    policy_types = _BODY.strings(spec.get("policyTypes"), "spec.policyTypes")
    if len(policy_types) > len(_POLICY_TYPES):
        rendered = "[]networking.PolicyType{" + ", ".join(f'"{t}"' for t in policy_types) + "}"
        errors.append(
            FieldError.invalid_rendered(
                "spec.policyTypes", rendered, "may not specify more than two policyTypes"
            )
        )
        return errors
    for index, policy_type in enumerate(policy_types):
        if policy_type not in _POLICY_TYPES:
            errors.append(
                FieldError.not_supported(f"spec.policyTypes[{index}]", policy_type, _POLICY_TYPES)
            )
    return errors


def _old_cidrs(old: dict[str, Any]) -> frozenset[str]:
    """Every ipBlock CIDR and except of the stored policy (ValidateNetworkPolicyUpdate)."""
    cidrs: set[str] = set()
    spec = old.get("spec") or {}
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for rule in spec.get(direction) or []:
            for peer in rule.get(peers) or []:
                block = peer.get("ipBlock")
                if block:
                    cidrs.add(block.get("cidr", ""))
                    cidrs.update(block.get("except") or [])
    return frozenset(cidrs)


class NetworkPolicyStrategy(GenerationStrategy):
    """pkg/registry/networking/networkpolicy/strategy.go: Validate and ValidateUpdate."""

    def validate(self, obj: dict[str, Any]) -> list[FieldError]:
        spec = _BODY.mapping(obj.get("spec"), "spec")
        return kube_finalizer_errors(obj["metadata"].get("finalizers")) + spec_errors(spec)

    def validate_update(self, new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
        # ValidationOptionsForNetworking: a stored podSelector with invalid label values may
        # keep them.
        old_selector = (old.get("spec") or {}).get("podSelector") or {}
        allow = bool(label_selector_errors(_BODY, old_selector, "spec.podSelector"))
        spec = _BODY.mapping(new.get("spec"), "spec")
        finalizers = kube_finalizer_errors(new["metadata"].get("finalizers"))
        return finalizers + spec_errors(spec, allow, _old_cidrs(old))
