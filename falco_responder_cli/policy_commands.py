"""`policy validate`, `explain` and `rbac`: check a policy, see what it does, what it needs."""

import json
from pathlib import Path
from typing import Any

import click
import yaml

from responder.decision import Plan, plan
from responder.handler import DEFAULT_POLICY_FILE
from responder.policy import Policy, PolicyError, load_policy
from responder.rbac import manifests
from shared import config
from shared.alert import FalcoAlert, parse_alert
from shared.errors import InvalidAlertError, PermanentError


def read_policy(path: Path) -> Policy:
    """The validated policy, or a ClickException with the file, rule and field at fault."""
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def read_alert(name: str) -> FalcoAlert:
    """The alert in file `name` (`-`: stdin), or a ClickException saying what is wrong."""
    with click.open_file(name, "rb") as stream:
        data = stream.read()
    try:
        return parse_alert(data)
    except InvalidAlertError as exc:
        where = "stdin" if name == "-" else name
        raise click.ClickException(f"alert {where}: {exc.reason}: {exc.detail}") from None


def explanation(alert: FalcoAlert, decided: Plan) -> dict[str, Any]:
    """The plan as plain values: what the responder would do with the alert, and why."""
    pod = decided.pod
    return {
        "alert_id": alert.alert_id,
        "rule": alert.rule,
        "priority": alert.priority.label,
        "pod": {"namespace": pod.namespace, "name": pod.name, "uid": pod.uid} if pod else None,
        "cluster": decided.cluster,
        "policy_rules": [r.name for r in decided.rules],
        "decision": "act" if decided.acts else "skip",
        "skip_reason": decided.skip_reason,
        "actions": [
            {
                "rule": r.name,
                **a.model_dump(exclude={"continue_on_failure"}),
            }
            for r in decided.rules
            for a in r.actions
        ],
        "dry_run": decided.dry_run or any(r.dry_run for r in decided.rules),
    }


def render_text(explained: dict[str, Any]) -> str:
    """The explanation for a person."""
    pod = explained["pod"]
    if pod:
        uid = pod["uid"] or "not in the alert"
        pod_text = f"pod/{pod['namespace']}/{pod['name']} (uid {uid})"
    else:
        pod_text = "-"
    if explained["decision"] == "act":
        decision = "act" + (
            " (dry run: check everything, change nothing)" if explained["dry_run"] else ""
        )
    else:
        decision = f"skip: {explained['skip_reason']}"
    lines = [
        f"alert:     {explained['alert_id']}",
        f"rule:      {explained['rule']}",
        f"priority:  {explained['priority']}",
        f"pod:       {pod_text}",
        f"cluster:   {explained['cluster'] or '(single-cluster mode)'}",
        f"matches:   {', '.join(explained['policy_rules']) or '(no policy rule)'}",
        f"decision:  {decision}",
    ]
    for action in explained["actions"]:
        params = " ".join(f"{k}={v}" for k, v in action.items() if k not in ("action", "rule"))
        lines.append(f"  - [{action['rule']}] {action['action']} {params}".rstrip())
    return "\n".join(lines)


def _default_policy() -> Path:
    value = config.env(config.POLICY_FILE)
    return Path(value) if value else DEFAULT_POLICY_FILE


@click.group("policy")
def policy_group() -> None:
    """Check response policies before the responder loads them."""


@policy_group.command("validate", short_help="Validate a policy file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate_command(file: Path) -> None:
    """Validate a policy file as the responder does at start-up; exit 1 if it would refuse it."""
    count = len(read_policy(file).rules)
    click.echo(f"valid: {count} rule{'' if count == 1 else 's'}")


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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument(
    "alert_file",
    metavar="ALERT_JSON_FILE",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
def explain_command(
    policy_file: Path | None, dry_run: bool, as_json: bool, alert_file: str
) -> None:
    """Show what the policy does with one alert (ALERT_JSON_FILE, or - for stdin).

    Prints the alert id, rule, priority and pod, the policy rule that matches (or why
    the alert is skipped), the actions with their parameters, and whether it is a dry run.
    Nothing contacts the cluster.
    """
    policy = read_policy(policy_file or _default_policy())
    alert = read_alert(alert_file)
    try:
        decided = plan(policy, alert, dry_run=dry_run)
    except PermanentError as exc:
        raise click.ClickException(f"the responder would dead-letter it: {exc.detail}") from None
    explained = explanation(alert, decided)
    click.echo(json.dumps(explained, indent=2) if as_json else render_text(explained))


@policy_group.command("rbac", short_help="Print the Kubernetes RBAC a policy needs.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def rbac_command(file: Path) -> None:
    """Print the least-privilege ClusterRole (and circuit-breaker Role) for FILE, as YAML.

    Bind it to the responder's identity (deploy/rbac/ shows how).
    """
    click.echo(yaml.safe_dump_all(manifests(read_policy(file)), sort_keys=False), nl=False)
