"""responder.admission: the admission policy a response policy implies. Its expressions are
evaluated here with the emulator's CEL library, and its globs with RE2 (Kubernetes' regex
engine) too, against the responder's own reading of the policy."""

import fnmatch
import re
from typing import Any

import cel
import pytest
import re2
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from falco_responder_cli.main import cli
from responder import admission, admission_cel, admission_rails
from responder.actions import QUARANTINE_LABEL
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES, Policy, load_policy, parse_policy

USER = "system:serviceaccount:falco-responder:responder"
# Namespace names (DNS labels) over the characters the globs below use, and a few more.
NAMESPACE_NAMES = st.text(alphabet="abz019-", min_size=1, max_size=10).filter(
    lambda name: not name.startswith("-") and not name.endswith("-")
)
GLOBS = st.text(alphabet="ab1-*?[]!Z.", max_size=8)


def policy_of(*rules: dict[str, Any], **document: Any) -> Policy:
    return parse_policy({**document, "rules": list(rules)}, "test")


def rule(name: str, *actions: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "match": {"rule": name},
        "actions": [
            {"action": a, **({"add": {"k": "v"}} if a in ("label_pod", "annotate_pod") else {})}
            for a in actions
        ],
        **extra,
    }


def evaluate(expression: str, **request: Any) -> Any:
    variables = {"request": request, "object": None, "oldObject": None}
    return cel.compile(expression).execute(cel.Context(variables=variables))


def validation(policy: Policy, message: str) -> str:
    [found] = [
        v["expression"]
        for v in admission.validations(policy)
        if message in (v.get("message") or v.get("messageExpression"))
    ]
    return found


def change(group: str, resource: str, operation: str, **more: str) -> dict[str, Any]:
    return {"resource": {"group": group, "resource": resource}, "operation": operation, **more}


# --- globs --------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(GLOBS, NAMESPACE_NAMES)
def test_a_glob_matches_in_cel_and_re2_as_fnmatch_does(glob, namespace):
    regex = admission.glob_regex(glob)
    expected = fnmatch.fnmatchcase(namespace, glob)
    if regex is None:
        assert not expected
        return
    assert (re2.search(regex, namespace) is not None) == expected
    term = f"request.namespace.matches({admission.cel_string(regex)})"
    assert evaluate(term, namespace=namespace) is expected


@pytest.mark.parametrize(
    ("glob", "regex"),
    [
        ("payments-*", "^payments-.*$"),
        ("team-?", "^team-.$"),
        ("team-[!a-y]", "^team-[-z0123456789]$"),
        ("a**b", "^a.*b$"),
        ("Payments-*", None),  # namespace names are lowercase: it matches none
        ("team-[A-Z]", None),
        ("a.b", None),
    ],
)
def test_glob_translations(glob, regex):
    assert admission.glob_regex(glob) == regex


# --- protected namespaces -------------------------------------------------------------


PROTECTED = st.lists(st.sampled_from(["shop", "pay-*", "pay-eu", "p?y-*", "x[ab]"]), max_size=3)
RULE_SAFETY = st.fixed_dictionaries(
    {},
    optional={
        "protected_namespaces": PROTECTED,
        "unprotect": st.lists(st.sampled_from(BUILT_IN_PROTECTED_NAMESPACES), max_size=2),
    },
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(RULE_SAFETY, min_size=1, max_size=3),
    RULE_SAFETY,
    st.lists(
        st.sampled_from([*BUILT_IN_PROTECTED_NAMESPACES, "shop", "pay-eu", "pay-us", "xa", "xc"])
        | NAMESPACE_NAMES,
        min_size=1,
        max_size=8,
    ),
)
def test_the_cluster_refuses_exactly_the_namespaces_protected_for_every_rule(
    rule_safeties, safety, namespaces
):
    policy = policy_of(
        *(rule(f"r{i}", "delete_pod", safety=s) for i, s in enumerate(rule_safeties)),
        safety=safety,
    )
    each = [policy.safety.overridden_by(r.safety) for r in policy.rules]
    found = [v for v in admission.validations(policy) if "protected namespace" in str(v)]
    for namespace in namespaces:
        refused = all(s.is_protected(namespace) for s in each)
        if not found:
            assert not refused, namespace
            continue
        request = change("", "pods", "DELETE", namespace=namespace, name="p")
        assert evaluate(found[0]["expression"], **request) is not refused, namespace


def test_a_namespace_one_rule_unprotects_is_not_refused():
    policy = policy_of(
        rule("anywhere", "delete_pod"),
        rule("in-falco", "delete_pod", safety={"unprotect": ["falco"]}),
        safety={"protected_namespaces": ["payments-*"]},
    )
    expression = validation(policy, "protected namespace")
    for namespace, allowed in [
        ("falco", True),
        ("shop", True),
        ("kube-system", False),
        ("payments-eu", False),
    ]:
        assert evaluate(expression, namespace=namespace) is allowed, namespace
    assert evaluate(expression, **change("", "nodes", "UPDATE")) is True  # cluster-scoped


def test_the_breaker_configmap_is_allowed_in_a_protected_namespace():
    policy = policy_of(
        rule("delete", "delete_pod"), safety={"protected_namespaces": ["falco-responder"]}
    )
    expression = validation(policy, "protected namespace")
    breaker = change("", "configmaps", "UPDATE", namespace="falco-responder")
    assert evaluate(expression, **breaker, name="falco-responder-circuit-breaker") is True
    assert evaluate(expression, **breaker, name="another") is False


# --- kinds of change ------------------------------------------------------------------


ALLOWED = "'falco-responder may not '"


@pytest.mark.parametrize(
    ("request_", "actions", "allowed"),
    [
        (change("apps", "deployments", "UPDATE"), ["delete_pod"], False),
        (change("apps", "deployments", "UPDATE"), ["scale_to_zero"], True),
        (change("apps", "statefulsets", "UPDATE", subResource="scale"), ["scale_to_zero"], False),
        (change("", "nodes", "UPDATE"), ["delete_pod"], False),
        (change("", "nodes", "UPDATE"), ["cordon_node"], True),
        (change("", "pods", "DELETE"), ["evict_pod"], False),
        (change("", "pods", "CREATE", subResource="eviction"), ["evict_pod"], True),
        (change("networking.k8s.io", "networkpolicies", "CREATE"), ["isolate_pod"], True),
        (change("networking.k8s.io", "networkpolicies", "CREATE"), ["delete_pod"], False),
        (change("", "events", "CREATE"), ["record_event"], True),
        (change("", "pods", "CREATE"), ["label_pod"], False),
        (change("authorization.k8s.io", "selfsubjectaccessreviews", "CREATE"), [], True),
    ],
)
def test_only_the_changes_the_actions_need_are_allowed(request_, actions, allowed):
    policy = policy_of(rule("r", *(actions or ["label_pod"])))
    assert evaluate(validation(policy, ALLOWED), **request_) is allowed


def test_the_breaker_adds_its_configmap_and_its_fallback_only_when_on():
    on = policy_of(rule("delete", "delete_pod"))
    off = policy_of(rule("delete", "delete_pod"), safety={"circuit_breaker": None})
    configmap = change("", "configmaps", "CREATE", namespace="falco-responder")
    configmap["name"] = "falco-responder-circuit-breaker"
    fallback = [change("", "pods", "UPDATE"), change("", "events", "CREATE")]
    for request in [configmap, *fallback]:
        assert evaluate(validation(on, ALLOWED), **request) is True
        assert evaluate(validation(off, ALLOWED), **request) is False
    assert evaluate(validation(on, ALLOWED), **{**configmap, "namespace": "shop"}) is False
    # each kind of change is held to what the responder does with it, when it is allowed
    messages = [v.get("message") for v in admission.validations(off)]
    # namespaces and kinds; no pod, workload, node or ConfigMap update
    assert messages == [None, None]
    spared = policy_of(
        rule("delete", "delete_pod"),
        safety={"circuit_breaker": None, "ignore_daemonset_pods": True},
    )
    assert [v.get("message") for v in admission.validations(spared)] == [
        None,
        None,
        admission.DAEMONSET_POD_MESSAGE,
    ]
    on_messages = [v.get("message") for v in admission.validations(on)]
    assert admission.POD_UPDATE_MESSAGE in on_messages
    assert admission.BREAKER_MESSAGE in on_messages


# --- the command ------------------------------------------------------------------------


def test_the_command_names_both_identities(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("rules: []\n")
    printed = CliRunner().invoke(
        cli,
        [
            "policy",
            "admission",
            "--service-account",
            "sec:resp",
            "--google-identity",
            "r@p.iam.gserviceaccount.com",
            str(path),
        ],
    )
    assert printed.exit_code == 0, printed.output
    assert (
        "request.userInfo.username in ['system:serviceaccount:sec:resp', "
        "'r@p.iam.gserviceaccount.com']" in printed.stdout
    )
    wrong = CliRunner().invoke(cli, ["policy", "admission", "--service-account", "x", str(path)])
    assert wrong.exit_code == 2
    assert "--service-account: 'x' is not NAMESPACE:NAME" in wrong.output


@pytest.mark.parametrize(
    ("validation", "field", "error"),
    [
        ({"expression": "request.subresource == ''"}, "expression", "undefined field"),
        ({"expression": "objekt == null"}, "expression", "undeclared reference to 'objekt'"),
        ({"expression": "object.spec"}, "expression", "must evaluate to bool"),
        ({"expression": "[1, 'a'].size() == 2"}, "expression", "expected type 'int'"),
        ({"expression": "{'a': [1], 'b': ['x']}.size() == 2"}, "expression", "list(int)"),
        ({"expression": "true", "messageExpression": "1"}, "messageExpression", "to string"),
    ],
)
def test_an_expression_the_api_server_would_refuse_fails_the_command(
    tmp_path, monkeypatch, validation, field, error
):
    monkeypatch.setattr(admission, "validations", lambda policy: [validation])
    path = tmp_path / "policy.yaml"
    path.write_text("rules: []\n")
    printed = CliRunner().invoke(cli, ["policy", "admission", str(path)])
    assert printed.exit_code == 1
    assert f"policy {path}: cannot write its admission rails: " in printed.output
    assert f"spec.validations[0].{field}: the API server would refuse this expression" in (
        printed.output
    )
    assert error in printed.output


ACTIONS = [
    "delete_pod",
    "evict_pod",
    "label_pod",
    "annotate_pod",
    "isolate_pod",
    "cordon_node",
    "scale_to_zero",
    "record_event",
    "capture_evidence",
]


@pytest.mark.parametrize(
    "policy",
    [
        policy_of(rule("all", *ACTIONS)),
        policy_of(rule("all", *ACTIONS), safety={"protected_namespaces": ["pay-*", "x[!a]"]}),
        policy_of(
            rule("a", "delete_pod"), rule("b", "isolate_pod", safety={"circuit_breaker": None})
        ),
    ],
)
def test_every_generated_expression_type_checks(policy):
    admission.manifests(policy, [USER])  # raises RailsError otherwise


# A macro over a map of the pod's metadata: the map's path.
LOOK = re.compile(r"((?:object|oldObject)\.metadata\.(?:labels|annotations))\.(?:all|exists)\(")


def test_every_look_into_a_map_of_the_pod_is_bounded_by_its_size():
    # The API server stops one CEL expression past a cost of 1,000,000; a tenant decides
    # how many labels and annotations its pod has. A look key by key (a macro over the
    # map) is made only once its size is known to be within the bound measured for it.
    labelled = policy_of(
        rule("shell", "label_pod", "annotate_pod", "isolate_pod", "delete_pod"),
        safety={"circuit_breaker": {"max_actions": 5}},
    )
    bound = admission_rails.MAX_LOOKED_INTO_KEYS
    looks = 0
    for policy in (load_policy(DEFAULT_POLICY_FILE), labelled):
        for validation in admission.validations(policy):
            expression = validation["expression"]
            for field in LOOK.findall(expression):
                looks += 1
                guard = f"{field}.size() <= {bound} &&\n{field}."
                assert guard in expression, expression
    assert looks == 3  # the labelled policy's labels and annotations, the default's labels


def _labelled_pod(count: int, **extra: str) -> dict[str, Any]:
    labels = {f"l{i:06d}": "v" * 63 for i in range(count)}
    return {"metadata": {"name": "web", "labels": {**labels, **extra}}, "spec": {}}


def test_a_label_update_of_a_pod_with_more_labels_than_the_bound_is_refused(monkeypatch):
    # Past the bound a real server's cost limit would cut the look short with a 422; the
    # rail refuses first, with its own message. Shown with a small bound: Google's CEL
    # stops a comprehension long before 30,000 keys (the real bound's cost is measured
    # with cel-go: docs/fidelity.md).
    monkeypatch.setattr(admission_rails, "MAX_LOOKED_INTO_KEYS", 50)
    [labels] = [
        v["expression"]
        for v in admission.validations(load_policy(DEFAULT_POLICY_FILE))
        if ".size() <= 50" in v["expression"]
    ]
    checked = admission_cel.compile_checked(labels)
    pods = {"group": "", "version": "v1", "resource": "pods"}
    for count, admitted in ((50, True), (51, False)):
        old = _labelled_pod(count)
        new = _labelled_pod(count, **{QUARANTINE_LABEL: "circuit-breaker"})
        changed = {"request": {"operation": "UPDATE", "resource": pods}}
        variables = {**changed, "object": new, "oldObject": old}
        assert admission_cel.evaluate(checked, variables) is admitted, count
        # Another label changed along with it: refused, under the bound or over it.
        tampered = _labelled_pod(count, **{QUARANTINE_LABEL: "circuit-breaker", "l000000": "x"})
        assert admission_cel.evaluate(checked, {**variables, "object": tampered}) is False
