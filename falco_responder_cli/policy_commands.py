"""`policy validate`, `explain`, `rbac`, `admission` and `actions`: check a policy, see what
it does, what it needs, what the cluster should hold the responder to, and what a rule
can do.

`explain` runs the responder's own decision and rails (responder.handler.Responder,
read-only), so what it prints is what the responder would do, not a second opinion.
"""

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import yaml
from kubernetes import client
from kubernetes import config as kube_config

from falco_responder_cli import action_catalog
from responder import admission, bindings
from responder.actions import KubeApis
from responder.actions.pod import EvictPod
from responder.decision import plan
from responder.handler import DEFAULT_POLICY_FILE, Responder, Settings
from responder.outcome import Decision, Outcome, OutcomeRecord
from responder.policy import Policy, PolicyError, Rule
from responder.rbac import manifests, rule_safeties
from responder.startup import load_served_policy
from shared import config
from shared.alert import FalcoAlert, parse_alert
from shared.errors import InvalidAlertError, PermanentError, TransientError

OFFLINE_RAILS = "protected namespaces, alert age, future dates, cluster"
CLUSTER_RAILS = (
    "and, read from the cluster: replacement pods, opt-out labels, owners, "
    "min_healthy_replicas, the circuit breaker"
)


def read_policy(path: Path) -> Policy:
    """The validated policy as the responder would serve it (with CLUSTER_NAME and checked
    against RESPONDER_MEMORY when set), or a ClickException saying what is at fault."""
    try:
        return load_served_policy(path)
    except (PolicyError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def cluster_warning(policy: Policy) -> str | None:
    """Why the policy cannot tell one cluster's alerts from another's, or None."""
    if policy.clusters or policy.cluster_name is not None:
        return None
    return (
        "warning: the policy names no cluster (cluster_name, clusters, or CLUSTER_NAME): "
        f"an alert naming one in output field {policy.cluster_field!r} is refused, and one "
        "naming none is acted on whichever cluster's Falco sent it"
    )


def tenant_escape_warnings(policy: Policy) -> list[str]:
    """How a tenant with `edit` can step around each rule that does not name its namespaces.

    `edit` may label its pods, create DaemonSets, StatefulSets, bare pods, one-replica
    workloads and PodDisruptionBudgets: a rail sparing any of these lets a tenant choose
    to be spared, and a budget allowing no disruption holds an eviction back for good.
    A rule whose `match.namespaces.include` names its namespaces, each by its exact name,
    is left to its author; a glob (`team-*`) names namespaces nobody has made yet.
    """
    warnings = []
    for rule, safety in zip(policy.rules, rule_safeties(policy), strict=True):
        named = rule.match.namespaces.include if rule.match.namespaces else []
        if named and not any(set(pattern) & set("*?[") for pattern in named):
            continue
        escapes = []
        if safety.allow_pod_opt_out:
            escapes.append(f"label its pod {safety.opt_out_label}=true (allow_pod_opt_out)")
        if any(a.destructive for a in rule.actions) and safety.owner_rails:
            escapes.append(f"give its workload the shape {', '.join(safety.owner_rails)} spares")
        if any(isinstance(a, EvictPod) for a in rule.actions):
            escapes.append("create a PodDisruptionBudget that allows no eviction (evict_pod)")
        if escapes:
            warnings.append(
                f"warning: rule {rule.name!r}: a tenant with `edit` in a namespace it matches can "
                f"{'; or '.join(escapes)}; name the namespaces where none can, without globs "
                "(match.namespaces.include), or turn those settings off (delete_pod with no "
                "owner-aware rail, no allow_pod_opt_out)"
            )
    return warnings


# The API server refuses a ConfigMap over 1 MiB (pkg/apis/core/validation, ValidateConfigMap);
# a counted change, `"namespace:pod/UID": "time"`, takes about 100 bytes of it.
CONFIGMAP_MAX_BYTES = 1024 * 1024
COUNTED_CHANGE_BYTES = 100


def breaker_capacity_warnings(policy: Policy) -> list[str]:
    """Where the breakers counting in one ConfigMap could, at their limits, fill it.

    A change stays counted until the longest window counting there has passed, so each
    breaker may hold its `max_actions` for every one of its windows in that time.
    """
    breakers = {
        (b.namespace, b.max_actions, b.window)
        for b in (s.circuit_breaker for s in (policy.safety, *rule_safeties(policy)))
        if b is not None
    }
    warnings = []
    for namespace, longest in policy.breaker_windows().items():
        most = sum(
            actions * math.ceil(longest / window)
            for where, actions, window in breakers
            if where == namespace
        )
        if most * COUNTED_CHANGE_BYTES > CONFIGMAP_MAX_BYTES:
            warnings.append(
                f"warning: the circuit breaker's count in namespace {namespace} may hold up to "
                f"{most} changes (max_actions for each window in {longest}); past about "
                f"{CONFIGMAP_MAX_BYTES // COUNTED_CHANGE_BYTES} its ConfigMap is over the API "
                "server's 1 MiB limit, and every destructive action fails, dead-lettered, "
                "until changes leave the window: lower max_actions or the windows"
            )
    return warnings


def read_alert(name: str) -> FalcoAlert:
    """The alert in file `name` (`-`: stdin), or a ClickException saying what is wrong."""
    with click.open_file(name, "rb") as stream:
        data = stream.read()
    try:
        return parse_alert(data)
    except InvalidAlertError as exc:
        where = "stdin" if name == "-" else name
        raise click.ClickException(f"alert {where}: {exc.reason}: {exc.detail}") from None


def protected_namespaces(policy: Policy, rules: list[Rule]) -> dict[str, Any]:
    """The effective protected namespaces: the policy's, and each rule's that differs."""
    default = policy.safety.effective_protected_namespaces
    by_rule = {
        r.name: effective
        for r in rules
        if (effective := policy.safety.overridden_by(r.safety).effective_protected_namespaces)
        != default
    }
    return {"policy": default, "rules": by_rule}


def read_only_apis(kubeconfig: Path | None, context: str | None) -> KubeApis:
    """Clients for the cluster of a kubeconfig (default: $KUBECONFIG, ~/.kube/config)."""
    configuration = client.Configuration()
    # Read now: the client library reads $KUBECONFIG once, when it is imported.
    path = str(kubeconfig) if kubeconfig else config.env(config.KUBECONFIG)
    try:
        kube_config.load_kube_config(
            config_file=path,
            context=context,
            client_configuration=configuration,
        )
    except (kube_config.ConfigException, OSError) as exc:
        raise click.ClickException(f"cannot load the kubeconfig: {exc}") from None
    configuration.retries = False
    return KubeApis(client.ApiClient(configuration))


def evaluate(
    policy: Policy,
    alert: FalcoAlert,
    dry_run: bool,
    apis: Callable[[str | None], KubeApis] | None,
    policy_file: Path,
) -> OutcomeRecord:
    """What the responder would do with the alert now, read-only; a dead letter as a record."""
    settings = Settings(
        dead_letter_topic="",
        responses_topic=None,
        policy_file=policy_file,
        dry_run=dry_run,
        kube_timeout=config.DEFAULT_KUBE_TIMEOUT_SECONDS,
    )
    responder = Responder(settings, policy, apis, read_only=True)
    try:
        return responder.evaluate(alert)
    except PermanentError as exc:
        return OutcomeRecord(
            alert_id=alert.alert_id,
            decision=Decision.DEAD_LETTER,
            outcome=Outcome.DEAD_LETTERED,
            reason=exc.detail,
            error_reason=exc.reason,
        )
    except TransientError as exc:
        raise click.ClickException(f"cannot check against the cluster: {exc}") from None


def explanation(
    policy: Policy, alert: FalcoAlert, record: OutcomeRecord, cluster_checked: bool
) -> dict[str, Any]:
    """The responder's evaluation as plain values: what it would do, and why."""
    pod = alert.pod
    try:
        rules = list(plan(policy, alert).rules)
    except PermanentError:
        rules = []
    parameters = [
        {"rule": r.name, **a.model_dump(exclude={"continue_on_failure"})}
        for r in rules
        for a in r.actions
    ]
    results = record.actions or [None] * len(parameters)
    return {
        "alert_id": alert.alert_id,
        "rule": alert.rule,
        "priority": alert.priority.label,
        "pod": {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid} if pod else None,
        "cluster": record.cluster,
        "policy_rules": [r.name for r in rules],
        "decision": record.decision.value,
        "reason": record.reason,
        "error_reason": record.error_reason,
        "dry_run": record.dry_run,
        "cluster_checked": cluster_checked,
        "rails_checked": OFFLINE_RAILS + (f" {CLUSTER_RAILS}" if cluster_checked else ""),
        "protected_namespaces": protected_namespaces(policy, rules),
        "actions": [
            {**p, "outcome": r.outcome.value, "reason": r.reason} if r else p
            for p, r in zip(parameters, results, strict=True)
        ],
    }


def render_text(explained: dict[str, Any]) -> str:
    """The explanation for a person."""
    pod = explained["pod"]
    if pod:
        uid = pod["uid"] or "not in the alert"
        pod_text = f"pod/{pod['namespace']}/{pod['name']} (uid {uid})"
    else:
        pod_text = "-"
    decision = explained["decision"]
    if decision == "act":
        decision += " (dry run: check everything, change nothing)" if explained["dry_run"] else ""
    elif decision == "dead_letter":
        decision += f" ({explained['error_reason']}): {explained['reason']}"
    else:
        decision += f": {explained['reason']}"
    checked = explained["rails_checked"]
    if not explained["cluster_checked"]:
        checked += "; not the cluster (pass --kubeconfig or --context to check it, read-only)"
    protected = explained["protected_namespaces"]
    lines = [
        f"alert:     {explained['alert_id']}",
        f"rule:      {explained['rule']}",
        f"priority:  {explained['priority']}",
        f"pod:       {pod_text}",
        f"cluster:   {explained['cluster'] or '(single-cluster mode)'}",
        f"matches:   {', '.join(explained['policy_rules']) or '(no policy rule)'}",
        f"protected: {', '.join(protected['policy'])}",
        *(f"  [{rule}] protected: {', '.join(ns)}" for rule, ns in protected["rules"].items()),
        f"checked:   {checked}",
        f"decision:  {decision}",
    ]
    for action in explained["actions"]:
        params = " ".join(
            f"{k}={v}"
            for k, v in action.items()
            if k not in ("action", "rule", "outcome", "reason")
        )
        line = f"  - [{action['rule']}] {action['action']} {params}".rstrip()
        if "outcome" in action:
            line += f": {action['outcome']}: {action['reason']}"
        lines.append(line)
    return "\n".join(lines)


def rbac_yaml(policy: Policy) -> str:
    """What `policy rbac` prints: the least-privilege roles the policy needs, as YAML."""
    return yaml.safe_dump_all(manifests(policy), sort_keys=False)


def admission_yaml(policy: Policy, users: list[str], source: Path | str) -> str:
    """What `policy admission` prints for the responder's `users`; a ClickException naming
    the policy `source` if its rails would not compile on the API server."""
    try:
        documents = admission.manifests(policy, users)
    except admission.RailsError as exc:
        raise click.ClickException(
            f"policy {source}: cannot write its admission rails: {exc}"
        ) from None
    return admission.to_yaml(documents)


def _default_policy() -> Path:
    value = config.env(config.POLICY_FILE)
    return Path(value) if value else DEFAULT_POLICY_FILE


@click.group("policy")
def policy_group() -> None:
    """Check response policies before the responder loads them."""


@policy_group.command("validate", short_help="Validate a policy file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Validate a policy file as the responder does at start-up; exit 1 if it would refuse it.

    Prints the effective protected namespaces: the policy's, and each rule's that differs.
    """
    policy = read_policy(file)
    count = len(policy.rules)
    click.echo(f"valid: {count} rule{'' if count == 1 else 's'}")
    if warning := cluster_warning(policy):
        click.echo(warning, err=True)
    for warning in [*tenant_escape_warnings(policy), *breaker_capacity_warnings(policy)]:
        click.echo(warning, err=True)
    protected = protected_namespaces(policy, policy.rules)
    click.echo(f"protected namespaces: {', '.join(protected['policy'])}")
    for rule, names in protected["rules"].items():
        click.echo(f"  rule {rule}: {', '.join(names)}")


@policy_group.command("explain", short_help="Show what a policy does with an alert.")
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Policy file [default: ${config.POLICY_FILE}, else the responder's policy.yaml].",
)
@click.option(
    "--dry-run",
    is_flag=True,
    envvar=config.DRY_RUN,
    show_envvar=True,
    help="Explain as a responder running with DRY_RUN=true.",
)
@click.option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the cluster (read-only) and apply every rail [default: no cluster].",
)
@click.option("--context", help="The kubeconfig context to read (implies reading the cluster).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument(
    "alert_file",
    metavar="ALERT_JSON_FILE",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
def explain_command(
    policy_file: Path | None,
    dry_run: bool,
    kubeconfig: Path | None,
    context: str | None,
    as_json: bool,
    alert_file: str,
) -> None:
    """Show what the responder would do now with one alert (ALERT_JSON_FILE, or - for stdin).

    Runs the responder's own decision and rails. Without --kubeconfig or --context it
    applies the rails that need no cluster (protected namespaces, alert age, future
    dates, the cluster the alert names); with one, it also reads the pod, its namespace,
    its owner and the circuit breaker's count, and applies every rail. It never writes:
    an action that would run is shown as `dry_run`. Prints the decision (act, skip,
    refuse or dead_letter) and why, each action with its parameters and what would become
    of it, and the effective protected namespaces.
    """
    path = policy_file or _default_policy()
    policy = read_policy(path)
    alert = read_alert(alert_file)
    reads_cluster = kubeconfig is not None or context is not None
    apis = read_only_apis(kubeconfig, context) if reads_cluster else None
    record = evaluate(policy, alert, dry_run, (lambda _cluster: apis) if apis else None, path)
    explained = explanation(policy, alert, record, reads_cluster)
    click.echo(json.dumps(explained, indent=2) if as_json else render_text(explained))


@policy_group.command("rbac", short_help="Print the Kubernetes RBAC a policy needs.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def rbac_command(file: Path) -> None:
    """Print the least-privilege ClusterRole (and circuit-breaker Role) for FILE, as YAML.

    Bind it to the responder's identity (deploy/rbac/ shows how).
    """
    click.echo(rbac_yaml(read_policy(file)), nl=False)


@policy_group.command(
    "bindings", short_help="Print the responder's identity in the cluster and its bindings."
)
@click.option(
    "--mode",
    type=click.Choice(bindings.MODES),
    default=bindings.GKE_IDENTITY,
    show_default=True,
    help="gke-identity: bind the responder's Google service account; kubeconfig: create a "
    "ServiceAccount with a long-lived token and bind it.",
)
@click.option(
    "--google-identity",
    default=admission.DEFAULT_GOOGLE_IDENTITY,
    show_default=True,
    metavar="EMAIL",
    help="The responder's Google service account (--mode gke-identity; Terraform output "
    "service_accounts.responder).",
)
@click.option(
    "--service-account",
    default=admission.DEFAULT_SERVICE_ACCOUNT,
    show_default=True,
    metavar="NAMESPACE:NAME",
    help="The ServiceAccount to create (--mode kubeconfig).",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def bindings_command(mode: str, google_identity: str, service_account: str, file: Path) -> None:
    """Print, for FILE, the namespaces, the responder's identity and the bindings of the
    roles `policy rbac` prints, as YAML. Apply it before `policy rbac` (it creates the
    namespace the circuit breaker's Role lives in); deploy/README.md shows the order.
    """
    try:
        admission.service_account_user(service_account)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--service-account") from None
    documents = bindings.manifests(read_policy(file), mode, google_identity, service_account)
    click.echo(yaml.safe_dump_all(documents, sort_keys=False), nl=False)


@policy_group.command(
    "admission", short_help="Print the admission policy holding the responder to a policy."
)
@click.option(
    "--service-account",
    default=admission.DEFAULT_SERVICE_ACCOUNT,
    show_default=True,
    metavar="NAMESPACE:NAME",
    help="The responder's ServiceAccount (token mode, deploy/rbac/kubeconfig-mode.yaml).",
)
@click.option(
    "--google-identity",
    default=admission.DEFAULT_GOOGLE_IDENTITY,
    show_default=True,
    metavar="EMAIL",
    help="The responder's Google service account (GKE identity mode; Terraform output "
    "service_accounts.responder).",
)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def admission_command(service_account: str, google_identity: str, file: Path) -> None:
    """Print the ValidatingAdmissionPolicy and binding for FILE, as YAML.

    For the responder's identity (both modes), the API server then refuses any change in a
    namespace protected for every rule of the policy, and any change the policy's actions
    do not need. Apply it with the RBAC (`policy rbac`); deploy/README.md shows how.
    """
    try:
        user = admission.service_account_user(service_account)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--service-account") from None
    click.echo(admission_yaml(read_policy(file), [user, google_identity], file), nl=False)


@policy_group.command("actions", short_help="List the actions a policy rule can run.")
@click.option("--markdown", is_flag=True, help="The action table of docs/policy.md, as Markdown.")
def actions_command(markdown: bool) -> None:
    """List every action a rule's `actions:` can hold: what it does, its parameters and
    their defaults, whether it is destructive, the RBAC it needs, and an example entry.

    The RBAC is the action's own; every rule also reads the pod and its namespace, and
    destructive actions need more (`policy rbac` prints a policy's whole ClusterRole).
    """
    click.echo(action_catalog.markdown() if markdown else action_catalog.text(), nl=False)
