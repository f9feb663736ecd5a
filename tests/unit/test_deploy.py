"""deploy/ (RBAC manifests, Helm values, Falco rules) agrees with the code, Terraform and
the local stack.

No cluster here: every file is parsed with PyYAML and checked for the names and
permissions the rest of the project relies on. The verbs the responder's code uses are
read from its source (the kubernetes client methods it calls), so a new API call fails
here until an action or a rail declares the permission it needs.
"""

import ast
import re
import typing
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from localdev.local_stack import stack
from responder import admission, bindings, rbac
from responder.actions import FALLBACK_RBAC, Action
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
TERRAFORM = ROOT / "terraform"
RESPONDER = ROOT / "responder"

CLUSTER_ROLE = DEPLOY / "rbac" / "clusterrole.yaml"
KUBECONFIG_MODE = DEPLOY / "rbac" / "kubeconfig-mode.yaml"
GKE_IDENTITY_MODE = DEPLOY / "rbac" / "gke-identity-mode.yaml"
WEBHOOK_VALUES = DEPLOY / "helm" / "falco-values-webhook.yaml"
GCPPUBSUB_VALUES = DEPLOY / "helm" / "falco-values-gcppubsub.yaml"
FALCO_RULES = DEPLOY / "falco" / "responder-exceptions.yaml"
ADMISSION_RAILS = DEPLOY / "admission" / "responder-rails.yaml"

MANIFESTS = (CLUSTER_ROLE, KUBECONFIG_MODE, GKE_IDENTITY_MODE, ADMISSION_RAILS)
HELM_VALUES = (WEBHOOK_VALUES, GCPPUBSUB_VALUES)
ALL_YAML = (*MANIFESTS, *HELM_VALUES, FALCO_RULES)

ROLE_NAME = "falco-responder"
RBAC_GROUP = "rbac.authorization.k8s.io"
INGEST_SECRET = "falco-responder-ingest-token"
HEADERS_KEY = "WEBHOOK_CUSTOMHEADERS"
NAMESPACED_KINDS = {"ServiceAccount", "Secret", "RoleBinding", "Role"}

# kubernetes client method name prefix -> RBAC verb (CoreV1Api naming).
METHOD_VERBS = {
    "read": "get",
    "list": "list",
    "watch": "watch",
    "create": "create",
    "replace": "update",
    "patch": "patch",
    "delete_collection": "deletecollection",
    "delete": "delete",
}
# kubernetes client method name suffix -> RBAC resource.
METHOD_RESOURCES = {
    "namespaced_pod": "pods",
    "pod_for_all_namespaces": "pods",
    "namespaced_pod_eviction": "pods/eviction",
    "namespaced_pod_status": "pods/status",
    "node": "nodes",
    "namespace": "namespaces",
    "namespaced_event": "events",
    "namespaced_config_map": "configmaps",
    "namespaced_network_policy": "networkpolicies",
    "namespaced_deployment": "deployments",
    "namespaced_stateful_set": "statefulsets",
    "namespaced_replica_set": "replicasets",
}
_METHOD = re.compile(
    r"^(?P<verb>" + "|".join(sorted(METHOD_VERBS, key=len, reverse=True)) + r")_(?P<res>\w+)$"
)


# --- helpers ------------------------------------------------------------------------


@cache
def documents(path: Path) -> tuple[Any, ...]:
    """Every non-empty YAML document of the file."""
    with path.open(encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.safe_load_all(handle) if doc is not None)


def only_document(path: Path) -> Any:
    docs = documents(path)
    assert len(docs) == 1, f"{path.name}: expected one YAML document, found {len(docs)}"
    return docs[0]


def objects(path: Path, kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents(path) if doc.get("kind") == kind]


def one_object(path: Path, kind: str) -> dict[str, Any]:
    found = objects(path, kind)
    assert len(found) == 1, f"{path.name}: expected one {kind}, found {len(found)}"
    return found[0]


def strings(node: Any) -> list[str]:
    """Every string (keys and values) anywhere in a parsed document."""
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (*strings(key), *strings(value))]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return [node] if isinstance(node, str) else []


def sidekick_config(path: Path) -> dict[str, Any]:
    values = only_document(path)
    sidekick = values["falcosidekick"]
    assert sidekick["enabled"] is True, f"{path.name}: falcosidekick.enabled must be true"
    return sidekick["config"]


def declared_rbac() -> set[tuple[str, str]]:
    """(resource, verb) pairs any action or rail declares it may need."""
    rules = [
        *rbac.READ_RBAC,
        *rbac.OWNER_RBAC,
        *rbac.MIN_HEALTHY_RBAC,
        *rbac.BREAKER_RBAC,
        *FALLBACK_RBAC,
    ]
    for action in typing.get_args(typing.get_args(Action)[0]):
        rules += action.rbac
    return {(resource, verb) for r in rules for resource in r.resources for verb in r.verbs}


def without_labels(document: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in document["metadata"].items() if k != "labels"}
    return {**document, "metadata": metadata}


@cache
def api_calls_in_code() -> frozenset[tuple[str, str]]:
    """(resource, verb) of every kubernetes client method the responder calls."""
    used = set()
    for source in RESPONDER.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            match = _METHOD.match(node.func.attr)
            if match is None or match["res"] not in METHOD_RESOURCES:
                continue
            used.add((METHOD_RESOURCES[match["res"]], METHOD_VERBS[match["verb"]]))
    return frozenset(used)


def commented_yaml(path: Path, first_line: str) -> Any:
    """A YAML snippet kept in comments: from `# <first_line>` to the next bare `#`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"# {first_line}")
    snippet = []
    for line in lines[start:]:
        if line.strip() == "#":
            break
        assert line.startswith("# "), f"{path.name}: unexpected line in snippet: {line!r}"
        snippet.append(line[2:])
    return yaml.safe_load("\n".join(snippet))


# --- every file ------------------------------------------------------------------------


def test_every_yaml_file_in_deploy_is_checked() -> None:
    on_disk = {path.relative_to(DEPLOY) for path in DEPLOY.rglob("*.yaml")}
    checked = {path.relative_to(DEPLOY) for path in ALL_YAML}
    assert on_disk == checked


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: p.name)
def test_file_parses(path: Path) -> None:
    assert documents(path), f"{path.name} holds no YAML document"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_are_complete_kubernetes_objects(path: Path) -> None:
    for doc in documents(path):
        assert isinstance(doc, dict), f"{path.name}: not an object: {doc!r}"
        assert isinstance(doc.get("apiVersion"), str) and doc["apiVersion"], doc
        assert isinstance(doc.get("kind"), str) and doc["kind"], doc
        name = (doc.get("metadata") or {}).get("name")
        assert isinstance(name, str) and name, f"{path.name}: {doc['kind']} without a name"
        if doc["kind"] in NAMESPACED_KINDS:
            assert doc["metadata"].get("namespace"), f"{path.name}: {doc['kind']} {name}"


# --- ClusterRole ---------------------------------------------------------------------


def test_cluster_role_is_what_the_default_policy_needs() -> None:
    expected = rbac.manifests(load_policy(DEFAULT_POLICY_FILE))
    assert [without_labels(d) for d in documents(CLUSTER_ROLE)] == expected
    role = one_object(CLUSTER_ROLE, "ClusterRole")
    assert role["metadata"]["name"] == ROLE_NAME
    assert "aggregationRule" not in role
    for rule in role["rules"]:
        assert not {"list", "watch", "*"} & set(rule["verbs"]), rule
        assert "secrets" not in rule["resources"], rule


def test_every_api_call_in_the_code_is_declared_by_an_action_or_a_rail() -> None:
    used = api_calls_in_code()
    assert {("pods", "get"), ("pods", "delete")} <= used, f"scan of responder/ found {used}"
    assert used <= declared_rbac(), f"undeclared: {sorted(used - declared_rbac())}"


# --- bindings --------------------------------------------------------------------------


@pytest.mark.parametrize("path", (KUBECONFIG_MODE, GKE_IDENTITY_MODE), ids=lambda p: p.name)
def test_bindings_reference_the_cluster_role(path: Path) -> None:
    binding = one_object(path, "ClusterRoleBinding")
    assert binding["roleRef"] == {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": ROLE_NAME}
    assert len(binding["subjects"]) == 1


@pytest.mark.parametrize("path", (KUBECONFIG_MODE, GKE_IDENTITY_MODE), ids=lambda p: p.name)
def test_bindings_give_the_circuit_breaker_role_to_the_same_subject(path: Path) -> None:
    cluster_binding = one_object(path, "ClusterRoleBinding")
    binding = one_object(path, "RoleBinding")
    breaker_role = one_object(CLUSTER_ROLE, "Role")
    assert binding["roleRef"] == {
        "apiGroup": RBAC_GROUP,
        "kind": "Role",
        "name": breaker_role["metadata"]["name"],
    }
    assert binding["metadata"]["namespace"] == breaker_role["metadata"]["namespace"]
    assert binding["subjects"] == cluster_binding["subjects"]


def test_kubeconfig_mode_binds_its_service_account() -> None:
    namespace = one_object(KUBECONFIG_MODE, "Namespace")["metadata"]["name"]
    account = one_object(KUBECONFIG_MODE, "ServiceAccount")
    assert account["metadata"]["namespace"] == namespace
    (subject,) = one_object(KUBECONFIG_MODE, "ClusterRoleBinding")["subjects"]
    assert subject == {
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": namespace,
    }
    # the identity the local stack's API emulator gives the responder
    expected_user = f"system:serviceaccount:{namespace}:{subject['name']}"
    assert expected_user == stack.RESPONDER_USER


def test_kubeconfig_mode_token_secret_belongs_to_the_service_account() -> None:
    account = one_object(KUBECONFIG_MODE, "ServiceAccount")["metadata"]
    secret = one_object(KUBECONFIG_MODE, "Secret")
    assert secret["type"] == "kubernetes.io/service-account-token"
    assert secret["metadata"]["namespace"] == account["namespace"]
    annotations = secret["metadata"]["annotations"]
    assert annotations["kubernetes.io/service-account.name"] == account["name"]
    assert "data" not in secret and "stringData" not in secret  # the token controller fills it


def test_kubeconfig_mode_stores_the_kubeconfig_where_terraform_expects_it() -> None:
    secrets_tf = (TERRAFORM / "secrets.tf").read_text(encoding="utf-8")
    assert 'secret_id = "${var.name_prefix}-kubeconfig-${each.key}"' in secrets_tf
    text = KUBECONFIG_MODE.read_text(encoding="utf-8")
    assert 'gcloud secrets versions add "falco-kubeconfig-$CLUSTER"' in text
    assert "--data-file=kubeconfig.yaml" in text


def responder_google_account() -> str:
    """The responder's Google service account email (PROJECT placeholder), from Terraform."""
    iam = (TERRAFORM / "iam.tf").read_text(encoding="utf-8")
    block = re.search(r'resource "google_service_account" "responder" \{(.*?)\n\}', iam, re.S)
    assert block, "terraform/iam.tf: no google_service_account.responder"
    account_id = re.search(r'account_id\s*=\s*"([^"]+)"', block[1])
    assert account_id, "terraform/iam.tf: responder account_id not found"
    variables = (TERRAFORM / "variables.tf").read_text(encoding="utf-8")
    prefix = re.search(r'variable "name_prefix" \{.*?default\s*=\s*"([^"]+)"', variables, re.S)
    assert prefix, "terraform/variables.tf: no default for name_prefix"
    account = account_id[1].replace("${var.name_prefix}", prefix[1])
    return f"{account}@PROJECT.iam.gserviceaccount.com"


def test_gke_identity_mode_binds_the_responder_google_account() -> None:
    (subject,) = one_object(GKE_IDENTITY_MODE, "ClusterRoleBinding")["subjects"]
    assert subject == {"apiGroup": RBAC_GROUP, "kind": "User", "name": responder_google_account()}


@pytest.mark.parametrize("path", (KUBECONFIG_MODE, GKE_IDENTITY_MODE), ids=lambda p: p.name)
def test_each_mode_creates_the_circuit_breaker_namespace_first(path: Path) -> None:
    breaker_namespace = one_object(CLUSTER_ROLE, "Role")["metadata"]["namespace"]
    assert one_object(path, "Namespace")["metadata"]["name"] == breaker_namespace
    assert documents(path)[0]["kind"] == "Namespace"
    # and the commands apply the bindings before the Role of `policy rbac`
    raw = path.read_text(encoding="utf-8")
    assert raw.index("falco-responder policy bindings") < raw.index("falco-responder policy rbac")


@pytest.mark.parametrize(
    ("path", "mode"), ((GKE_IDENTITY_MODE, []), (KUBECONFIG_MODE, ["--mode", "kubeconfig"]))
)
def test_each_mode_is_what_policy_bindings_prints_for_the_default_policy(path, mode) -> None:
    from click.testing import CliRunner

    from falco_responder_cli.main import cli

    command = ["policy", "bindings", *mode, str(DEFAULT_POLICY_FILE)]
    printed = CliRunner().invoke(cli, command)
    assert printed.exit_code == 0, printed.output
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    assert lines[: len(header)] == header, "the explanatory header comes first, in one block"
    assert "".join(lines[len(header) :]) == printed.stdout


def test_bindings_follow_the_policy_circuit_breaker_namespaces() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)
    policy = policy.model_copy(
        update={
            "safety": policy.safety.model_copy(
                update={
                    "circuit_breaker": policy.safety.circuit_breaker.model_copy(
                        update={"namespace": "security"}
                    )
                }
            )
        }
    )
    printed = bindings.manifests(policy, bindings.GKE_IDENTITY, "me@p.iam.gserviceaccount.com")
    assert [(d["kind"], d["metadata"]["name"]) for d in printed] == [
        ("Namespace", "falco-responder"),
        ("Namespace", "security"),
        ("ClusterRoleBinding", "falco-responder-gke-identity"),
        ("RoleBinding", "falco-responder-circuit-breaker-gke-identity"),
    ]
    assert printed[-1]["metadata"]["namespace"] == "security"
    assert printed[-1]["subjects"][0]["name"] == "me@p.iam.gserviceaccount.com"


def test_gke_identity_mode_is_complete() -> None:
    raw = GKE_IDENTITY_MODE.read_text(encoding="utf-8")
    assert "NOT YET USABLE" not in raw.upper()
    assert "roles/container.clusterViewer" in raw
    assert "falco-responder kubeconfig --from-describe" in raw
    iam = (TERRAFORM / "iam.tf").read_text(encoding="utf-8")
    assert 'role    = "roles/container.clusterViewer"' in iam


def test_bindings_do_not_share_a_name() -> None:
    names = [
        one_object(path, "ClusterRoleBinding")["metadata"]["name"]
        for path in (KUBECONFIG_MODE, GKE_IDENTITY_MODE)
    ]
    assert len(set(names)) == len(names)


# --- Helm values -----------------------------------------------------------------------


@pytest.mark.parametrize("path", HELM_VALUES, ids=lambda p: p.name)
def test_falco_sends_json_to_falcosidekick(path: Path) -> None:
    falco = only_document(path)["falco"]
    assert falco["json_output"] is True
    assert falco["json_include_output_fields_property"] is True
    assert falco["http_output"]["enabled"] is True
    # left to the chart, which points it at the Falcosidekick service
    assert not falco["http_output"].get("url")


@pytest.mark.parametrize("path", HELM_VALUES, ids=lambda p: p.name)
def test_alerts_carry_the_cluster_name(path: Path) -> None:
    # Falcosidekick splits the value on "," then ":" (`\,` is only Helm's --set escape)
    fields = dict(item.split(":", 1) for item in sidekick_config(path)["customfields"].split(","))
    assert fields == {"cluster": "${cluster}"}, f"{path.name}: customfields has no cluster"


def test_webhook_values_reach_the_ingest_function() -> None:
    webhook = sidekick_config(WEBHOOK_VALUES)["webhook"]
    assert webhook["address"] == "${ingest_url}"  # Terraform's ingest_url
    assert webhook["method"] == "POST"
    assert webhook["checkcert"] is True
    assert webhook["minimumpriority"] == "notice"


def test_webhook_token_comes_from_the_kubernetes_secret() -> None:
    sidekick = sidekick_config(WEBHOOK_VALUES)
    assert not sidekick["webhook"].get("customHeaders"), "the token must not be in the values"
    entries = [env for env in sidekick["extraEnv"] if env["name"] == HEADERS_KEY]
    assert entries == [
        {
            "name": HEADERS_KEY,
            "valueFrom": {"secretKeyRef": {"name": INGEST_SECRET, "key": HEADERS_KEY}},
        }
    ]


@pytest.mark.parametrize("path", HELM_VALUES, ids=lambda p: p.name)
def test_no_literal_token_anywhere(path: Path) -> None:
    for text in strings(only_document(path)):
        assert not re.search(r"(?i)bearer\s*\S", text), f"{path.name}: {text!r}"
    raw = path.read_text(encoding="utf-8")  # comments included
    assert not re.search(r"(?i)bearer\s+[A-Za-z0-9._~+/-]{8,}", raw), "token-like text"
    assert not re.search(r"\b[0-9a-f]{32,}\b", raw), "hex secret-like text"


def test_the_create_secret_command_matches_the_values() -> None:
    raw = WEBHOOK_VALUES.read_text(encoding="utf-8")
    assert (
        f"kubectl -n falco create secret generic {INGEST_SECRET} \\\n"
        f'#     --from-literal={HEADERS_KEY}="Authorization:Bearer $TOKEN"'
    ) in raw


def test_gcppubsub_values_target_the_alerts_topic() -> None:
    sidekick = sidekick_config(GCPPUBSUB_VALUES)
    gcp = sidekick["gcp"]
    assert gcp["pubsub"]["topic"] == "${alerts_topic}"  # google_pubsub_topic.alerts
    assert gcp["pubsub"]["projectid"] == "${project_id}"
    assert gcp["pubsub"]["minimumpriority"] == "notice"
    assert gcp["credentials"] == "", "Workload Identity: no key in the values"
    assert not sidekick.get("webhook", {}).get("address"), "one output, not both"


def test_gcppubsub_workload_identity_instructions() -> None:
    raw = GCPPUBSUB_VALUES.read_text(encoding="utf-8")
    # the subchart's ServiceAccount is "<release>-falcosidekick", release `falco`
    assert 'serviceAccount:${project_id}.svc.id.goog[falco/falco-falcosidekick]"' in raw
    assert "--role=roles/iam.workloadIdentityUser" in raw
    assert (
        "iam.gke.io/gcp-service-account=falcosidekick@${project_id}.iam.gserviceaccount.com" in raw
    )
    assert "/subject/ns/falco/sa/falco-falcosidekick" in raw
    # the Terraform input it names exists
    variables = (TERRAFORM / "variables.tf").read_text(encoding="utf-8")
    assert "alerts_topic_publishers" in raw
    assert 'variable "alerts_topic_publishers"' in variables


# --- Falco rules -----------------------------------------------------------------------


def falco_items(kind: str) -> dict[str, dict[str, Any]]:
    rules = only_document(FALCO_RULES)
    assert isinstance(rules, list), "a Falco rules file is a YAML list"
    return {item[kind]: item for item in rules if kind in item}


# --- admission rails (their behaviour: tests/unit/test_k8s_api_emulator_admission.py) ------


def test_admission_rails_are_what_the_default_policy_prints() -> None:
    from click.testing import CliRunner

    from falco_responder_cli.main import cli

    printed = CliRunner().invoke(cli, ["policy", "admission", str(DEFAULT_POLICY_FILE)])
    assert printed.exit_code == 0, printed.output
    lines = ADMISSION_RAILS.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    assert lines[: len(header)] == header, "the explanatory header comes first, in one block"
    assert "".join(lines[len(header) :]) == printed.stdout


def test_admission_rails_apply_to_both_responder_identities() -> None:
    policy, binding = documents(ADMISSION_RAILS)
    [condition] = policy["spec"]["matchConditions"]
    (sa,) = one_object(KUBECONFIG_MODE, "ClusterRoleBinding")["subjects"]
    bound = f"system:serviceaccount:{sa['namespace']}:{sa['name']}"
    assert admission.service_account_user(admission.DEFAULT_SERVICE_ACCOUNT) == bound
    assert bound == stack.RESPONDER_USER  # the local stack's responder: the same identity
    assert responder_google_account() == admission.DEFAULT_GOOGLE_IDENTITY
    for user in (stack.RESPONDER_USER, responder_google_account()):
        assert f"'{user}'" in condition["expression"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }


def test_falco_rules_file_holds_only_the_list_and_macro() -> None:
    rules = only_document(FALCO_RULES)
    assert [next(iter(item)) for item in rules] == ["list", "macro"]


def test_falco_list_names_both_responder_identities() -> None:
    users = falco_items("list")["falco_responder_users"]["items"]
    assert set(users) == {stack.RESPONDER_USER, responder_google_account()}
    # the same names the two bindings give the responder
    (sa,) = one_object(KUBECONFIG_MODE, "ClusterRoleBinding")["subjects"]
    (user,) = one_object(GKE_IDENTITY_MODE, "ClusterRoleBinding")["subjects"]
    assert set(users) == {f"system:serviceaccount:{sa['namespace']}:{sa['name']}", user["name"]}


def test_falco_macro_matches_the_responder_users() -> None:
    macro = falco_items("macro")["falco_responder_user"]
    assert macro["condition"] == "(ka.user.name in (falco_responder_users))"


def test_commented_exception_is_valid_override_syntax() -> None:
    (rule,) = commented_yaml(FALCO_RULES, "- rule: Disallowed K8s User")
    assert rule["rule"] == "Disallowed K8s User"
    assert rule["override"] == {"exceptions": "append"}
    (exception,) = rule["exceptions"]
    assert exception == {
        "name": "falco_responder",
        "fields": "ka.user.name",
        "comps": "in",
        "values": ["falco_responder_users"],
    }
    (allowlist,) = commented_yaml(FALCO_RULES, "- list: allowed_k8s_users")
    assert allowlist == {
        "list": "allowed_k8s_users",
        "items": ["falco_responder_users"],
        "override": {"items": "append"},
    }
