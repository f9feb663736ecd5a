"""`replay`: send dead-lettered alerts back to the alerts topic, losing none on the way.

A message is acked on the dead-letter subscription only after Pub/Sub confirmed its
republish, so an interrupted or failed replay leaves it where it was (at worst an alert
is delivered twice, which the responder's idempotence absorbs).
"""

import fnmatch
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
from google.cloud import pubsub_v1
from tqdm import tqdm

from falco_responder_cli.common import project_option, pubsub_errors, resource_path
from falco_responder_cli.dead_lettered import (
    reason_of,
    replay_count_of,
    republish_attributes,
    rule_of,
)
from falco_responder_cli.durations import Duration
from falco_responder_cli.lease_marker import ForeignLease, held_elsewhere, held_elsewhere_warning
from falco_responder_cli.pulling import BATCH_SIZE, Lease, Pulled
from shared import config
from shared.envelope import rfc3339
from shared.pubsub import PUBLISH_TIMEOUT_SECONDS

DEFAULT_MAX_REPLAYS = 3


@dataclass(frozen=True)
class ReplayFilter:
    """Which dead-lettered messages to replay; an empty filter takes every message."""

    reasons: frozenset[str] = frozenset()
    rules: tuple[str, ...] = ()
    older_than: timedelta | None = None
    newer_than: timedelta | None = None

    def matches(self, message: Pulled, now: datetime) -> bool:
        """All given conditions hold: reason, rule (globs, as in the policy), age."""
        if self.reasons and reason_of(message.attributes) not in self.reasons:
            return False
        if self.rules:
            rule = rule_of(message.data, message.attributes)
            if rule is None or not any(fnmatch.fnmatchcase(rule, p) for p in self.rules):
                return False
        age = now - message.publish_time
        if self.older_than is not None and age < self.older_than:
            return False
        return self.newer_than is None or age <= self.newer_than


@dataclass
class ReplaySummary:
    """What a run did (or, in a dry run, would do)."""

    replayed: list[Pulled] = field(default_factory=list)
    skipped: int = 0
    left: list[Pulled] = field(default_factory=list)
    # Other runs' holds when this one started (lease markers): messages it never saw.
    held_elsewhere: list[ForeignLease] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        """The one-line summary printed at the end."""
        verb = "would replay" if dry_run else "replayed"
        line = (
            f"{verb} {len(self.replayed)}, skipped (filtered) {self.skipped}, "
            f"left (too many replays) {len(self.left)}"
        )
        held = held_elsewhere(self.held_elsewhere)
        if held is not None:
            count, until = held
            line += f", not seen (held by another run until {rfc3339(until)}) up to {count}"
        return line


class ReplayError(Exception):
    """A republish failed; the summary says what was done before it."""

    def __init__(self, message: str, summary: ReplaySummary) -> None:
        super().__init__(message)
        self.summary = summary


def describe(message: Pulled) -> str:
    """One line naming a message: id, publish time, reason, rule, replays so far."""
    rule = rule_of(message.data, message.attributes) or "?"
    return (
        f"{message.message_id}  {rfc3339(message.publish_time)}  "
        f"reason={reason_of(message.attributes)}  rule={rule!r}  "
        f"replays={replay_count_of(message.attributes)}"
    )


def _republish(
    lease: Lease,
    publisher: pubsub_v1.PublisherClient,
    topic: str,
    batch: list[Pulled],
    summary: ReplaySummary,
) -> None:
    """Publish the whole batch, then ack exactly those Pub/Sub confirmed."""
    futures = [
        publisher.publish(topic, m.data, **republish_attributes(m.attributes)) for m in batch
    ]
    confirmed: list[Pulled] = []
    failure: str | None = None
    for message, future in zip(batch, futures, strict=True):
        try:
            future.result(timeout=PUBLISH_TIMEOUT_SECONDS)
        except Exception as exc:  # whatever the failure, the message stays and the run stops
            failure = failure or (
                f"republishing message {message.message_id} to {topic} failed: {exc}; "
                f"it stays in {lease.subscription}"
            )
        else:
            confirmed.append(message)
    lease.ack(confirmed)
    summary.replayed.extend(confirmed)
    if failure:
        raise ReplayError(failure, summary)


def replay(
    lease: Lease,
    publisher: pubsub_v1.PublisherClient,
    topic: str,
    select: ReplayFilter,
    max_replays: int = DEFAULT_MAX_REPLAYS,
    limit: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], object] = lambda n: None,
    now: datetime | None = None,
) -> ReplaySummary:
    """Replay matching messages from the lease's subscription to `topic`.

    Messages not taken (filtered out, replayed too often, past the limit, dry run) stay
    held until the lease closes, then return to the subscription unacked.
    """
    now = now or datetime.now(UTC)
    summary = ReplaySummary(held_elsewhere=lease.others)
    for batch in lease.batches(BATCH_SIZE):
        chosen: list[Pulled] = []
        for message in batch:
            if limit is not None and len(summary.replayed) + len(chosen) >= limit:
                break
            if not select.matches(message, now):
                summary.skipped += 1
            elif replay_count_of(message.attributes) >= max_replays:
                summary.left.append(message)
            else:
                chosen.append(message)
        if dry_run:
            summary.replayed.extend(chosen)
        elif chosen:
            _republish(lease, publisher, topic, chosen, summary)
        progress(len(chosen))
        if limit is not None and len(summary.replayed) >= limit:
            break
    return summary


@click.command("replay", short_help="Republish dead-lettered alerts to the alerts topic.")
@project_option
@click.option(
    "--subscription",
    default=config.DEAD_LETTER_SUBSCRIPTION,
    show_default=True,
    help="Dead-letter subscription to pull from (id or full path).",
)
@click.option(
    "--to-topic",
    default=config.DEFAULT_ALERTS_TOPIC,
    show_default=True,
    help="Topic to republish to (id or full path).",
)
@click.option(
    "--reason",
    "reasons",
    multiple=True,
    help="Only this error_reason (repeatable); messages Pub/Sub dead-lettered after the "
    "maximum delivery attempts have reason 'delivery_attempts_exhausted'.",
)
@click.option(
    "--rule",
    "rules",
    multiple=True,
    help="Only this Falco rule (repeatable, globs allowed): the rule attribute, else the "
    "rule in the alert.",
)
@click.option("--older-than", type=Duration(), help="Only messages dead-lettered this long ago.")
@click.option("--newer-than", type=Duration(), help="Only messages dead-lettered within this.")
@click.option("--limit", type=click.IntRange(min=1), help="Replay at most this many.")
@click.option(
    "--max-replays",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_REPLAYS,
    show_default=True,
    help="Leave in place (with a warning) messages already replayed this many times.",
)
@click.option("--dry-run", is_flag=True, help="List what would be replayed; change nothing.")
def replay_command(
    project: str,
    subscription: str,
    to_topic: str,
    reasons: tuple[str, ...],
    rules: tuple[str, ...],
    older_than: timedelta | None,
    newer_than: timedelta | None,
    limit: int | None,
    max_replays: int,
    dry_run: bool,
) -> None:
    """Move dead-lettered alerts back to the alerts topic once their cause is fixed.

    Each message is acked on the dead-letter subscription only after its republish is
    confirmed; everything else (filtered out, too many replays, a dry run, a failure)
    goes back to the subscription unacked. The republished message keeps its data and
    attributes, drops the dead-letter bookkeeping and carries replay_count + 1.

    Age is measured from when the message reached the dead-letter topic, e.g. 30m, 2h, 7d.
    """
    subscription_path = resource_path(project, "subscriptions", subscription)
    topic_path = resource_path(project, "topics", to_topic)
    select = ReplayFilter(frozenset(reasons), rules, older_than, newer_than)
    with (
        pubsub_errors(f"replay from {subscription_path} to {topic_path}"),
        pubsub_v1.SubscriberClient() as subscriber,
        Lease(subscriber, subscription_path) as lease,
        tqdm(total=limit, unit="msg", file=sys.stderr, disable=None, leave=False) as bar,
    ):
        if warning := held_elsewhere_warning(lease.others, subscription_path):
            click.echo(warning, err=True)
        try:
            summary = replay(
                lease,
                pubsub_v1.PublisherClient(),
                topic_path,
                select,
                max_replays=max_replays,
                limit=limit,
                dry_run=dry_run,
                progress=bar.update,
            )
        except ReplayError as exc:
            click.echo(exc.summary.line(dry_run), err=True)
            raise click.ClickException(str(exc)) from exc
    for message in summary.left:
        click.echo(
            f"warning: left in {subscription_path}, already replayed "
            f"--max-replays {max_replays} times: {describe(message)}",
            err=True,
        )
    if dry_run:
        for message in summary.replayed:
            click.echo(describe(message))
    click.echo(summary.line(dry_run))
