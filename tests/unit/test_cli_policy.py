import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from falco_responder_cli.main import cli
from falco_responder_cli.sample_alerts import SAMPLE_ALERTS as FIXTURES
from localdev.local_stack.fixtures import falco_time, fixture
from responder.decision import NO_POD
from responder.handler import DEFAULT_POLICY_FILE, UNCHECKED
from responder.policy import BUILT_IN_PROTECTED_NAMESPACES

BUILT_IN = ", ".join(BUILT_IN_PROTECTED_NAMESPACES)
# The built-in list less `unprotect: [falco]`.
BUT_FALCO = ", ".join(n for n in BUILT_IN_PROTECTED_NAMESPACES if n != "falco")


def _run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def _fresh(fixture_name, age=timedelta(seconds=30), **fields):
    """The sample alert, seen `age` ago (the samples' own times are long past)."""
    alert = fixture(fixture_name)
    alert["time"] = falco_time(datetime.now(UTC) - age)
    alert["output_fields"].update(fields)
    return json.dumps(alert)


def _explain(fixture_name, *options, age=timedelta(seconds=30), **fields):
    result = _run(
        "policy",
        "explain",
        "--policy",
        DEFAULT_POLICY_FILE,
        "--json",
        *options,
        "-",
        input=_fresh(fixture_name, age, **fields),
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_repos_policy_is_valid():
    result = _run("policy", "validate", DEFAULT_POLICY_FILE)
    assert (result.exit_code, result.stdout) == (
        0,
        f"valid: 1 rule\nprotected namespaces: {BUILT_IN}\n",
    )


def test_validate_prints_the_effective_protected_namespaces(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "safety: {protected_namespaces: [payments]}\n"
        "rules:\n"
        "  - {name: a, match: {}, actions: [{action: delete_pod}]}\n"
        "  - {name: b, match: {}, safety: {unprotect: [falco]}, actions: [{action: delete_pod}]}\n"
    )
    result = _run("policy", "validate", path)
    assert result.stdout.splitlines() == [
        "valid: 2 rules",
        f"protected namespaces: {BUILT_IN}, payments",
        f"  rule b: {BUT_FALCO}, payments",
    ]


def test_explain_shows_the_effective_protected_namespaces_of_the_matching_rules(tmp_path):
    # Adding `payments` keeps the built-in names; a rule's `unprotect` shows as its own list.
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "safety: {protected_namespaces: [payments]}\n"
        "rules:\n"
        "  - {name: b, match: {}, safety: {unprotect: [falco]}, actions: [{action: delete_pod}]}\n"
    )
    explain = ["policy", "explain", "--policy", policy, "-"]
    alert = _fresh("terminal_shell_in_container", **{"k8s.ns.name": "payments"})
    explained = json.loads(_run(*explain[:2], "--json", *explain[2:], input=alert).stdout)
    assert explained["protected_namespaces"] == {
        "policy": [*BUILT_IN.split(", "), "payments"],
        "rules": {"b": [*BUT_FALCO.split(", "), "payments"]},
    }
    assert (explained["decision"], explained["reason"]) == (
        "refuse",
        "namespace payments is protected",
    )
    lines = _run(*explain, input=alert).stdout.splitlines()
    assert f"protected: {BUILT_IN}, payments" in lines
    assert f"  [b] protected: {BUT_FALCO}, payments" in lines


def test_an_invalid_policy_names_file_rule_and_field_and_exits_1(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "rules:\n  - name: shells\n    match: {priority: '>=Bogus'}\n"
        "    actions: [{action: delete_pod}]\n"
    )
    result = _run("policy", "validate", path)
    assert result.exit_code == 1
    assert f"policy {path}: rules[0] (shells).match.priority: unknown priority" in result.output


def test_a_missing_policy_file_is_an_error_not_a_traceback(tmp_path):
    result = _run("policy", "validate", tmp_path / "nope.yaml")
    assert result.exit_code == 1
    assert "cannot read: No such file or directory" in result.output


def test_explain_a_shell_in_a_pod_deletes_it_unless_the_cluster_says_no():
    assert _explain("terminal_shell_in_container") == {
        "alert_id": "5b1b0c6a-8a9b-4a63-9d1e-2f5d2a7c9e11",
        "rule": "Terminal shell in container",
        "priority": "Critical",
        "pod": {"namespace": "default", "name": "kubecon", "uid": None},
        "cluster": None,
        "policy_rules": ["kill-interactive-compromise"],
        "decision": "act",
        "reason": "policy rules kill-interactive-compromise",
        "error_reason": None,
        "dry_run": False,
        "cluster_checked": False,
        "rails_checked": "protected namespaces, alert age, future dates, cluster",
        "protected_namespaces": {"policy": BUILT_IN.split(", "), "rules": {}},
        "actions": [
            {
                "rule": "kill-interactive-compromise",
                "action": "delete_pod",
                "grace_period_seconds": 1,
                "outcome": "dry_run",
                "reason": UNCHECKED,
            }
        ],
    }


@pytest.mark.parametrize(
    ("options", "fields", "reason"),
    [
        ({}, {"k8s.ns.name": "kube-system"}, "namespace kube-system is protected"),
        # GKE's own, by the built-in glob gke-managed-* (the responder's guard, as the rails)
        ({}, {"k8s.ns.name": "gke-managed-foo"}, "namespace gke-managed-foo is protected"),
        ({"age": timedelta(days=2000)}, {}, "over max_alert_age 1:00:00: not acted on"),
        ({"age": -timedelta(hours=1)}, {}, "in the future (a clock off?)"),
    ],
)
def test_explain_refuses_what_the_responder_refuses_without_a_cluster(options, fields, reason):
    explained = _explain("terminal_shell_in_container", **options, **fields)
    assert explained["decision"] == "refuse"
    assert reason in explained["reason"]
    assert [a["outcome"] for a in explained["actions"]] == ["skipped"]


def test_explain_refuses_the_sample_alert_for_its_age():
    # The shipped sample was seen in 2023: the responder would not act on it today.
    result = _run("policy", "explain", "--json", FIXTURES / "terminal_shell_in_container.json")
    assert json.loads(result.stdout)["decision"] == "refuse"


def test_explain_refuses_an_alert_naming_another_cluster_than_cluster_name(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "cluster_name: prod-eu\nrules: [{name: r, match: {}, actions: [{action: delete_pod}]}]\n"
    )
    explain = ["policy", "explain", "--json", "--policy", policy, "-"]
    other = _run(*explain, input=_fresh("terminal_shell_in_container", cluster="prod-us"))
    explained = json.loads(other.stdout)
    assert explained["decision"] == "refuse"
    assert explained["reason"] == (
        "alert names cluster 'prod-us' in output field 'cluster'; "
        "this responder serves only 'prod-eu' (cluster_name): not acted on"
    )
    result = _run(*explain, input=_fresh("terminal_shell_in_container", cluster="prod-eu"))
    explained = json.loads(result.stdout)
    assert (explained["decision"], explained["cluster"]) == ("act", "prod-eu")


@pytest.mark.parametrize(
    ("fixture_name", "reason"),
    [
        ("sidekick_test_event", "Falcosidekick test event: the wiring works"),
        ("host_process_no_k8s", NO_POD),
        ("falco_041_container_plugin", "no policy rule matches"),
    ],
)
def test_explain_gives_the_skip_reason_and_no_actions(fixture_name, reason):
    explained = _explain(fixture_name)
    assert (explained["decision"], explained["reason"], explained["actions"]) == (
        "skip",
        reason,
        [],
    )


def test_explain_in_dry_run_from_the_flag_or_the_environment():
    assert _explain("terminal_shell_in_container", "--dry-run")["dry_run"] is True
    result = _run(
        "policy",
        "explain",
        "--json",
        "-",
        input=_fresh("terminal_shell_in_container"),
        env={"DRY_RUN": "true"},
    )
    assert json.loads(result.stdout)["dry_run"] is True


def test_explain_reads_the_alert_from_stdin_and_prints_text():
    alert = _fresh("terminal_shell_in_container")
    result = _run("policy", "explain", "--policy", DEFAULT_POLICY_FILE, "-", input=alert)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "pod:       pod/default/kubecon (uid not in the alert)" in lines
    assert "matches:   kill-interactive-compromise" in lines
    assert f"protected: {BUILT_IN}" in lines
    assert (
        "checked:   protected namespaces, alert age, future dates, cluster; not the cluster "
        "(pass --kubeconfig or --context to check it, read-only)"
    ) in lines
    assert "decision:  act" in lines
    assert (
        f"  - [kill-interactive-compromise] delete_pod grace_period_seconds=1: dry_run: {UNCHECKED}"
        in lines
    )


def test_explain_defaults_to_the_policy_file_the_responder_would_load(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "rules:\n  - name: api-contact\n    match: {rule: 'Contact K8S*'}\n"
        "    actions: [{action: delete_pod, grace_period_seconds: 5}]\n"
    )
    result = _run(
        "policy",
        "explain",
        "--json",
        "-",
        input=_fresh("falco_041_container_plugin"),
        env={"POLICY_FILE": str(policy)},
    )
    explained = json.loads(result.stdout)
    assert explained["policy_rules"] == ["api-contact"]
    assert explained["actions"] == [
        {
            "rule": "api-contact",
            "action": "delete_pod",
            "grace_period_seconds": 5,
            "outcome": "dry_run",
            "reason": UNCHECKED,
        }
    ]


def test_an_invalid_alert_says_why_and_exits_1():
    result = _run("policy", "explain", "-", input='{"rule": "x"}')
    assert result.exit_code == 1
    assert "alert stdin: invalid_alert: field 'output'" in result.output


def test_explain_names_every_rule_that_runs_when_rules_continue(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "rules:\n"
        "  - name: mark\n    match: {rule: 'Terminal*'}\n    continue: true\n"
        "    actions: [{action: label_pod, add: {suspicious: 'true'}}]\n"
        "  - name: kill\n    match: {priority: '>=Critical'}\n"
        "    actions: [{action: delete_pod}]\n"
        "  - name: never\n    match: {}\n    actions: [{action: cordon_node}]\n"
    )
    explained = _explain("terminal_shell_in_container", "--policy", str(policy))
    assert explained["policy_rules"] == ["mark", "kill"]
    assert [a["action"] for a in explained["actions"]] == ["label_pod", "delete_pod"]


def test_explain_an_alert_for_an_unknown_cluster_says_it_would_be_refused(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "clusters: {prod: {kubeconfig_context: prod}}\n"
        "rules: [{name: r, match: {}, actions: [{action: delete_pod}]}]\n"
    )
    result = _run(
        "policy", "explain", "--policy", policy, "-", input=_fresh("terminal_shell_in_container")
    )
    assert result.exit_code == 0, result.output
    assert (
        "decision:  refuse: alert names no cluster in output field "
        "'cluster'; the policy serves prod: not acted on"
    ) in result.stdout.splitlines()


def test_rbac_prints_the_least_privilege_roles_for_a_policy():
    result = _run("policy", "rbac", DEFAULT_POLICY_FILE)
    assert result.exit_code == 0, result.output
    cluster_role, breaker_role = yaml.safe_load_all(result.stdout)
    assert cluster_role["kind"] == "ClusterRole"
    rules = {
        (r["apiGroups"][0], res): r["verbs"]
        for r in cluster_role["rules"]
        for res in r["resources"]
    }
    assert rules[("", "pods")] == ["delete", "get", "patch"]
    assert breaker_role["metadata"]["namespace"] == "falco-responder"


def test_validate_warns_when_the_policy_cannot_tell_clusters_apart(tmp_path):
    result = _run("policy", "validate", DEFAULT_POLICY_FILE)
    assert result.stderr.startswith("warning: the policy names no cluster")
    named = tmp_path / "p.yaml"
    named.write_text("cluster_name: prod-eu\n")
    assert _run("policy", "validate", named).stderr == ""
    # as the responder would serve it: Terraform's CLUSTER_NAME names the cluster
    served = _run("policy", "validate", DEFAULT_POLICY_FILE, env={"CLUSTER_NAME": "prod-eu"})
    assert (served.exit_code, served.stderr) == (0, "")


def _validated(tmp_path: Path, policy: str) -> Result:
    """`policy validate` of `policy`, which it must accept (warnings aside)."""
    path = tmp_path / "p.yaml"
    path.write_text(policy)
    result = _run("policy", "validate", path)
    assert result.exit_code == 0, result.output
    return result


def test_validate_warns_of_each_way_a_tenant_can_step_around_a_rule(tmp_path):
    result = _validated(
        tmp_path,
        "cluster_name: prod\n"
        "safety: {ignore_daemonset_pods: true}\n"
        "rules:\n"
        "  - {name: kill, match: {}, actions: [{action: delete_pod}]}\n"
        "  - {name: scoped, match: {namespaces: {include: [monitoring]}}, "
        "actions: [{action: delete_pod}]}\n"
        "  - {name: globbed, match: {namespaces: {include: [team-*]}}, "
        "actions: [{action: delete_pod}]}\n"
        "  - {name: excluding, match: {namespaces: {exclude: [shop]}}, "
        "actions: [{action: delete_pod}]}\n"
        "  - {name: labels-only, match: {}, actions: [{action: label_pod, add: {a: b}}]}\n"
        "  - {name: keep-two, match: {}, safety: {ignore_daemonset_pods: false, "
        "min_healthy_replicas: 2, allow_pod_opt_out: true}, actions: [{action: evict_pod}]}\n"
        "  - {name: plain, match: {}, safety: {ignore_daemonset_pods: false}, "
        "actions: [{action: isolate_pod}, {action: delete_pod}]}\n",
    )
    advice = (
        "; name the namespaces where none can, without globs (match.namespaces.include), or "
        "turn those settings off (delete_pod with no owner-aware rail, no allow_pod_opt_out)"
    )
    tenant = "a tenant with `edit` in a namespace it matches can"
    shape = "give its workload the shape ignore_daemonset_pods spares"
    assert result.stderr.splitlines() == [
        f"warning: rule 'kill': {tenant} {shape}{advice}",
        f"warning: rule 'globbed': {tenant} {shape}{advice}",
        f"warning: rule 'excluding': {tenant} {shape}{advice}",
        f"warning: rule 'keep-two': {tenant} label its pod "
        "falco-responder/ignore=true (allow_pod_opt_out); or give its workload the shape "
        "min_healthy_replicas spares; or create a PodDisruptionBudget that allows no "
        f"eviction (evict_pod){advice}",
    ]
    # The repository's policy, and Terraform's example, give a tenant none of these.
    assert "tenant" not in _run("policy", "validate", DEFAULT_POLICY_FILE).stderr


def test_validate_refuses_captures_the_instance_memory_cannot_hold(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(
        "rules: [{name: keep, match: {}, actions: [{action: capture_evidence, "
        "max_total_bytes: 134217728}]}]\n"
    )
    refused = _run("policy", "validate", path, env={"RESPONDER_MEMORY": "512Mi", "THREADS": "4"})
    assert refused.exit_code == 1
    assert "rules (keep).capture_evidence: 4 captures at once may hold 520 MiB" in refused.output
    assert _run("policy", "validate", path, env={"RESPONDER_MEMORY": "1Gi"}).exit_code == 0


def test_validate_warns_where_the_breakers_could_fill_their_configmap(tmp_path):
    result = _validated(
        tmp_path,
        "cluster_name: prod\n"
        "safety: {circuit_breaker: {max_actions: 100, window: 1h}}\n"
        "rules:\n"
        "  - {name: fast, match: {rule: a}, actions: [{action: delete_pod}], "
        "safety: {circuit_breaker: {max_actions: 500, window: 1m}}}\n"
        "  - {name: apart, match: {rule: b}, actions: [{action: delete_pod}], "
        "safety: {circuit_breaker: {max_actions: 500, window: 1m, namespace: other}}}\n",
    )
    # 100 for the hour, and 500 for each of its 60 minutes; `other` holds only its own.
    assert result.stderr.splitlines() == [
        "warning: the circuit breaker's count in namespace falco-responder may hold up to "
        "30100 changes (max_actions for each window in 1:00:00); past about 10485 its "
        "ConfigMap is over the API server's 1 MiB limit, and every destructive action "
        "fails, dead-lettered, until changes leave the window: lower max_actions or the "
        "windows"
    ]
    assert "circuit breaker" not in _run("policy", "validate", DEFAULT_POLICY_FILE).stderr
