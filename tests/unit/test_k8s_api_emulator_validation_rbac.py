"""The emulator holds RBAC files (--token NAME=RBAC_FILE, add_token_from_rbac) to the API
server's validation of Roles, ClusterRoles and their bindings (validate_rbac.py). The
tables are upstream's cases from kubernetes/kubernetes
pkg/apis/rbac/validation/validation_test.go (the test function named above each): the
input, and the type and field every error must have (upstream's own check). The RBAC the
project ships and prints is accepted."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from falco_responder_cli.main import cli
from localdev.k8s_api_emulator.rbacfile import grant
from localdev.k8s_api_emulator.status import ApiError
from localdev.k8s_api_emulator.validate_rbac import API_VERSION, KINDS, check_document
from tests.json_strategies import json_values

ROOT = Path(__file__).resolve().parents[2]
GROUP = "rbac.authorization.k8s.io"
REF = {"apiGroup": GROUP, "kind": "ClusterRole", "name": "valid"}
ROLE_REF = {**REF, "kind": "Role"}


def rbac(kind: str, name: str | None = "default", namespace: str = "", **fields: Any) -> dict:
    metadata = {k: v for k, v in (("name", name), ("namespace", namespace)) if v}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, **fields}


def causes(document: dict) -> list[tuple[str, str]]:
    """(reason, field) of each error the API server gives for a create of ``document``."""
    try:
        check_document(document)
    except ApiError as error:
        assert (error.code, error.reason) == (422, "Invalid")
        return [(cause["reason"], cause["field"]) for cause in error.details["causes"]]
    return []


VALID = [
    # TestValidateClusterRoleBinding
    rbac(
        "ClusterRoleBinding",
        "master",
        roleRef=REF,
        subjects=[
            {"name": "validsaname", "namespace": "foo", "kind": "ServiceAccount"},
            {"name": "valid@username", "kind": "User"},
            {"name": "valid@groupname", "kind": "Group"},
        ],
    ),
    # TestValidateRoleBinding
    rbac(
        "RoleBinding",
        "master",
        "default",
        roleRef=ROLE_REF,
        subjects=[
            {"name": "validsaname", "kind": "ServiceAccount"},
            {"name": "valid@username", "kind": "User"},
            {"name": "valid@groupname", "kind": "Group"},
        ],
    ),
    # TestValidateRoleValidRole, TestValidateRoleValidRoleNoNamespace
    rbac("Role", "default", "default"),
    rbac("ClusterRole"),
    # TestValidateRoleNonResourceURL
    rbac("ClusterRole", rules=[{"verbs": ["get"], "nonResourceURLs": ["/*"]}]),
    # TestValidateRoleValidResource
    rbac(
        "Role",
        namespace="default",
        rules=[{"verbs": ["get"], "apiGroups": ["v1"], "resources": ["pods"]}],
    ),
]

INVALID = [
    # TestValidateClusterRoleBinding
    (
        "bad group",
        rbac("ClusterRoleBinding", roleRef={**REF, "apiGroup": "rbac.GroupName"}),
        ("FieldValueNotSupported", "roleRef.apiGroup"),
    ),
    (
        "bad kind",
        rbac("ClusterRoleBinding", roleRef={**REF, "kind": "Type"}),
        ("FieldValueNotSupported", "roleRef.kind"),
    ),
    (
        "reference role",
        rbac("ClusterRoleBinding", roleRef=ROLE_REF),
        ("FieldValueNotSupported", "roleRef.kind"),
    ),
    (
        "zero-length name",
        rbac("ClusterRoleBinding", None, roleRef=REF),
        ("FieldValueRequired", "metadata.name"),
    ),
    (
        "bad role",
        rbac("ClusterRoleBinding", roleRef={"apiGroup": GROUP, "kind": "ClusterRole"}),
        ("FieldValueRequired", "roleRef.name"),
    ),
    (
        "bad subject kind",
        rbac("ClusterRoleBinding", "master", roleRef=REF, subjects=[{"name": "subject"}]),
        ("FieldValueNotSupported", "subjects[0].kind"),
    ),
    (
        "bad subject name",
        rbac(
            "ClusterRoleBinding",
            "master",
            roleRef=REF,
            subjects=[{"namespace": "foo", "name": "subject:bad", "kind": "ServiceAccount"}],
        ),
        ("FieldValueInvalid", "subjects[0].name"),
    ),
    (
        "missing SA namespace",
        rbac(
            "ClusterRoleBinding",
            "master",
            roleRef=REF,
            subjects=[{"name": "good", "kind": "ServiceAccount"}],
        ),
        ("FieldValueRequired", "subjects[0].namespace"),
    ),
    (
        "missing subject name",
        rbac(
            "ClusterRoleBinding",
            "master",
            roleRef=REF,
            subjects=[{"namespace": "foo", "kind": "ServiceAccount"}],
        ),
        ("FieldValueRequired", "subjects[0].name"),
    ),
    # TestValidateRoleBinding
    (
        "role binding: bad group",
        rbac("RoleBinding", namespace="default", roleRef={**REF, "apiGroup": "rbac.GroupName"}),
        ("FieldValueNotSupported", "roleRef.apiGroup"),
    ),
    (
        "role binding: bad kind",
        rbac("RoleBinding", namespace="default", roleRef={**REF, "kind": "Type"}),
        ("FieldValueNotSupported", "roleRef.kind"),
    ),
    (
        "role binding: zero-length name",
        rbac("RoleBinding", None, "default", roleRef=ROLE_REF),
        ("FieldValueRequired", "metadata.name"),
    ),
    (
        "role binding: bad role",
        rbac("RoleBinding", namespace="default", roleRef={"apiGroup": GROUP, "kind": "Role"}),
        ("FieldValueRequired", "roleRef.name"),
    ),
    (
        "role binding: bad subject kind",
        rbac("RoleBinding", "master", "default", roleRef=ROLE_REF, subjects=[{"name": "s"}]),
        ("FieldValueNotSupported", "subjects[0].kind"),
    ),
    (
        "role binding: bad subject name",
        rbac(
            "RoleBinding",
            "master",
            "default",
            roleRef=ROLE_REF,
            subjects=[{"name": "subject:bad", "kind": "ServiceAccount"}],
        ),
        ("FieldValueInvalid", "subjects[0].name"),
    ),
    (
        "role binding: missing subject name",
        rbac(
            "RoleBinding",
            "master",
            "default",
            roleRef=ROLE_REF,
            subjects=[{"kind": "ServiceAccount"}],
        ),
        ("FieldValueRequired", "subjects[0].name"),
    ),
    # TestValidateRoleZeroLengthName
    (
        "role: zero-length name",
        rbac("Role", None, "default"),
        ("FieldValueRequired", "metadata.name"),
    ),
    # TestValidateRoleNamespacedNonResourceURL
    (
        "namespaced non-resource URL",
        rbac("Role", namespace="default", rules=[{"verbs": ["get"], "nonResourceURLs": ["/*"]}]),
        ("FieldValueInvalid", "rules[0].nonResourceURLs"),
    ),
    # TestValidateRoleNonResourceURLNoVerbs
    (
        "non-resource URL without verbs",
        rbac("ClusterRole", rules=[{"verbs": [], "nonResourceURLs": ["/*"]}]),
        ("FieldValueRequired", "rules[0].verbs"),
    ),
    # TestValidateRoleMixedNonResourceAndResource
    (
        "mixed non-resource and resource",
        rbac(
            "Role",
            namespace="default",
            rules=[
                {
                    "verbs": ["get"],
                    "nonResourceURLs": ["/*"],
                    "apiGroups": ["v1"],
                    "resources": ["pods"],
                }
            ],
        ),
        ("FieldValueInvalid", "rules[0].nonResourceURLs"),
    ),
    # TestValidateRoleNoAPIGroup
    (
        "no API group",
        rbac("Role", namespace="default", rules=[{"verbs": ["get"], "resources": ["pods"]}]),
        ("FieldValueRequired", "rules[0].apiGroups"),
    ),
    # TestValidateRoleNoResources
    (
        "no resources",
        rbac("Role", namespace="default", rules=[{"verbs": ["get"], "apiGroups": ["v1"]}]),
        ("FieldValueRequired", "rules[0].resources"),
    ),
    # ValidateClusterRole's aggregationRule (no upstream case in that file)
    (
        "aggregation without selectors",
        rbac("ClusterRole", aggregationRule={"clusterRoleSelectors": []}),
        ("FieldValueRequired", "aggregationRule.clusterRoleSelectors"),
    ),
    (
        "aggregation with a bad operator",
        rbac(
            "ClusterRole",
            aggregationRule={
                "clusterRoleSelectors": [
                    {"matchExpressions": [{"key": "a", "operator": "Near", "values": ["b"]}]}
                ]
            },
        ),
        (
            "FieldValueInvalid",
            "aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator",
        ),
    ),
    # ValidateRBACName: a path segment
    ("a name with a slash", rbac("ClusterRole", "a/b"), ("FieldValueInvalid", "metadata.name")),
]


@pytest.mark.parametrize("document", VALID, ids=[d["kind"] for d in VALID])
def test_upstream_valid_objects_are_accepted(document):
    assert causes(document) == []


@pytest.mark.parametrize(
    ("document", "expected"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_upstream_invalid_objects_are_refused_with_each_error_at_its_field(document, expected):
    found = causes(document)
    assert found, "accepted"
    assert set(found) == {expected}


def test_a_binding_may_not_change_its_role():
    """TestValidateRoleBindingUpdate."""
    old = rbac("RoleBinding", "master", "default", roleRef=ROLE_REF)
    strategy = KINDS["RoleBinding"].strategy
    assert strategy.validate_update(old, old) == []
    changed = rbac("RoleBinding", "master", "default", roleRef={**ROLE_REF, "name": "changed"})
    [error] = strategy.validate_update(changed, old)
    assert (error.type, error.field) == ("FieldValueInvalid", "roleRef")
    assert error.body == (
        'Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"Role", '
        'Name:"changed"}: cannot change roleRef'
    )


def test_the_message_is_the_api_servers():
    role = rbac("Role", "r", "default", rules=[{"verbs": ["get"], "resources": ["pods"]}])
    with pytest.raises(ValueError) as caught:
        grant([role], "someone")
    assert str(caught.value) == (
        f'Role.{GROUP} "r" is invalid: rules[0].apiGroups: Required value: resource rules '
        "must supply at least one api group"
    )


@pytest.mark.parametrize(
    "document",
    [
        rbac("ClusterRole", rules="get pods"),
        rbac("ClusterRole", rules=[{"verbs": "get"}]),
        rbac("ClusterRoleBinding", roleRef=REF, subjects=[{"name": 7, "kind": "User"}]),
        rbac("ClusterRole", aggregationRule={"clusterRoleSelectors": [{"matchLabels": []}]}),
    ],
)
def test_what_go_cannot_decode_is_a_400(document):
    with pytest.raises(ApiError) as caught:
        check_document(document)
    assert (caught.value.code, caught.value.reason) == (400, "BadRequest")
    assert "cannot be handled as a" in caught.value.message


JSON = json_values(
    [
        "verbs",
        "apiGroups",
        "resources",
        "nonResourceURLs",
        "clusterRoleSelectors",
        "matchLabels",
        "matchExpressions",
        "kind",
        "apiGroup",
        "name",
        "namespace",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(sorted(KINDS)),
    fields=st.dictionaries(
        st.sampled_from(["rules", "aggregationRule", "subjects", "roleRef"]), JSON, max_size=3
    ),
)
def test_any_document_is_accepted_or_refused_with_400_or_422(kind, fields):
    try:
        check_document(rbac(kind, **fields))
    except ApiError as error:
        assert error.code in (400, 422), error.message


def test_nulls_decode_to_zero_values_and_are_then_validated():
    role = rbac("ClusterRole", rules=[None, {"verbs": [None], "nonResourceURLs": ["/x"]}])
    assert causes(role) == [
        ("FieldValueRequired", "rules[0].verbs"),
        ("FieldValueRequired", "rules[0].apiGroups"),
        ("FieldValueRequired", "rules[0].resources"),
    ]


def test_defaults_come_before_validation():
    """SetDefaults_ClusterRoleBinding and SetDefaults_Subject: no apiGroup for the role or a
    User is the RBAC group; a null roleRef is an empty one, defaulted likewise."""
    defaulted = rbac(
        "ClusterRoleBinding",
        roleRef={"kind": "ClusterRole", "name": "valid"},
        subjects=[{"name": "someone", "kind": "User"}],
    )
    assert causes(defaulted) == []
    assert causes(rbac("ClusterRoleBinding", roleRef=None)) == [
        ("FieldValueNotSupported", "roleRef.kind"),
        ("FieldValueRequired", "roleRef.name"),
    ]


def documents(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d and d["kind"] in KINDS]


def printed_rbac(policy: Path) -> str:
    result = CliRunner().invoke(cli, ["policy", "rbac", str(policy)])
    assert result.exit_code == 0, result.output
    return result.stdout


SHIPPED = {
    **{f"deploy/rbac/{p.name}": p.read_text() for p in sorted((ROOT / "deploy/rbac").glob("*"))},
    "terraform/examples/basic/rbac.yaml": (ROOT / "terraform/examples/basic/rbac.yaml").read_text(),
    "policy rbac (default policy)": printed_rbac(ROOT / "responder/policy.yaml"),
    "policy rbac (example policy)": printed_rbac(ROOT / "terraform/examples/basic/policy.yaml"),
}


@pytest.mark.parametrize("text", SHIPPED.values(), ids=SHIPPED.keys())
def test_the_rbac_the_project_ships_and_prints_is_accepted(text):
    found = documents(text)
    assert found
    for document in found:
        assert causes(document) == [], document["metadata"]
