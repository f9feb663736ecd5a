"""Every expression `falco-responder policy admission` generates, evaluated by two
independent CEL implementations on the same admission requests: Google's C++ CEL
(cel-expr-python, type-checked with Kubernetes' declarations: responder.admission_cel) and
the Kubernetes API emulator's engine (cel-rust: localdev/k8s_api_emulator/cel_expressions).
They must give the same answers: the same value, or both an error.

The requests are allowed and refused ones, cluster-scoped and namespaced, with and without
subresources, UPDATEs with changed and unchanged fields, DELETEs (object null); the
policies are the default one, the Terraform example's, and policies turning every action
and every rail on (and off).
"""

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.k8s_api_emulator import cel_expressions as emulator_cel
from responder import admission, admission_cel
from responder.actions import QUARANTINE_LABEL
from responder.actions.isolate import ISOLATION_LABEL
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
RESPONDER = "system:serviceaccount:falco-responder:responder"
EVERY_ACTION = [
    {"action": "capture_evidence"},
    {"action": "delete_pod"},
    {"action": "evict_pod"},
    {"action": "label_pod", "add": {"security/suspect": "true"}, "remove": ["security/ok"]},
    {"action": "annotate_pod", "add": {"security/why": "falco"}, "remove": ["security/note"]},
    {"action": "isolate_pod"},
    {"action": "isolate_pod", "allow_cidrs": ["10.0.0.0/8"], "allow_namespaces": ["forensics"]},
    {"action": "cordon_node"},
    {"action": "scale_to_zero"},
    {"action": "record_event"},
]


def _rules(**safety: Any) -> dict[str, Any]:
    rule = {"name": "everything", "match": {"rule": "x"}, "actions": EVERY_ACTION}
    return {"safety": safety, "rules": [rule]}


POLICIES = {
    "default": load_policy(ROOT / "responder" / "policy.yaml"),
    "terraform example": load_policy(ROOT / "terraform" / "examples" / "basic" / "policy.yaml"),
    "every action, every rail": parse_policy(
        _rules(
            protected_namespaces=["pay-*", "team-[ab]", "shop-?"],
            ignore_daemonset_pods=True,
            min_healthy_replicas=1,
        ),
        "on",
    ),
    "every action, no rail": parse_policy(
        _rules(
            unprotect=list(BUILT_IN_PROTECTED_NAMESPACES),
            ignore_daemonset_pods=False,
            circuit_breaker=None,
        ),
        "off",
    ),
}


# --- the corpus -----------------------------------------------------------------------------


def request(
    operation: str,
    resource: str,
    *,
    group: str = "",
    name: str = "",
    namespace: str = "",
    subresource: str = "",
    kind: str = "",
    user: str = RESPONDER,
    dry_run: bool = False,
) -> dict[str, Any]:
    """admissionv1.AdmissionRequest as JSON: empty omitempty fields absent."""
    version = "v1"
    gvk = {"group": group, "version": version, "kind": kind or resource.title().rstrip("s")}
    gvr = {"group": group, "version": version, "resource": resource}
    found: dict[str, Any] = {
        "uid": "0b9c5f5e-5d38-4c4b-9a53-1a0f0f3b2c11",
        "kind": gvk,
        "resource": gvr,
        "requestKind": dict(gvk),
        "requestResource": dict(gvr),
        "operation": operation,
        "userInfo": {
            "username": user,
            "groups": ["system:serviceaccounts", "system:authenticated"],
        },
        "dryRun": dry_run,
        "options": None,
    }
    for key, value in (
        ("name", name),
        ("namespace", namespace),
        ("subResource", subresource),
        ("requestSubResource", subresource),
    ):
        if value:
            found[key] = value
    return found


def pod(namespace: str = "shop", **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": namespace, "uid": "u-1", **metadata},
        "spec": {
            "containers": [{"name": "app", "image": "shop/web:1", "resources": {}}],
            "nodeName": "node-1",
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {"phase": "Running"},
    }


def node(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"podCIDR": "10.0.1.0/24", **spec},
    }


def statefulset(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "shop", "generation": 1},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": []}},
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
            **spec,
        },
    }


def network_policy(name: str = "falco-responder-isolate", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {ISOLATION_LABEL: "true"}},
            "policyTypes": ["Ingress", "Egress"],
            **spec,
        },
    }


def configmap(data: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    found = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIGMAP, "namespace": "falco-responder", **metadata},
    }
    if data is not None:
        found["data"] = data
    return found


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of `obj` with the dotted `path` set to `value`."""
    copied = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node_ = copied
    for part in parents:
        node_ = node_.setdefault(part, {})
    node_[last] = value
    return copied


def pod_update(new: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    old = old if old is not None else pod(labels={"app": "web", "security/ok": "yes"})
    return {
        "request": request("UPDATE", "pods", name="web", namespace="shop"),
        "object": new,
        "oldObject": old,
    }


LABELLED = pod(labels={"app": "web", "security/ok": "yes"})
DAEMON = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": "d-1"}]
OWNED = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "r-1"}]
TAINT = [{"key": "evil", "effect": "NoExecute"}]
IP_RULE = [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]


def corpus() -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, variables) of each request."""
    yield (
        "pod label the policy sets",
        pod_update(
            changed(
                LABELLED,
                "metadata.labels",
                {"app": "web", "security/ok": "yes", "security/suspect": "true"},
            )
        ),
    )
    yield (
        "pod label set to another value",
        pod_update(
            changed(
                LABELLED,
                "metadata.labels",
                {"app": "web", "security/ok": "yes", "security/suspect": "false"},
            )
        ),
    )
    yield (
        "pod label the policy removes",
        pod_update(changed(LABELLED, "metadata.labels", {"app": "web"})),
    )
    yield (
        "pod relabelled into another selector",
        pod_update(changed(LABELLED, "metadata.labels", {"app": "payments", "security/ok": "yes"})),
    )
    yield (
        "pod isolated",
        pod_update(changed(LABELLED, "metadata.labels.falco-responder/isolated", "true")),
    )
    yield (
        "pod quarantined",
        pod_update(changed(LABELLED, f"metadata.labels.{QUARANTINE_LABEL}", "circuit-breaker")),
    )
    yield (
        "pod annotated",
        pod_update(changed(LABELLED, "metadata.annotations", {"security/why": "falco"})),
    )
    yield (
        "pod annotated otherwise",
        pod_update(changed(LABELLED, "metadata.annotations", {"other": "x"})),
    )
    yield "pod unchanged", pod_update(copy.deepcopy(LABELLED))
    yield (
        "pod image",
        pod_update(changed(LABELLED, "spec.containers", [{"name": "app", "image": "miner"}])),
    )
    yield "pod owner added", pod_update(changed(LABELLED, "metadata.ownerReferences", OWNED))
    yield "pod finalizer", pod_update(changed(LABELLED, "metadata.finalizers", ["x/keep"]))
    yield "pod without labels labelled", pod_update(pod(labels={"security/suspect": "true"}), pod())
    yield (
        "pod status",
        {
            "request": request(
                "UPDATE", "pods", name="web", namespace="shop", subresource="status"
            ),
            "object": changed(LABELLED, "status.phase", "Failed"),
            "oldObject": LABELLED,
        },
    )
    yield (
        "pod deleted",
        {
            "request": request("DELETE", "pods", name="web", namespace="shop"),
            "object": None,
            "oldObject": pod(ownerReferences=OWNED),
        },
    )
    yield (
        "DaemonSet pod deleted",
        {
            "request": request("DELETE", "pods", name="web", namespace="shop"),
            "object": None,
            "oldObject": pod(ownerReferences=DAEMON),
        },
    )
    for namespace in (
        "kube-system",
        "gke-managed-foo",
        "gmp-system",
        "pay-eu",
        "team-a",
        "falco-responder",
    ):
        yield (
            f"pod deleted in {namespace}",
            {
                "request": request("DELETE", "pods", name="web", namespace=namespace),
                "object": None,
                "oldObject": pod(namespace),
            },
        )
    yield (
        "pod evicted",
        {
            "request": request(
                "CREATE",
                "pods",
                name="web",
                namespace="shop",
                subresource="eviction",
                kind="Eviction",
                group="",
            ),
            "object": {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": "web", "namespace": "shop"},
            },
            "oldObject": None,
        },
    )
    yield (
        "pod created",
        {
            "request": request("CREATE", "pods", name="miner", namespace="shop"),
            "object": pod(),
            "oldObject": None,
        },
    )
    yield (
        "pod deleted by someone else",
        {
            "request": request(
                "DELETE", "pods", name="web", namespace="kube-system", user="system:admin"
            ),
            "object": None,
            "oldObject": pod("kube-system"),
        },
    )
    yield (
        "pod label, dry run",
        {
            "request": request("UPDATE", "pods", name="web", namespace="shop", dry_run=True),
            "object": changed(LABELLED, "metadata.labels.security/suspect", "true"),
            "oldObject": LABELLED,
        },
    )
    yield (
        "node cordoned",
        {
            "request": request("UPDATE", "nodes", name="node-1"),
            "object": node(unschedulable=True),
            "oldObject": node(),
        },
    )
    yield (
        "node cordoned and tainted",
        {
            "request": request("UPDATE", "nodes", name="node-1"),
            "object": node(unschedulable=True, taints=TAINT),
            "oldObject": node(),
        },
    )
    yield (
        "node cordoned and owned",
        {
            "request": request("UPDATE", "nodes", name="node-1"),
            "object": changed(node(unschedulable=True), "metadata.ownerReferences", OWNED),
            "oldObject": node(),
        },
    )
    yield (
        "node uncordoned",
        {
            "request": request("UPDATE", "nodes", name="node-1"),
            "object": node(),
            "oldObject": node(unschedulable=True),
        },
    )
    yield (
        "node status",
        {
            "request": request("UPDATE", "nodes", name="node-1", subresource="status"),
            "object": node(),
            "oldObject": node(),
        },
    )
    yield (
        "namespace deleted",
        {
            "request": request("DELETE", "namespaces", name="shop", namespace="shop"),
            "object": None,
            "oldObject": {"metadata": {"name": "shop"}, "spec": {}},
        },
    )
    apps = {"group": "apps", "name": "db", "namespace": "shop", "kind": "StatefulSet"}
    yield (
        "statefulset to zero",
        {
            "request": request("UPDATE", "statefulsets", **apps),
            "object": statefulset(replicas=0),
            "oldObject": statefulset(),
        },
    )
    yield (
        "statefulset to zero deleting its volumes",
        {
            "request": request("UPDATE", "statefulsets", **apps),
            "object": statefulset(
                replicas=0,
                persistentVolumeClaimRetentionPolicy={
                    "whenDeleted": "Retain",
                    "whenScaled": "Delete",
                },
            ),
            "oldObject": statefulset(),
        },
    )
    yield (
        "statefulset to five",
        {
            "request": request("UPDATE", "statefulsets", **apps),
            "object": statefulset(replicas=5),
            "oldObject": statefulset(),
        },
    )
    yield (
        "statefulset relabelled",
        {
            "request": request("UPDATE", "statefulsets", **apps),
            "object": changed(statefulset(replicas=0), "metadata.labels", {"x": "y"}),
            "oldObject": statefulset(),
        },
    )
    yield (
        "deployment scale subresource",
        {
            "request": request(
                "UPDATE",
                "deployments",
                group="apps",
                name="api",
                namespace="shop",
                subresource="scale",
                kind="Scale",
            ),
            "object": {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 0}},
            "oldObject": {"apiVersion": "autoscaling/v1", "kind": "Scale", "spec": {"replicas": 2}},
        },
    )
    netpol = {"group": "networking.k8s.io", "namespace": "shop", "kind": "NetworkPolicy"}
    yield (
        "isolation policy",
        {
            "request": request(
                "CREATE", "networkpolicies", name="falco-responder-isolate", **netpol
            ),
            "object": network_policy(),
            "oldObject": None,
        },
    )
    yield (
        "isolation policy with a rule",
        {
            "request": request(
                "CREATE", "networkpolicies", name="falco-responder-isolate", **netpol
            ),
            "object": network_policy(ingress=IP_RULE),
            "oldObject": None,
        },
    )
    yield (
        "isolation policy, other name",
        {
            "request": request("CREATE", "networkpolicies", name="allow-all", **netpol),
            "object": network_policy("allow-all"),
            "oldObject": None,
        },
    )
    yield (
        "isolation policy, other selector",
        {
            "request": request(
                "CREATE", "networkpolicies", name="falco-responder-isolate", **netpol
            ),
            "object": network_policy(podSelector={}),
            "oldObject": None,
        },
    )
    yield (
        "isolation policy, ingress only",
        {
            "request": request(
                "CREATE", "networkpolicies", name="falco-responder-isolate", **netpol
            ),
            "object": network_policy(policyTypes=["Ingress"]),
            "oldObject": None,
        },
    )
    variant = admission._isolations(POLICIES["every action, every rail"])[-1]
    yield (
        "isolation policy with allowances",
        {
            "request": request("CREATE", "networkpolicies", name=variant["name"], **netpol),
            "object": network_policy(variant["name"], **variant["spec"]),
            "oldObject": None,
        },
    )
    cm = {"name": CONFIGMAP, "namespace": "falco-responder", "kind": "ConfigMap"}
    yield (
        "breaker count created",
        {
            "request": request("CREATE", "configmaps", **cm),
            "object": configmap({DATA_KEY: "{}"}),
            "oldObject": None,
        },
    )
    yield (
        "breaker count updated",
        {
            "request": request("UPDATE", "configmaps", **cm),
            "object": configmap({DATA_KEY: '{"a": "b"}'}),
            "oldObject": configmap({DATA_KEY: "{}"}),
        },
    )
    yield (
        "breaker count with an odd key",
        {
            "request": request("CREATE", "configmaps", **cm),
            "object": configmap({DATA_KEY: "{}", "script": "x"}),
            "oldObject": None,
        },
    )
    yield (
        "breaker count gaining a finalizer",
        {
            "request": request("UPDATE", "configmaps", **cm),
            "object": configmap({DATA_KEY: "{}"}, finalizers=["x/keep"]),
            "oldObject": configmap({DATA_KEY: "{}"}),
        },
    )
    yield (
        "another configmap",
        {
            "request": request(
                "CREATE", "configmaps", name="other", namespace="falco-responder", kind="ConfigMap"
            ),
            "object": changed(configmap({}), "metadata.name", "other"),
            "oldObject": None,
        },
    )
    recorded = {
        "metadata": {"name": "web.falco-responder.0123456789abcdef", "namespace": "shop"},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "web"},
        "source": {"component": "falco-responder"},
        "reportingComponent": "falco-responder",
        "reason": "FalcoAlert",
    }
    forged = {
        "event as record_event writes it": recorded,
        "event not shaped as record_event's": {"metadata": {"name": "web.1"}, "reason": "Falco"},
        "event about a node": {
            **recorded,
            "involvedObject": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
        },
        "event about a pod of another namespace": {
            **recorded,
            "involvedObject": {**recorded["involvedObject"], "namespace": "kube-system"},
        },
        "event from another component": {**recorded, "source": {"component": "kubelet"}},
        "event with a reason no action gives": {**recorded, "reason": "Killing"},
        "event named otherwise": {**recorded, "metadata": {"name": "web.1", "namespace": "shop"}},
        "event with a finalizer": {
            **recorded,
            "metadata": {**recorded["metadata"], "finalizers": ["x"]},
        },
    }
    for description, event in forged.items():
        name = event["metadata"]["name"]
        yield (
            description,
            {
                "request": request("CREATE", "events", name=name, namespace="shop", kind="Event"),
                "object": event,
                "oldObject": None,
            },
        )
    yield (
        "self subject access review",
        {
            "request": request(
                "CREATE",
                "selfsubjectaccessreviews",
                group="authorization.k8s.io",
                kind="SelfSubjectAccessReview",
            ),
            "object": {"spec": {"resourceAttributes": {"verb": "delete"}}},
            "oldObject": None,
        },
    )


CORPUS = list(corpus())


# --- the two engines ------------------------------------------------------------------------


def _google(source: str, result: str, variables: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", admission_cel.evaluate(
            admission_cel.compile_checked(source, result), variables
        )
    except admission_cel.CelCheckError:
        return "error", None


def _emulator(source: str, result: str, variables: dict[str, Any]) -> tuple[str, Any]:
    activation = emulator_cel.activation({**variables, "params": None, "variables": {}})
    try:
        return "value", emulator_cel.evaluate(
            emulator_cel.compile_expression(source, result), activation
        )
    except emulator_cel.CelError:
        return "error", None


def _expressions(spec: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(field, expression, its messageExpression) of each expression of the spec."""
    found = [
        (f"matchConditions[{i}]", c["expression"], None)
        for i, c in enumerate(spec["matchConditions"])
    ]
    found += [
        (f"validations[{i}]", v["expression"], v.get("messageExpression"))
        for i, v in enumerate(spec["validations"])
    ]
    return found


@pytest.mark.parametrize("name", POLICIES)
def test_both_engines_answer_alike_for_every_generated_expression(name):
    [vap, _] = admission.manifests(POLICIES[name], [RESPONDER])
    verdicts = []
    for description, variables in CORPUS:
        variables = {**variables, "namespaceObject": None}
        allowed = True
        for field, source, message in _expressions(vap["spec"]):
            google = _google(source, "bool", variables)
            emulator = _emulator(source, "bool", variables)
            assert google == emulator, f"{name}: {description}: {field}\n{source}"
            if field.startswith("validations") and google != ("value", True):
                allowed = False
                # The API server evaluates a messageExpression only for a failed validation.
                if message is not None:
                    assert _google(message, "string", variables) == _emulator(
                        message, "string", variables
                    ), f"{name}: {description}: {field}.messageExpression"
        verdicts.append(allowed)
    # The corpus holds requests this policy allows and requests it refuses.
    assert True in verdicts
    assert False in verdicts


def test_the_rails_of_every_action_say_what_the_responder_may_do():
    """The verdicts of the full rails on the corpus (both engines agree, above)."""
    [vap, _] = admission.manifests(POLICIES["every action, every rail"], [RESPONDER])
    allowed = set()
    for description, variables in CORPUS:
        variables = {**variables, "namespaceObject": None}
        results = [
            _emulator(source, "bool", variables)
            for field, source, _ in _expressions(vap["spec"])
            if field.startswith("validations")
        ]
        if all(r == ("value", True) for r in results):
            allowed.add(description)
    assert allowed == {
        "pod label the policy sets",
        "pod label the policy removes",
        "pod isolated",
        "pod quarantined",
        "pod annotated",
        "pod unchanged",
        "pod without labels labelled",
        "pod deleted",
        "pod deleted in falco-responder",
        "pod evicted",
        "pod label, dry run",
        "node cordoned",
        "statefulset to zero",
        "isolation policy",
        "isolation policy with allowances",
        "breaker count created",
        "breaker count updated",
        "event as record_event writes it",
        "self subject access review",
    }
