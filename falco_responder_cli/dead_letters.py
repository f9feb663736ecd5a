"""`dead-letters`: what is in the dead-letter subscription, by reason, without consuming it."""

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click
from google.cloud import pubsub_v1

from falco_responder_cli.common import project_option, pubsub_errors, resource_path
from falco_responder_cli.dead_lettered import reason_of, rule_of
from falco_responder_cli.lease_marker import held_elsewhere_warning
from falco_responder_cli.pulling import Lease, Pulled
from shared import config
from shared.envelope import ERROR_DETAIL, rfc3339


@dataclass
class ReasonGroup:
    """The dead-lettered messages sharing one error_reason."""

    reason: str
    count: int
    oldest: datetime
    newest: datetime
    sample_detail: str | None = None
    rules: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, times in RFC 3339."""
        return {
            "reason": self.reason,
            "count": self.count,
            "oldest": rfc3339(self.oldest),
            "newest": rfc3339(self.newest),
            "sample_detail": self.sample_detail,
            "rules": sorted(self.rules),
        }


def group_by_reason(messages: Iterable[Pulled]) -> list[ReasonGroup]:
    """One group per reason, the largest first (ties by name)."""
    groups: dict[str, ReasonGroup] = {}
    for message in messages:
        reason = reason_of(message.attributes)
        group = groups.get(reason)
        if group is None:
            group = groups[reason] = ReasonGroup(
                reason, 0, message.publish_time, message.publish_time
            )
        group.count += 1
        group.oldest = min(group.oldest, message.publish_time)
        group.newest = max(group.newest, message.publish_time)
        group.sample_detail = group.sample_detail or message.attributes.get(ERROR_DETAIL)
        rule = rule_of(message.data, message.attributes)
        if rule:
            group.rules.add(rule)
    return sorted(groups.values(), key=lambda g: (-g.count, g.reason))


def render_text(subscription: str, groups: list[ReasonGroup]) -> str:
    """A short report per reason, for a person."""
    total = sum(g.count for g in groups)
    lines = [f"{subscription}: {total} message{'' if total == 1 else 's'}"]
    for g in groups:
        lines += [
            f"\n{g.reason}: {g.count}",
            f"  oldest:  {rfc3339(g.oldest)}",
            f"  newest:  {rfc3339(g.newest)}",
            f"  rules:   {', '.join(sorted(g.rules)) or '-'}",
            f"  example: {g.sample_detail or '-'}",
        ]
    return "\n".join(lines)


@click.command("dead-letters", short_help="Summarise the dead-letter queue by reason.")
@project_option
@click.option(
    "--subscription",
    default=config.DEAD_LETTER_SUBSCRIPTION,
    show_default=True,
    help="Dead-letter subscription to inspect (id or full path).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def dead_letters_command(project: str, subscription: str, as_json: bool) -> None:
    """Summarise the dead-letter subscription by error_reason, consuming nothing.

    Every message is pulled, counted once (by message id) and released at once when
    done (ack deadline 0): nothing is acked. Messages Pub/Sub dead-lettered after the
    maximum delivery attempts show as 'delivery_attempts_exhausted'.
    """
    path = resource_path(project, "subscriptions", subscription)
    with (
        pubsub_errors(f"reading {path}"),
        pubsub_v1.SubscriberClient() as subscriber,
        Lease(subscriber, path) as lease,
    ):
        if warning := held_elsewhere_warning(lease.others, path):
            click.echo(warning, err=True)
        groups = group_by_reason(m for batch in lease.batches() for m in batch)
    if as_json:
        total = sum(g.count for g in groups)
        document = {
            "subscription": path,
            "total": total,
            "reasons": [g.as_dict() for g in groups],
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(render_text(path, groups))
