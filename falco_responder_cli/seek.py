"""`seek`: rewind the responder's subscription to a time or a snapshot, or take a snapshot.

Seeking changes what counts as acknowledged: messages published before the target
(time, or the snapshot's moment) and not kept by it are marked acked, everything after
is delivered again. So take a snapshot before a risky change, seek back to it if the
change goes wrong, and let the responder's idempotence absorb the redeliveries.
"""

from datetime import UTC, datetime, timedelta

import click
from google.cloud import pubsub_v1
from google.protobuf import timestamp_pb2

from falco_responder_cli.common import project_option, pubsub_errors, resource_path
from falco_responder_cli.durations import Duration, Rfc3339
from shared import config
from shared.envelope import rfc3339

RETENTION_WARNING = (
    "warning: {subscription} does not retain acknowledged messages "
    "(retain_acked_messages is false): messages already acked before now are redelivered "
    "only if the topic's own retention keeps them. A snapshot taken before a change "
    "always brings back what was unacked then."
)


def seek_target(to_time: datetime | None, ago: timedelta | None, now: datetime) -> datetime:
    """The moment to seek to; never in the future, which would ack the whole backlog."""
    moment = to_time if to_time is not None else now - (ago or timedelta())
    if moment > now:
        raise click.BadParameter(
            f"{rfc3339(moment)} is in the future: seeking there would mark every pending "
            "alert as acknowledged",
            param_hint="--to-time",
        )
    return moment


def retains_acked(subscriber: pubsub_v1.SubscriberClient, subscription: str) -> bool:
    """Whether seeking to a past time can bring back messages already acked."""
    found = subscriber.get_subscription(request={"subscription": subscription})
    return bool(found.retain_acked_messages)


def seek(subscriber: pubsub_v1.SubscriberClient, subscription: str, target: datetime | str) -> None:
    """To a time: messages published after it (and retained) become unacked, those before
    acked. To a snapshot (its path): acknowledgements become what they were when it was taken.
    """
    if isinstance(target, str):
        subscriber.seek(request={"subscription": subscription, "snapshot": target})
        return
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(target.astimezone(UTC))
    subscriber.seek(request={"subscription": subscription, "time": stamp})


def create_snapshot(
    subscriber: pubsub_v1.SubscriberClient, subscription: str, snapshot: str
) -> datetime | None:
    """Snapshot the subscription's acknowledgement state; returns when the snapshot expires."""
    created = subscriber.create_snapshot(request={"name": snapshot, "subscription": subscription})
    return created.expire_time or None


@click.command("seek", short_help="Rewind a subscription, or snapshot it.")
@project_option
@click.option(
    "--subscription",
    default=config.RESPONDER_PUSH_SUBSCRIPTION,
    show_default=True,
    help="Subscription to rewind (id or full path).",
)
@click.option("--to-time", type=Rfc3339(), help="Seek to this RFC 3339 time.")
@click.option("--ago", type=Duration(), help="Seek to this long ago, e.g. 30m, 2h, 7d.")
@click.option("--snapshot", help="Seek to this snapshot (id or full path).")
@click.option(
    "--create-snapshot",
    "new_snapshot",
    metavar="NAME",
    help="Instead of seeking, snapshot the subscription now: do this before a risky change.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation before seeking.")
def seek_command(
    project: str,
    subscription: str,
    to_time: datetime | None,
    ago: timedelta | None,
    snapshot: str | None,
    new_snapshot: str | None,
    yes: bool,
) -> None:
    """Rewind a subscription (default: the responder's) so alerts are delivered again.

    Before a risky change (a new policy, a new responder version), run
    `seek --create-snapshot NAME`; if the change goes wrong, fix it and run
    `seek --snapshot NAME` to have the alerts since then delivered again.

    Seeking marks messages published before the target as acknowledged: a backlog older
    than the target is dropped from the subscription. Hence the confirmation.
    """
    given = {
        "--to-time": to_time,
        "--ago": ago,
        "--snapshot": snapshot,
        "--create-snapshot": new_snapshot,
    }
    chosen = [name for name, value in given.items() if value is not None]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --to-time, --ago, --snapshot, --create-snapshot"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    subscription_path = resource_path(project, "subscriptions", subscription)
    with pubsub_errors(f"seek on {subscription_path}"), pubsub_v1.SubscriberClient() as subscriber:
        if new_snapshot is not None:
            snapshot_path = resource_path(project, "snapshots", new_snapshot)
            expires = create_snapshot(subscriber, subscription_path, snapshot_path)
            until = f", expires {rfc3339(expires)}" if expires else ""
            click.echo(f"created snapshot {snapshot_path} of {subscription_path}{until}")
            return
        target: datetime | str
        if snapshot is not None:
            target = resource_path(project, "snapshots", snapshot)
            shown = target
        else:
            target = seek_target(to_time, ago, datetime.now(UTC))
            shown = rfc3339(target)
            if not retains_acked(subscriber, subscription_path):
                click.echo(RETENTION_WARNING.format(subscription=subscription_path), err=True)
        if not yes:
            click.confirm(f"seek {subscription_path} to {shown}?", abort=True, err=True)
        seek(subscriber, subscription_path, target)
        click.echo(f"seeked {subscription_path} to {shown}")
