"""The Terraform module deploys the same topology as the local stack (shared/config.py).

terraform init/validate cannot run here (no provider download), so these tests parse every
.tf file with python-hcl2 and check names, wiring, limits and IAM against shared/config.py.

python-hcl2 >= 8 keeps string literals quoted ('"falco"') and wraps expressions in "${...}";
older releases drop the quotes. The helpers below accept both.
"""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from localdev.local_stack import bench_billing, functions
from responder.handler import ActionFailedError, OutcomeRecord
from responder.outcome import (
    CIRCUIT_BREAKER_OPEN,
    ISOLATION_LEAKS,
    PROTECTED_NAMESPACE_REFUSED,
    Decision,
    Outcome,
)
from shared import config

hcl2 = pytest.importorskip("hcl2")

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
EXAMPLE = TERRAFORM / "examples" / "basic"

# Environment variable constants of shared/config.py: the ones whose value is their name.
CONFIG_ENV_VARS = {
    name for name, value in vars(config).items() if isinstance(value, str) and name == value
}

SEVEN_DAYS_SECONDS = 7 * 24 * 3600
# Pub/Sub's longest message retention on a subscription.
THIRTY_ONE_DAYS_SECONDS = 31 * 24 * 3600

_META_KEYS = {"__is_block__", "__comments__", "__inline_comments__", "__start_line__"}


# --- parsing helpers ------------------------------------------------------------------


def _key(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _clean(node: Any) -> Any:
    """Drop python-hcl2's bookkeeping keys and the quotes around block labels."""
    if isinstance(node, dict):
        return {_key(k): _clean(v) for k, v in node.items() if k not in _META_KEYS}
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def _is_quoted(raw: Any) -> bool:
    return isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"'


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(text: str) -> str:
    """Undo HCL escapes outside ${...}; python-hcl2 leaves interpolations verbatim."""
    out, i, depth = [], 0, 0
    while i < len(text):
        if depth == 0 and text.startswith("${", i):
            out.append("${")
            depth, i = 1, i + 2
            continue
        char = text[i]
        if depth:
            depth += {"{": 1, "}": -1}.get(char, 0)
            out.append(char)
            i += 1
        elif char == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], text[i : i + 2]))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def literal(raw: Any) -> Any:
    """The value of a literal: '"roles/run.invoker"' -> 'roles/run.invoker'."""
    return _unescape(raw[1:-1]) if _is_quoted(raw) else raw


def expr(raw: Any) -> str:
    """The expression of a reference: '${google_pubsub_topic.alerts.id}' -> '...alerts.id'."""
    assert isinstance(raw, str), f"expected an expression, got {raw!r}"
    assert raw.startswith("${") and raw.endswith("}"), f"expected an expression, got {raw!r}"
    return raw[2:-1]


def member_of(raw: Any) -> str:
    """An IAM member as written: a literal ('allUsers') or the expression it refers to."""
    return expr(raw) if isinstance(raw, str) and raw.startswith("${") else literal(raw)


def mentions(source: str, fragment: str) -> bool:
    """`fragment` appears in HCL source, as written or inside a nested string ('\\"')."""
    return fragment in source or fragment.replace('"', '\\"') in source


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The one nested block called `name` (python-hcl2 gives blocks as lists)."""
    blocks = body.get(name)
    assert isinstance(blocks, list), f"no {name} block in {sorted(body)}"
    assert len(blocks) == 1, f"expected one {name} block, got {len(blocks)}"
    return blocks[0]


@dataclass
class Module:
    """Every block of the .tf files of one folder, by kind."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        assert (rtype, name) in self.resources, f"{rtype}.{name} is not declared"
        return self.resources[(rtype, name)]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def default(self, variable: str) -> Any:
        body = self.variables[variable]
        assert "default" in body, f"variable {variable} has no default"
        return self.evaluate(body["default"])

    def evaluate(self, raw: Any) -> Any:
        """Resolve var.* (to defaults) and local.* references in a value or template."""
        if not isinstance(raw, str):
            return raw
        whole = re.fullmatch(r"\$\{(var|local)\.(\w+)\}", raw)
        if whole:
            kind, name = whole.groups()
            return self.default(name) if kind == "var" else self.evaluate(self.locals[name])
        text = literal(raw)

        def substitute(match: re.Match[str]) -> str:
            kind, name = match.groups()
            value = self.default(name) if kind == "var" else self.evaluate(self.locals[name])
            return str(value)

        return re.sub(r"\$\{(var|local)\.(\w+)\}", substitute, text)


def _load(folder: Path) -> Module:
    module = Module()
    for path in sorted(folder.glob("*.tf")):
        with path.open() as handle:
            parsed = _clean(hcl2.load(handle))
        for item in parsed.get("resource", []):
            for rtype, named in item.items():
                for name, body in named.items():
                    module.resources[(rtype, name)] = body
        for item in parsed.get("data", []):
            for dtype, named in item.items():
                for name, body in named.items():
                    module.data[(dtype, name)] = body
        for item in parsed.get("variable", []):
            module.variables.update(item)
        for item in parsed.get("locals", []):
            module.locals.update(item)
        for item in parsed.get("output", []):
            module.outputs.update(item)
        module.terraform.extend(parsed.get("terraform", []))
    return module


@functools.cache
def tf() -> Module:
    return _load(TERRAFORM)


@functools.cache
def example() -> Module:
    return _load(EXAMPLE)


def iam_bindings(module: Module) -> set[tuple[str, str, str, str]]:
    """(resource type, target, role, member) of every *_iam_member resource."""
    target_fields = (
        "topic",
        "subscription",
        "secret_id",
        "service",
        "service_account_id",
        "bucket",
        "crypto_key_id",
    )
    bindings = set()
    for (rtype, name), body in module.resources.items():
        if not rtype.endswith("_iam_member"):
            continue
        if rtype == "google_project_iam_member":
            targets = [body["project"]]
        else:
            targets = [body[f] for f in target_fields if f in body]
        assert len(targets) == 1, f"{rtype}.{name}: cannot tell what the role is granted on"
        bindings.add((rtype, expr(targets[0]), literal(body["role"]), member_of(body["member"])))
    return bindings


# --- the files ----------------------------------------------------------------------


def test_every_terraform_file_parses():
    files = sorted(TERRAFORM.rglob("*.tf"))
    assert {p.name for p in TERRAFORM.glob("*.tf")} >= {
        "versions.tf",
        "variables.tf",
        "outputs.tf",
        "pubsub.tf",
        "functions.tf",
        "iam.tf",
        "secrets.tf",
        "monitoring.tf",
        "apis.tf",
    }
    assert EXAMPLE / "main.tf" in files
    for path in files:
        with path.open() as handle:
            assert hcl2.load(handle), f"{path} parsed to nothing"


def test_module_requires_terraform_1_5_and_google_provider_7_21_to_8():
    settings = tf().terraform[0]
    assert literal(settings["required_version"]) == ">= 1.5"
    providers = settings["required_providers"][0]
    assert literal(providers["google"]["source"]) == "hashicorp/google"
    assert literal(providers["google"]["version"]) == ">= 7.21, < 9.0"
    assert literal(providers["archive"]["source"]) == "hashicorp/archive"


def test_example_calls_the_module_by_relative_path():
    modules = []
    with (EXAMPLE / "main.tf").open() as handle:
        for item in _clean(hcl2.load(handle)).get("module", []):
            modules.extend(item.values())
    assert [literal(m["source"]) for m in modules] == ["../.."]
    assert (EXAMPLE / "terraform.tfvars.example").is_file()


@pytest.mark.parametrize("module", [tf, example], ids=["module", "example"])
def test_every_variable_has_a_description_and_a_type(module):
    variables = module().variables
    assert variables
    for name, body in variables.items():
        description = literal(body.get("description", ""))
        assert isinstance(description, str) and description.strip(), f"{name}: no description"
        assert body.get("type"), f"{name}: no type"


def test_variables_that_can_be_wrong_are_validated():
    must_validate = {
        "project_id",
        "region",
        "name_prefix",
        "max_delivery_attempts",
        "min_backoff",
        "max_backoff",
        "ack_deadline_seconds",
        "responder_timeout_seconds",
        "ingest_timeout_seconds",
        "ingest_max_instances",
        "responder_max_instances",
        "ingest_concurrency",
        "responder_concurrency",
        "ingest_memory",
        "responder_memory",
        "clusters",
        "push_subscription_filter",
        "dead_letter_retention",
        "notification_channels",
        "ingest_invokers",
        "policy_file",
        "responder_vpc_egress",
        "ingest_min_instances",
        "responder_min_instances",
        "build_service_account",
        "log_alert_notification_period",
    }
    missing = {name for name in must_validate if not tf().variables[name].get("validation")}
    assert not missing, f"variables without validation: {sorted(missing)}"


# --- Pub/Sub topology ----------------------------------------------------------------


def test_topic_names_are_the_shared_config_defaults():
    names = {
        name: tf().evaluate(body["name"])
        for name, body in tf().of_type("google_pubsub_topic").items()
    }
    assert names == {
        "alerts": config.DEFAULT_ALERTS_TOPIC,
        "dead_letter": config.DEFAULT_DEAD_LETTER_TOPIC,
        "responses": config.DEFAULT_RESPONSES_TOPIC,
    }


def test_subscriptions_have_the_shared_config_names_and_topics():
    subs = tf().of_type("google_pubsub_subscription")
    assert set(subs) == {"responder_push", "dead_letter"}
    assert tf().evaluate(subs["responder_push"]["name"]) == config.RESPONDER_PUSH_SUBSCRIPTION
    assert expr(subs["responder_push"]["topic"]) == "google_pubsub_topic.alerts.id"
    assert tf().evaluate(subs["dead_letter"]["name"]) == config.DEAD_LETTER_SUBSCRIPTION
    assert expr(subs["dead_letter"]["topic"]) == "google_pubsub_topic.dead_letter.id"


def test_push_subscription_dead_letters_after_the_shared_config_attempts():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    policy = block(push, "dead_letter_policy")
    assert expr(policy["dead_letter_topic"]) == "google_pubsub_topic.dead_letter.id"
    assert expr(policy["max_delivery_attempts"]) == "var.max_delivery_attempts"
    assert tf().default("max_delivery_attempts") == config.MAX_DELIVERY_ATTEMPTS
    # Pub/Sub accepts 5..100 attempts: the validation must say so.
    condition = block(tf().variables["max_delivery_attempts"], "validation")["condition"]
    assert ">= 5" in condition and "<= 100" in condition


def test_push_subscription_pushes_to_the_responder_with_an_oidc_token():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    push_config = block(push, "push_config")
    responder_url = "google_cloudfunctions2_function.responder.service_config[0].uri"
    assert expr(push_config["push_endpoint"]) == responder_url
    oidc = block(push_config, "oidc_token")
    assert expr(oidc["service_account_email"]) == "google_service_account.push.email"
    assert expr(oidc["audience"]) == responder_url
    # The wrapped body is what functions-framework turns into a CloudEvent.
    assert "no_wrapper" not in push_config


def test_push_subscription_retries_with_backoff_and_never_expires():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    retry = block(push, "retry_policy")
    assert expr(retry["minimum_backoff"]) == "var.min_backoff"
    assert expr(retry["maximum_backoff"]) == "var.max_backoff"
    min_backoff = float(tf().default("min_backoff").removesuffix("s"))
    max_backoff = float(tf().default("max_backoff").removesuffix("s"))
    assert 0 <= min_backoff <= max_backoff <= 600
    assert literal(block(push, "expiration_policy")["ttl"]) == ""
    assert expr(push["filter"]) == "var.push_subscription_filter"
    assert tf().default("push_subscription_filter") is None


def test_push_subscription_keeps_handled_alerts_so_seek_can_rerun_them():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    assert expr(push["retain_acked_messages"]) == "var.alert_retention != null"
    assert expr(push["message_retention_duration"]) == "var.alert_retention"
    assert tf().default("alert_retention") == "604800s"


def test_ack_deadline_exceeds_the_responder_timeout():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    assert expr(push["ack_deadline_seconds"]) == "var.ack_deadline_seconds"
    responder = tf().resource("google_cloudfunctions2_function", "responder")
    service = block(responder, "service_config")
    assert expr(service["timeout_seconds"]) == "var.responder_timeout_seconds"
    assert tf().default("ack_deadline_seconds") > tf().default("responder_timeout_seconds")
    assert tf().default("ack_deadline_seconds") <= 600
    # ...and Terraform refuses a configuration where it does not.
    conditions = [expr(p["condition"]) for p in block(push, "lifecycle")["precondition"]]
    assert "var.ack_deadline_seconds > var.responder_timeout_seconds" in conditions


def test_dead_letter_subscription_keeps_alerts_pubsubs_longest_31_days():
    dead = tf().resource("google_pubsub_subscription", "dead_letter")
    retention = tf().evaluate(dead["message_retention_duration"])
    assert retention == f"{THIRTY_ONE_DAYS_SECONDS}s"
    # ...and lets no one ask Pub/Sub for more, or for less than its 10 minutes.
    (validation,) = tf().variables["dead_letter_retention"]["validation"]
    assert f"<= {THIRTY_ONE_DAYS_SECONDS}" in validation["condition"]
    assert ">= 600" in validation["condition"]
    assert "31 days" in literal(tf().variables["dead_letter_retention"]["description"])
    assert dead["retain_acked_messages"] is False
    assert literal(block(dead, "expiration_policy")["ttl"]) == ""
    assert "push_config" not in dead


# --- functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "entry_point"), [("ingest", "ingest"), ("responder", "respond")]
)
def test_functions_run_python312_with_the_contract_entry_points(function, entry_point):
    body = tf().resource("google_cloudfunctions2_function", function)
    build = block(body, "build_config")
    assert literal(build["runtime"]) == "python312"
    assert literal(build["entry_point"]) == entry_point
    source = block(block(build, "source"), "storage_source")
    assert expr(source["bucket"]) == "google_storage_bucket.source.name"
    assert expr(source["object"]) == (
        f'google_storage_bucket_object.function_source["{function}"].name'
    )
    # The generated root main.py re-exports exactly that entry point.
    main_py = literal(tf().locals["functions"][function]["main_py"])
    assert main_py == f"from {function}.main import {entry_point}  # noqa: F401\n"


@pytest.mark.parametrize(
    ("function", "required"),
    [
        ("ingest", {"GOOGLE_CLOUD_PROJECT", "ALERTS_TOPIC", "INGEST_TOKEN_SECRET"}),
        (
            "responder",
            {
                "GOOGLE_CLOUD_PROJECT",
                "DEAD_LETTER_TOPIC",
                "RESPONSES_TOPIC",
                "KUBECONFIG_SECRET",
                "DRY_RUN",
            },
        ),
    ],
)
def test_function_env_vars_are_shared_config_names(function, required):
    body = tf().resource("google_cloudfunctions2_function", function)
    service = block(body, "service_config")
    env = service["environment_variables"]
    unknown = set(env) - CONFIG_ENV_VARS
    assert not unknown, f"{function} sets variables shared/config.py does not name: {unknown}"
    assert required <= set(env), f"{function} misses {sorted(required - set(env))}"
    # Secrets are resolved by the code from Secret Manager, never passed as values.
    assert not {"INGEST_TOKEN", "KUBECONFIG"} & set(env)
    assert "secret_environment_variables" not in service
    assert "secret_volumes" not in service


@pytest.mark.parametrize(
    ("function", "variable", "default"),
    [
        ("ingest", "ingest_concurrency", config.DEFAULT_INGEST_CONCURRENCY),
        ("responder", "responder_concurrency", config.DEFAULT_RESPONDER_CONCURRENCY),
    ],
)
def test_each_function_has_one_thread_per_request_cloud_run_may_send(function, variable, default):
    service = block(tf().resource("google_cloudfunctions2_function", function), "service_config")
    assert expr(service["max_instance_request_concurrency"]) == f"var.{variable}"
    assert expr(service["environment_variables"][config.THREADS]) == f"tostring(var.{variable})"
    # The local stack (make bench) runs the same numbers.
    assert tf().default(variable) == default


def test_function_env_vars_point_at_the_right_topics_and_secrets():
    ingest = block(tf().resource("google_cloudfunctions2_function", "ingest"), "service_config")
    responder = block(
        tf().resource("google_cloudfunctions2_function", "responder"), "service_config"
    )
    ingest_env = ingest["environment_variables"]
    responder_env = responder["environment_variables"]
    assert expr(ingest_env["GOOGLE_CLOUD_PROJECT"]) == "var.project_id"
    assert expr(ingest_env["ALERTS_TOPIC"]) == "google_pubsub_topic.alerts.name"
    assert tf().evaluate(ingest_env["INGEST_TOKEN_SECRET"]) == (
        "${google_secret_manager_secret.ingest_token.id}/versions/latest"
    )
    assert expr(responder_env["GOOGLE_CLOUD_PROJECT"]) == "var.project_id"
    assert expr(responder_env["DEAD_LETTER_TOPIC"]) == "google_pubsub_topic.dead_letter.name"
    assert expr(responder_env["RESPONSES_TOPIC"]) == "google_pubsub_topic.responses.name"
    # One cluster: KUBECONFIG_SECRET names its kubeconfig. Several: the policy's
    # `clusters` block (output policy_clusters) names each secret, and it stays empty.
    assert tf().evaluate(responder_env["KUBECONFIG_SECRET"]) == (
        '${length(var.clusters) == 1 ? one(values(local.kubeconfig_secret_versions)) : ""}'
    )
    versions = str(tf().locals["kubeconfig_secret_versions"])
    assert "google_secret_manager_secret.kubeconfig" in versions
    assert "/versions/latest" in versions
    output = str(tf().outputs["policy_clusters"]["value"])
    assert "kubeconfig_secret" in output and "cluster_field" in output


def test_function_limits_default_to_the_shared_config_values():
    assert tf().default("ingest_max_body_bytes") == config.DEFAULT_MAX_BODY_BYTES
    assert tf().default("ingest_max_alerts") == config.DEFAULT_MAX_ALERTS
    assert tf().default("kube_timeout_seconds") == config.DEFAULT_KUBE_TIMEOUT_SECONDS
    assert tf().default("kube_timeout_seconds") < tf().default("responder_timeout_seconds")
    # Safe by default: a fresh deployment changes nothing in the clusters.
    assert tf().default("dry_run") is True
    # No policy given: the repository's own.
    assert tf().default("policy_file") is None


def test_each_function_runs_as_its_own_service_account():
    for function in ("ingest", "responder"):
        body = tf().resource("google_cloudfunctions2_function", function)
        email = expr(block(body, "service_config")["service_account_email"])
        assert email == f"google_service_account.{function}.email"
    accounts = {"ingest", "responder", "push", "build"}
    assert set(tf().of_type("google_service_account")) == accounts


def test_deploy_archives_hold_the_function_folder_shared_and_generated_root_files():
    archive = tf().data[("archive_file", "function")]
    assert literal(archive["type"]) == "zip"
    assert expr(archive["for_each"]) == "local.functions"
    dynamic = archive["dynamic"][0]["source"]
    assert expr(dynamic["for_each"]) == "local.function_files[each.key]"
    files = tf().locals["function_files"]
    assert "{${fn.folder},shared}/**" in files
    assert mentions(files, '!strcontains(f, "__pycache__")')
    assert mentions(files, '!endswith(f, ".pyc")')
    generated = {literal(s["filename"]): s["content"] for s in archive["source"]}
    assert set(generated) == {"main.py", "requirements.txt"}
    extra = archive["dynamic"][1]["source"]
    assert expr(extra["for_each"]) == "local.function_extra_files[each.key]"
    assert extra["content"] == [{"content": "${source.value}", "filename": "${source.key}"}]
    assert expr(generated["main.py"]) == "each.value.main_py"
    assert "${each.value.folder}/requirements.txt" in generated["requirements.txt"]
    assert {f: literal(v["folder"]) for f, v in tf().locals["functions"].items()} == {
        "ingest": "ingest",
        "responder": "responder",
    }
    # Objects are named by content, so a code change redeploys.
    obj = tf().resource("google_storage_bucket_object", "function_source")
    assert "output_md5" in obj["name"]


def test_source_bucket_is_private_and_versioned():
    bucket = tf().resource("google_storage_bucket", "source")
    assert bucket["uniform_bucket_level_access"] is True
    assert literal(bucket["public_access_prevention"]) == "enforced"
    assert block(bucket, "versioning")["enabled"] is True


def test_evidence_bucket_is_private_unversioned_and_cools_down():
    bucket = tf().resource("google_storage_bucket", "evidence")
    assert bucket["uniform_bucket_level_access"] is True
    assert literal(bucket["public_access_prevention"]) == "enforced"
    # Not beside the retention policy (terraform/README.md, "Security choices"); said
    # explicitly, as the provider leaves an existing bucket's versioning alone otherwise.
    assert block(bucket, "versioning")["enabled"] is False
    assert expr(bucket["force_destroy"]) == "var.evidence_force_destroy"
    assert tf().default("evidence_force_destroy") is False
    rule = block(bucket, "lifecycle_rule")
    assert expr(block(rule, "condition")["age"]) == "var.evidence_cold_after_days"
    action = block(rule, "action")
    assert literal(action["type"]) == "SetStorageClass"
    assert expr(action["storage_class"]) == "var.evidence_cold_storage_class"
    assert tf().default("evidence_cold_storage_class") == "COLDLINE"


def test_evidence_retention_and_cmek_are_optional():
    dynamic = {
        next(iter(d)): d[next(iter(d))]
        for d in tf().resource("google_storage_bucket", "evidence")["dynamic"]
    }
    retention = block(dynamic["retention_policy"], "content")
    assert expr(retention["retention_period"]) == "tostring(var.evidence_retention_days * 86400)"
    assert expr(retention["is_locked"]) == "var.evidence_retention_locked"
    assert "var.evidence_retention_days > 0" in expr(dynamic["retention_policy"]["for_each"])
    assert tf().default("evidence_retention_days") == 0
    assert tf().default("evidence_retention_locked") is False
    encryption = block(dynamic["encryption"], "content")
    assert expr(encryption["default_kms_key_name"]) == "var.evidence_kms_key"
    assert tf().default("evidence_kms_key") is None
    agent = tf().resource("google_kms_crypto_key_iam_member", "evidence_storage_agent")
    assert "var.evidence_kms_key == null ? 0 : 1" in expr(agent["count"])


def test_responder_is_told_the_evidence_bucket():
    function = tf().resource("google_cloudfunctions2_function", "responder")
    env = block(function, "service_config")["environment_variables"]
    assert expr(env[config.EVIDENCE_BUCKET]) == "google_storage_bucket.evidence.name"


def test_the_evidence_bucket_is_an_output_for_the_evidence_command():
    output = tf().outputs["evidence_bucket"]
    assert expr(output["value"]) == "google_storage_bucket.evidence.name"
    assert "falco-responder evidence" in literal(output["description"])


def test_the_responder_knows_the_push_subscriptions_last_attempt():
    env = responder_service()["environment_variables"]
    assert expr(env[config.PUSH_MAX_DELIVERY_ATTEMPTS]) == "tostring(var.max_delivery_attempts)"


@pytest.mark.parametrize(("function", "default"), [("ingest", 0), ("responder", 1)])
def test_min_instances_keep_the_responder_warm_by_default(function, default):
    service = block(tf().resource("google_cloudfunctions2_function", function), "service_config")
    assert expr(service["min_instance_count"]) == f"var.{function}_min_instances"
    assert tf().default(f"{function}_min_instances") == default
    (validation,) = tf().variables[f"{function}_min_instances"]["validation"]
    assert f"var.{function}_min_instances >= 0" in validation["condition"]


def test_responder_is_told_its_one_cluster_and_its_memory():
    env = responder_service()["environment_variables"]
    assert expr(env[config.CLUSTER_NAME]) == (
        'length(var.clusters) == 1 ? one(keys(var.clusters)) : ""'
    )
    assert expr(env[config.RESPONDER_MEMORY]) == "var.responder_memory"


def test_ingest_is_told_its_memory_to_bound_the_bodies_it_parses_at_once():
    ingest = block(tf().resource("google_cloudfunctions2_function", "ingest"), "service_config")
    assert expr(ingest["environment_variables"][config.INGEST_MEMORY]) == "var.ingest_memory"
    assert tf().default("ingest_memory") == functions.INGEST_MEMORY  # as the local stack runs


@pytest.mark.parametrize(
    ("function", "instance"),
    [("ingest", bench_billing.INGEST_INSTANCE), ("responder", bench_billing.RESPONDER_INSTANCE)],
)
def test_the_bench_bills_the_instance_terraform_gives_each_function(function, instance):
    assert tf().default(f"{function}_cpu") == f"{instance.vcpus:g}"
    assert tf().default(f"{function}_memory") == f"{instance.memory_gib * 1024:g}Mi"


# --- IAM ---------------------------------------------------------------------------

AGENT = "local.pubsub_service_agent"
EXPECTED_BINDINGS = {
    # ingest: publish alerts, read its token.
    (
        "google_pubsub_topic_iam_member",
        "google_pubsub_topic.alerts.name",
        "roles/pubsub.publisher",
        "google_service_account.ingest.member",
    ),
    (
        "google_secret_manager_secret_iam_member",
        "google_secret_manager_secret.ingest_token.secret_id",
        "roles/secretmanager.secretAccessor",
        "google_service_account.ingest.member",
    ),
    # responder: read kubeconfigs, publish dead letters and outcomes.
    (
        "google_secret_manager_secret_iam_member",
        "google_secret_manager_secret.kubeconfig[each.key].secret_id",
        "roles/secretmanager.secretAccessor",
        "google_service_account.responder.member",
    ),
    (
        "google_pubsub_topic_iam_member",
        "google_pubsub_topic.dead_letter.name",
        "roles/pubsub.publisher",
        "google_service_account.responder.member",
    ),
    (
        "google_pubsub_topic_iam_member",
        "google_pubsub_topic.responses.name",
        "roles/pubsub.publisher",
        "google_service_account.responder.member",
    ),
    # responder: create evidence objects (no read, no overwrite, no delete).
    (
        "google_storage_bucket_iam_member",
        "google_storage_bucket.evidence.name",
        "roles/storage.objectCreator",
        "google_service_account.responder.member",
    ),
    # Cloud Storage's service agent: the evidence CMEK key, when one is given.
    (
        "google_kms_crypto_key_iam_member",
        "var.evidence_kms_key",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "serviceAccount:${data.google_storage_project_service_account.this.email_address}",
    ),
    # push identity: invoke the responder, nothing else.
    (
        "google_cloud_run_service_iam_member",
        "google_cloudfunctions2_function.responder.name",
        "roles/run.invoker",
        "google_service_account.push.member",
    ),
    # Pub/Sub service agent: dead-lettering and OIDC tokens.
    (
        "google_pubsub_topic_iam_member",
        "google_pubsub_topic.dead_letter.name",
        "roles/pubsub.publisher",
        AGENT,
    ),
    (
        "google_pubsub_subscription_iam_member",
        "google_pubsub_subscription.responder_push.name",
        "roles/pubsub.subscriber",
        AGENT,
    ),
    (
        "google_service_account_iam_member",
        "google_service_account.push.name",
        "roles/iam.serviceAccountTokenCreator",
        AGENT,
    ),
    # Build account: build logs, images, and reading the deploy archives (Google's
    # "Custom Service Account for Cloud Build" page for Cloud Run functions).
    (
        "google_project_iam_member",
        "var.project_id",
        "roles/logging.logWriter",
        "local.build_service_account_member",
    ),
    (
        "google_project_iam_member",
        "var.project_id",
        "roles/artifactregistry.writer",
        "local.build_service_account_member",
    ),
    (
        "google_project_iam_member",
        "var.project_id",
        "roles/storage.objectViewer",
        "local.build_service_account_member",
    ),
    # GKE identity mode: the DNS-based endpoint's container.clusters.connect, on the
    # projects of google_identity clusters only.
    (
        "google_project_iam_member",
        "each.value",
        "roles/container.clusterViewer",
        "google_service_account.responder.member",
    ),
    # Optional callers: public ingest, private ingest invokers, gcppubsub publishers.
    (
        "google_cloud_run_service_iam_member",
        "google_cloudfunctions2_function.ingest.name",
        "roles/run.invoker",
        "allUsers",
    ),
    (
        "google_cloud_run_service_iam_member",
        "google_cloudfunctions2_function.ingest.name",
        "roles/run.invoker",
        "each.value",
    ),
    (
        "google_pubsub_topic_iam_member",
        "google_pubsub_topic.alerts.name",
        "roles/pubsub.publisher",
        "each.value",
    ),
}


def test_iam_grants_exactly_the_least_privilege_bindings():
    assert iam_bindings(tf()) == EXPECTED_BINDINGS


def test_project_level_roles_are_the_build_accounts_and_cluster_viewer_only():
    broad = {
        f"{rtype}.{name}"
        for rtype, name in tf().resources
        if re.match(r"google_(project|folder|organization)_iam_", rtype)
    }
    # Kubernetes Engine and Logging roles cannot be granted below the project; the
    # build's image repositories do not exist before the first deploy.
    assert broad == {
        "google_project_iam_member.responder_cluster_viewer",
        "google_project_iam_member.build_log_writer",
        "google_project_iam_member.build_artifact_writer",
        "google_project_iam_member.build_source_reader",
    }
    viewer = tf().resource("google_project_iam_member", "responder_cluster_viewer")
    assert literal(viewer["role"]) == "roles/container.clusterViewer"
    assert expr(viewer["for_each"]) == "local.google_identity_projects"
    projects = tf().locals["google_identity_projects"]
    assert "coalesce(cluster.project, var.project_id)" in projects
    assert "if cluster.google_identity" in projects
    # GKE identity mode is opt-in per cluster: no grant unless asked for
    clusters_type = tf().variables["clusters"]["type"]
    assert "google_identity" in clusters_type and "optional(bool, false)" in clusters_type


def test_the_build_account_reads_only_the_source_buckets():
    reader = tf().resource("google_project_iam_member", "build_source_reader")
    expression = block(reader, "condition")["expression"]
    assert "google_storage_bucket.source.name" in expression
    assert "local.platform_sources_bucket" in expression
    # the bucket or an object in it, never another bucket with the same prefix
    assert mentions(expression, '"resource.name == \\"projects/_/buckets/${bucket}\\""')
    assert mentions(expression, 'startsWith(\\"projects/_/buckets/${bucket}/\\")')
    assert "evidence" not in expression
    assert literal(tf().locals["platform_sources_bucket"]) == (
        "gcf-v2-sources-${data.google_project.this.number}-${var.region}"
    )


def test_the_functions_are_built_by_the_module_account_or_the_users_own():
    build = tf().resource("google_service_account", "build")
    assert expr(build["count"]) == "var.build_service_account == null ? 1 : 0"
    assert tf().default("build_service_account") is None
    assert expr(tf().locals["build_service_account"]) == (
        "(var.build_service_account != null ? var.build_service_account"
        " : google_service_account.build[0].id)"
    )
    member = literal(tf().locals["build_service_account_member"])
    assert member == 'serviceAccount:${element(split("/", local.build_service_account), 3)}'
    grants = {
        f"google_project_iam_member.{name}"
        for name in ("build_log_writer", "build_artifact_writer", "build_source_reader")
    }
    for function in ("ingest", "responder"):
        body = tf().resource("google_cloudfunctions2_function", function)
        assert expr(block(body, "build_config")["service_account"]) == (
            "local.build_service_account"
        )
        # the build must be allowed before the first build runs
        assert grants <= {expr(d) for d in body["depends_on"]}
    (validation,) = tf().variables["build_service_account"]["validation"]
    assert "projects/[^/]+/serviceAccounts/" in validation["condition"]


def test_pubsub_service_agent_is_the_projects_pubsub_agent():
    agent = literal(tf().locals["pubsub_service_agent"])
    assert agent == (
        "serviceAccount:service-${data.google_project.this.number}"
        "@gcp-sa-pubsub.iam.gserviceaccount.com"
    )


def test_extra_members_come_only_from_their_variables():
    by_name = {
        "ingest_invoker": ("google_cloud_run_service_iam_member", "ingest_invokers"),
        "alerts_extra_publisher": ("google_pubsub_topic_iam_member", "alerts_topic_publishers"),
    }
    for name, (rtype, variable) in by_name.items():
        assert f"var.{variable}" in expr(tf().resource(rtype, name)["for_each"])
    kubeconfig = tf().resource("google_secret_manager_secret_iam_member", "kubeconfig_accessor")
    assert expr(kubeconfig["for_each"]) == "var.clusters"


def test_public_ingest_is_opt_in():
    public = tf().resource("google_cloud_run_service_iam_member", "ingest_public_invoker")
    assert expr(public["count"]) == "var.ingest_public ? 1 : 0"
    assert tf().default("ingest_public") is False
    # The responder is never public, whatever its ingress.
    responder_members = {
        member
        for rtype, target, _, member in iam_bindings(tf())
        if target == "google_cloudfunctions2_function.responder.name"
    }
    assert responder_members == {"google_service_account.push.member"}


# --- secrets ------------------------------------------------------------------------


def test_secrets_are_containers_without_versions():
    assert not tf().of_type("google_secret_manager_secret_version")
    assert not example().of_type("google_secret_manager_secret_version")
    secrets = tf().of_type("google_secret_manager_secret")
    assert set(secrets) == {"ingest_token", "kubeconfig"}
    assert expr(secrets["kubeconfig"]["for_each"]) == "var.clusters"
    for body in secrets.values():
        assert "auto" in block(body, "replication")
    assert tf().evaluate(secrets["ingest_token"]["secret_id"]) == "falco-ingest-token"


# --- monitoring and APIs -----------------------------------------------------------


def test_log_based_metrics_count_responder_outcomes():
    outcomes = tf().resource("google_logging_metric", "alert_outcomes")
    failures = tf().resource("google_logging_metric", "permanent_failures")
    assert tf().evaluate(outcomes["name"]) == "falco_responder/alert_outcomes"
    assert tf().evaluate(failures["name"]) == "falco_responder/permanent_failures"
    base_filter = tf().locals["responder_log_filter"]
    assert mentions(base_filter, 'jsonPayload.event="alert_outcome"')
    assert "${local.responder_logs}" in base_filter
    responder_logs = tf().locals["responder_logs"]
    assert mentions(responder_logs, 'resource.type="cloud_run_revision"')
    assert mentions(responder_logs, "local.responder_function_name")
    assert expr(outcomes["filter"]) == "local.responder_log_filter"
    assert mentions(failures["filter"], 'jsonPayload.decision="dead_letter"')
    assert {k: literal(v) for k, v in outcomes["label_extractors"].items()} == {
        "outcome": "EXTRACT(jsonPayload.outcome)",
        "decision": "EXTRACT(jsonPayload.decision)",
        "rule": "EXTRACT(jsonPayload.rule)",
        "policy_rule": "EXTRACT(jsonPayload.policy_rule)",
        "action": "EXTRACT(jsonPayload.action)",
    }
    assert {k: literal(v) for k, v in failures["label_extractors"].items()} == {
        "error_reason": "EXTRACT(jsonPayload.error_reason)",
    }
    labels = {
        literal(lab["key"]): literal(lab["description"])
        for lab in block(outcomes, "metric_descriptor")["labels"]
    }
    assert set(labels) == {"outcome", "decision", "rule", "policy_rule", "action"}
    # The fields the labels read are the outcome record's (action: log_outcome's own).
    assert {"outcome", "decision", "rule", "policy_rule"} <= set(OutcomeRecord.model_fields)
    # Every value the responder writes is documented, refusals apart from act.
    for decision in Decision:
        assert re.search(rf"\b{decision.value}\b", labels["decision"]), decision
    for outcome in Outcome:
        assert re.search(rf"\b{outcome.value}\b", labels["outcome"]), outcome


def test_dead_letter_backlog_raises_an_alert():
    policy = tf().resource("google_monitoring_alert_policy", "dead_letter_backlog")
    threshold = block(block(policy, "conditions"), "condition_threshold")
    assert "pubsub.googleapis.com/subscription/num_undelivered_messages" in threshold["filter"]
    assert "google_pubsub_subscription.dead_letter.name" in threshold["filter"]
    assert literal(threshold["comparison"]) == "COMPARISON_GT"
    assert expr(threshold["threshold_value"]) == "var.dead_letter_backlog_threshold"
    assert tf().default("dead_letter_backlog_threshold") == 0
    assert expr(policy["notification_channels"]) == "var.notification_channels"


def test_time_from_event_to_outcome_is_a_distribution_metric():
    metric = tf().resource("google_logging_metric", "event_to_outcome")
    assert tf().evaluate(metric["name"]) == "falco_responder/event_to_outcome_seconds"
    assert expr(metric["filter"]) == "local.responder_log_filter"
    field = "event_to_outcome_seconds"
    assert field in OutcomeRecord.model_fields
    assert literal(metric["value_extractor"]) == f"EXTRACT(jsonPayload.{field})"
    descriptor = block(metric, "metric_descriptor")
    assert literal(descriptor["value_type"]) == "DISTRIBUTION"
    assert literal(descriptor["metric_kind"]) == "DELTA"
    assert literal(descriptor["unit"]) == "s"
    buckets = block(block(metric, "bucket_options"), "exponential_buckets")
    # from 0.1 s to more than a day
    assert buckets["scale"] * buckets["growth_factor"] ** buckets["num_finite_buckets"] > 86400


# Each log-match alert policy, the line it matches, and the code that writes that line.
LOG_ALERTS = {
    "action_taken": ("alert_on_action_taken", f'jsonPayload.outcome="{Outcome.ACTED.value}"'),
    "action_failed": (
        "alert_on_action_failed",
        f'jsonPayload.error_reason="{ActionFailedError("", None).reason}"',
    ),
    "circuit_breaker_open": (
        "alert_on_circuit_breaker_open",
        f'jsonPayload.event="{CIRCUIT_BREAKER_OPEN}"',
    ),
    "isolation_leaks": ("alert_on_isolation_leaks", f'jsonPayload.event="{ISOLATION_LEAKS}"'),
    "protected_namespace_refused": (
        "alert_on_protected_namespace",
        f'jsonPayload.event="{PROTECTED_NAMESPACE_REFUSED}"',
    ),
}


def test_log_match_alert_policies_tell_of_actions_failures_and_rails():
    alerts = tf().locals["log_alerts"]
    assert set(alerts) == set(LOG_ALERTS)
    for name, (variable, match) in LOG_ALERTS.items():
        alert = alerts[name]
        assert expr(alert["enabled"]) == f"var.{variable}"
        # on by default: a security team wants to be told of each
        assert tf().default(variable) is True
        assert mentions(alert["filter"], match), (name, alert["filter"])
        assert "${local.responder_log" in alert["filter"]
        assert literal(alert["severity"]) in {"CRITICAL", "ERROR", "WARNING"}
    policy = tf().resource("google_monitoring_alert_policy", "log_match")
    assert "if var.enable_alert_policies && alert.enabled" in policy["for_each"]
    assert expr(policy["notification_channels"]) == "var.notification_channels"
    condition = block(block(policy, "conditions"), "condition_matched_log")
    assert expr(condition["filter"]) == "each.value.filter"
    assert literal(condition["label_extractors"]["alert_id"]) == "EXTRACT(jsonPayload.alert_id)"
    limit = block(block(policy, "alert_strategy"), "notification_rate_limit")
    assert expr(limit["period"]) == "var.log_alert_notification_period"
    assert tf().default("log_alert_notification_period") == "300s"


def test_the_dashboard_shows_the_pipeline_from_alert_to_action():
    dashboard = tf().resource("google_monitoring_dashboard", "responder")
    assert expr(dashboard["count"]) == "var.enable_dashboard ? 1 : 0"
    assert tf().default("enable_dashboard") is True
    charts = "\n".join(
        " ".join([literal(chart["filter"]), *map(literal, chart["by"])])
        for chart in tf().locals["dashboard_charts"]
    )
    for shown in (
        "pubsub.googleapis.com/topic/send_message_operation_count",
        "google_logging_metric.alert_outcomes.name",
        'metric.label."outcome"',
        'metric.label."rule"',
        'metric.label."action"',
        "pubsub.googleapis.com/subscription/num_undelivered_messages",
        "local.dead_letter_subscription_name",
        "pubsub.googleapis.com/subscription/oldest_unacked_message_age",
        "local.push_subscription_name",
    ):
        assert shown in charts, shown
    assert "google_logging_metric.event_to_outcome.name" in tf().locals["latency_filter"]
    assert "REDUCE_PERCENTILE_${percentile}" in dashboard["dashboard_json"]


def test_apis_are_enabled_but_never_disabled_on_destroy():
    apis = tf().resource("google_project_service", "apis")
    assert apis["disable_on_destroy"] is False
    listed = tf().locals["apis"]
    for api in (
        "cloudfunctions",
        "run",
        "cloudbuild",
        "artifactregistry",
        "pubsub",
        "secretmanager",
        "logging",
        "monitoring",
    ):
        assert f"{api}.googleapis.com" in listed
    assert "eventarc.googleapis.com" not in listed


def test_outputs_include_the_falcosidekick_values_without_the_token():
    outputs = tf().outputs
    for name in ("ingest_url", "alerts_topic_id", "dead_letter_topic_id", "responses_topic_id"):
        assert name in outputs
    # the deploy/helm files filled in per cluster (tests/unit/test_helm_values.py); the
    # token comes from a Kubernetes secret those files name, never from Terraform
    for name in ("falcosidekick_helm_values", "falcosidekick_helm_values_gcppubsub"):
        assert "templatefile(" in outputs[name]["value"]
    assert "secret_data" not in str(outputs)


# --- the user's policy ------------------------------------------------------------------


def responder_service() -> dict[str, Any]:
    return block(tf().resource("google_cloudfunctions2_function", "responder"), "service_config")


def test_the_policy_ships_in_the_responder_archive_and_policy_file_names_it():
    assert literal(tf().locals["policy_archive_path"]) == "policy.yaml"
    env = responder_service()["environment_variables"]
    assert expr(env["POLICY_FILE"]) == "local.policy_archive_path"
    # the user's file, else the repository's policy
    assert expr(tf().locals["policy_text"]) == (
        'file(coalesce(var.policy_file, "${local.repo_root}/responder/policy.yaml"))'
    )
    extra = tf().locals["function_extra_files"]
    assert extra["ingest"] == {}, "a policy change must not redeploy ingest"
    assert extra["responder"] == {"${(local.policy_archive_path)}": "${local.policy_text}"}
    # the archive's object is named by its MD5: a policy change redeploys the responder
    obj = tf().resource("google_storage_bucket_object", "function_source")
    assert "data.archive_file.function[each.key].output_md5" in obj["name"]


def test_the_policy_file_variable_refuses_a_missing_file_or_non_mapping():
    conditions = [v["condition"] for v in tf().variables["policy_file"]["validation"]]
    assert "${var.policy_file == null || try(fileexists(var.policy_file), false)}" in conditions
    assert any("yamldecode(file(var.policy_file))" in c for c in conditions)


def test_google_identity_clusters_must_be_named_so_in_the_policy():
    misses = tf().locals["policy_misses_google_identity"]
    assert "cluster.google_identity" in misses
    assert "try(local.policy.clusters[name].google_identity, false)" in misses
    assert expr(tf().locals["policy"]) == "yamldecode(local.policy_text)"
    lifecycle = tf().resource("google_cloudfunctions2_function", "responder")["lifecycle"][0]
    conditions = [expr(p["condition"]) for p in lifecycle["precondition"]]
    assert "length(local.policy_misses_google_identity) == 0" in conditions
    # the block to paste: each secret, with google_identity where asked for
    output = str(tf().outputs["policy_clusters"]["value"])
    assert "google_identity = true" in output and "var.clusters[name].google_identity" in output


# --- reaching private clusters ------------------------------------------------------------


def test_direct_vpc_egress_only_when_a_network_is_given():
    service = responder_service()
    assert expr(tf().locals["responder_vpc"]) == (
        "var.responder_network != null || var.responder_subnetwork != null"
    )
    assert expr(service["direct_vpc_egress"]) == (
        "local.responder_vpc ? var.responder_vpc_egress : null"
    )
    (dynamic,) = service["dynamic"]
    interface = dynamic["direct_vpc_network_interface"]
    assert expr(interface["for_each"]) == "local.responder_vpc ? [1] : []"
    assert interface["content"] == [
        {"network": "${var.responder_network}", "subnetwork": "${var.responder_subnetwork}"}
    ]
    # no Serverless VPC Access connector: Direct VPC egress needs none
    assert "vpc_connector" not in service
    assert tf().default("responder_network") is None
    assert tf().default("responder_subnetwork") is None
    assert tf().default("responder_vpc_egress") == "VPC_EGRESS_PRIVATE_RANGES_ONLY"
    (validation,) = tf().variables["responder_vpc_egress"]["validation"]
    assert "VPC_EGRESS_ALL_TRAFFIC" in validation["condition"]
    # test_terraform_schema.py: the field exists at the pin's lower bound (7.21.0)


def test_a_push_filter_is_refused_with_gcppubsub_publishers():
    push = tf().resource("google_pubsub_subscription", "responder_push")
    conditions = [expr(p["condition"]) for p in push["lifecycle"][0]["precondition"]]
    assert (
        "var.push_subscription_filter == null || length(var.alerts_topic_publishers) == 0"
        in conditions
    )


# --- the example: a team's own repository ---------------------------------------------------


def test_the_example_ships_its_own_policy():
    (module,) = _example_module_calls()
    assert literal(module["policy_file"]) == "${path.module}/policy.yaml"
    assert (EXAMPLE / "policy.yaml").is_file()
    for name in ("responder_network", "responder_subnetwork"):
        assert module[name] == f"${{var.{name}}}"


def _example_module_calls() -> list[dict[str, Any]]:
    with (EXAMPLE / "main.tf").open() as handle:
        return [m for item in _clean(hcl2.load(handle)).get("module", []) for m in item.values()]


def test_the_example_policy_names_its_gke_identity_clusters():
    tfvars = hcl2.loads((EXAMPLE / "terraform.tfvars.example").read_text())
    project = literal(tfvars["project_id"])
    clusters = _clean(tfvars["clusters"])
    policy = yaml.safe_load((EXAMPLE / "policy.yaml").read_text())
    assert set(policy["clusters"]) == set(clusters)
    for name, settings in clusters.items():
        assert settings["google_identity"] is True
        assert policy["clusters"][name] == {
            "kubeconfig_secret": (
                f"projects/{project}/secrets/falco-kubeconfig-{name}/versions/latest"
            ),
            "google_identity": True,
        }
    assert example().default("clusters") == {"prod": {"google_identity": True}}


def test_the_example_policy_is_valid_and_its_ci_checks_it():
    from click.testing import CliRunner

    from falco_responder_cli.main import cli

    policy = EXAMPLE / "policy.yaml"
    validated = CliRunner().invoke(cli, ["policy", "validate", str(policy)])
    assert validated.exit_code == 0, validated.output
    # rbac.yaml, what the team applied, is what the policy needs (the CI's diff is empty)
    rbac = CliRunner().invoke(cli, ["policy", "rbac", str(policy)])
    assert rbac.stdout == (EXAMPLE / "rbac.yaml").read_text()
    workflow = yaml.safe_load((EXAMPLE / "policy-ci.yml").read_text())
    runs = [step["run"] for step in workflow["jobs"]["validate"]["steps"] if "run" in step]
    assert "falco-responder policy validate policy.yaml" in runs
    assert "falco-responder policy rbac policy.yaml | diff -u rbac.yaml -" in runs
    # admission.yaml likewise, for the example's project (the CI's command, run here)
    [check] = [run for run in runs if run.startswith("falco-responder policy admission")]
    command, diff = check.split(" | ")
    assert diff == "diff -u admission.yaml -"
    arguments = [str(policy) if a == "policy.yaml" else a for a in command.split()[1:]]
    tfvars = hcl2.loads((EXAMPLE / "terraform.tfvars.example").read_text())
    assert f"@{literal(tfvars['project_id'])}." in command
    admission = CliRunner().invoke(cli, arguments)
    assert admission.exit_code == 0, admission.output
    assert admission.stdout == (EXAMPLE / "admission.yaml").read_text()
    # PyYAML reads the workflow's `on:` key as True
    paths = ["policy.yaml", "rbac.yaml", "admission.yaml"]
    assert workflow[True]["pull_request"]["paths"] == paths


def _table_names(markdown: str, heading: str) -> set[str]:
    """The backticked names in the first column of the table under `heading`."""
    section = markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row)}


def test_the_module_readme_lists_every_input_and_output():
    readme = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    assert _table_names(readme, "Inputs") == set(tf().variables)
    assert _table_names(readme, "Outputs") == set(tf().outputs)


def test_the_example_sets_only_variables_that_exist():
    tfvars = (EXAMPLE / "terraform.tfvars.example").read_text(encoding="utf-8")
    # commented-out settings too: a user uncomments them
    assigned = set(re.findall(r"^(?:# )?(\w+) *=", tfvars, re.MULTILINE))
    assert assigned <= set(example().variables), assigned - set(example().variables)
    (module,) = _example_module_calls()
    assert set(module) - {"source"} <= set(tf().variables)
    for output in example().outputs.values():
        referenced = re.fullmatch(r"\$\{module\.falco_responder\.(\w+)\}", output["value"])
        assert referenced and referenced[1] in tf().outputs, output["value"]


def test_every_terraform_output_the_docs_run_exists_in_the_example():
    # The deploy path runs `terraform output` in the team's copy of the example.
    docs = [
        "README.md",
        "docs/deploy.md",
        "deploy/README.md",
        "terraform/examples/basic/README.md",
    ]
    text = "".join((TERRAFORM.parent / doc).read_text(encoding="utf-8") for doc in docs)
    named = set(re.findall(r"terraform output(?: -raw| -json)? (\w+)", text))
    named |= set(re.findall(r"`(falcosidekick_helm_values\w*)`", text))
    assert named, "the docs run terraform output"
    assert named <= set(example().outputs), named - set(example().outputs)
