"""Lease markers: what a run of this command holds, so that the next run can say so.

Pub/Sub tells no other subscriber how many messages are leased: a run killed while it
held messages leaves them invisible until their ack deadline passes, and a run started
meanwhile would count them as gone. So every run keeps a marker file, one per run, in
this machine's configuration directory: the subscription, an upper bound of the
messages it holds, and when the last of its holds expires. A clean exit removes it; a
killed run's marker stays and is ignored once its time has passed. Runs on other
machines leave no marker here: their holds can only be waited out (HOLD_SECONDS).
"""

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

APP_NAME = "falco-responder"


def markers_dir() -> Path:
    """`$XDG_CONFIG_HOME/falco-responder/leases` (on Linux; click picks the platform's)."""
    return Path(click.get_app_dir(APP_NAME)) / "leases"


@dataclass(frozen=True)
class ForeignLease:
    """What another run holds: at most `count` messages, until `until` at the latest."""

    count: int
    until: datetime
    pid: int


class LeaseMarker:
    """This run's marker for one subscription; written as holds change, removed on close."""

    def __init__(self, subscription: str, directory: Path | None = None) -> None:
        self.subscription = subscription
        self.directory = directory or markers_dir()
        self.path = self.directory / f"{uuid.uuid4().hex}.json"
        self._until = datetime.min.replace(tzinfo=UTC)
        self._warned = False

    def others(self, now: datetime) -> list[ForeignLease]:
        """Markers of other runs on the same subscription whose holds may not have expired.

        Expired and unreadable markers are removed on the way: they say nothing any more.
        """
        found = []
        if not self.directory.is_dir():
            return found
        for path in self.directory.glob("*.json"):
            if path == self.path:
                continue
            try:
                document = json.loads(path.read_text())
                lease = ForeignLease(
                    int(document["count"]),
                    datetime.fromisoformat(document["until"]),
                    int(document["pid"]),
                )
                subscription = document["subscription"]
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)
                continue
            if lease.until <= now:
                path.unlink(missing_ok=True)
            elif subscription == self.subscription and lease.count > 0:
                found.append(lease)
        return found

    def mark(self, count: int, until: datetime) -> None:
        """At most `count` messages held, the last hold expiring by `until` (never earlier
        than what was marked before: holds already granted still run)."""
        self._until = max(self._until, until)
        document = {
            "subscription": self.subscription,
            "count": count,
            "until": self._until.isoformat(),
            "pid": os.getpid(),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".tmp")
            partial.write_text(json.dumps(document))
            partial.replace(self.path)  # atomic: a reader sees the old marker or the new one
        except OSError as exc:  # the run itself is unharmed; only the next one knows less
            if not self._warned:
                self._warned = True
                click.echo(
                    f"warning: cannot write the lease marker {self.path} ({exc}): if this "
                    "run is killed, the next one cannot say what it held",
                    err=True,
                )

    def remove(self) -> None:
        """Nothing held any more."""
        self.path.unlink(missing_ok=True)


def held_elsewhere(others: list[ForeignLease]) -> tuple[int, datetime] | None:
    """At most how many messages other runs hold, and when the last hold expires."""
    if not others:
        return None
    return sum(o.count for o in others), max(o.until for o in others)


def held_elsewhere_warning(others: list[ForeignLease], subscription: str) -> str | None:
    """The warning a run prints when messages it could not see may be held by another."""
    held = held_elsewhere(others)
    if held is None:
        return None
    count, until = held
    pids = ", ".join(str(o.pid) for o in others)
    return (
        f"warning: up to {count} messages of {subscription} may still be held by another "
        f"run of this command on this machine (pid {pids}; killed, or still running) "
        f"until {until.isoformat(timespec='seconds')}; this run could not see them: "
        "run it again after that time"
    )
