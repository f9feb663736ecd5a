"""Accounting for every alert of a soak run, from what the pipeline left behind.

Independent sources: the outcome records on the responses topic, the dead-letter
subscription, and the Kubernetes API emulator (which pods are gone, and its request log:
every deletion answered 200). An alert is lost when none of them knows it; an alert is
acted on twice when its pod's deletion was answered 200 twice or two records say `acted`.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from falco_responder_cli.dead_lettered import reason_of
from localdev.k8s_api_emulator.requestlog import RequestRecord
from localdev.local_stack.stack import Received


class Kind(StrEnum):
    """What a soak alert is, and so what must become of it."""

    ACT = "act"  # a shell in a running pod: deleted once
    GONE = "gone"  # a shell in a pod that no longer exists: already handled
    TEST_EVENT = "test_event"  # Falcosidekick's test: skipped
    HOST = "host"  # a host process, no pod: skipped
    GARBAGE = "garbage"  # not JSON, straight to the topic: dead-lettered


@dataclass(frozen=True)
class Sent:
    """One alert sent: its id, kind, and the pod it names (if any)."""

    alert_id: str
    kind: Kind
    pod: str | None = None


def _alert_id(message: Received) -> str | None:
    if message.attributes.get("alert_id"):
        return message.attributes["alert_id"]
    try:
        document = json.loads(message.data)
    except ValueError:
        return None
    return document.get("uuid") if isinstance(document, dict) else None


def deletions(requests: list[RequestRecord], namespace: str) -> Counter[str]:
    """Pods the cluster really deleted (status 200 to a DELETE), by name."""
    prefix = f"/api/v1/namespaces/{namespace}/pods/"
    return Counter(
        r.path.removeprefix(prefix)
        for r in requests
        if r.method == "DELETE" and r.path.startswith(prefix) and r.status == 200
    )


@dataclass
class Ledger:
    """What became of each alert sent."""

    sent: list[Sent]
    outcomes: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    dead_letters: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    deleted: Counter[str] = field(default_factory=Counter)
    gone: set[str] = field(default_factory=set)

    def read(
        self,
        records: list[Received],
        dead: list[Received],
        deleted: Counter[str],
        gone: set[str],
    ) -> None:
        """Take in the outcome records, the dead letters, the deletions answered 200 and the
        pods no longer in the cluster (a deletion whose answer was lost shows only there)."""
        self.outcomes.clear()
        self.dead_letters.clear()
        for record in records:
            document = record.json()
            self.outcomes[document.get("alert_id") or ""].append(document)
        for message in dead:
            self.dead_letters[_alert_id(message) or ""].append(reason_of(message.attributes))
        self.deleted = deleted
        self.gone = gone

    def unaccounted(self) -> list[Sent]:
        """Alerts with neither an outcome record nor a dead letter."""
        return [
            s
            for s in self.sent
            if s.alert_id not in self.outcomes and s.alert_id not in self.dead_letters
        ]

    def acted_twice(self) -> list[Sent]:
        """Alerts whose pod was deleted more than once, or recorded `acted` more than once."""
        return [
            s
            for s in self.sent
            if (s.pod is not None and self.deleted[s.pod] > 1)
            or sum(o["outcome"] == "acted" for o in self.outcomes.get(s.alert_id, [])) > 1
        ]

    def wrong(self) -> list[str]:
        """Alerts whose end contradicts what they are, each with why."""
        problems = []
        for s in self.sent:
            dead = s.alert_id in self.dead_letters
            if s.kind is Kind.ACT and not dead and s.pod not in self.gone:
                problems.append(f"{s.alert_id}: pod {s.pod} not deleted, alert not dead-lettered")
            if s.kind is not Kind.ACT and s.pod is not None and self.deleted[s.pod]:
                problems.append(f"{s.alert_id}: pod {s.pod} deleted by a {s.kind} alert")
            if s.kind is Kind.GARBAGE and not dead:
                problems.append(f"{s.alert_id}: garbage not dead-lettered")
        return problems

    def ends(self) -> Counter[str]:
        """How each alert ended: acted, already handled, skipped (reason), dead-lettered (reason).

        A dead letter wins (it is what an operator sees); an alert of kind ACT whose pod
        was deleted counts as acted even when its record was lost to a kill and a
        redelivery then found the pod gone (`already handled`).
        """
        ends: Counter[str] = Counter()
        for s in self.sent:
            records = self.outcomes.get(s.alert_id, [])
            if s.alert_id in self.dead_letters:
                reasons = sorted(set(self.dead_letters[s.alert_id]))
                ends[f"dead-lettered ({', '.join(reasons)})"] += 1
            elif s.kind is Kind.ACT and s.pod in self.gone:
                ends["acted (pod deleted)"] += 1
            elif records:
                last = records[-1]
                why = last["actions"][0]["reason"] if last["actions"] else last["reason"]
                ends[f"{last['outcome'].replace('_', ' ')} ({why})"] += 1
        return ends

    def duplicates(self) -> tuple[int, int]:
        """Extra outcome records and extra dead letters (at-least-once redeliveries)."""
        ids = {s.alert_id for s in self.sent}
        records = sum(len(v) - 1 for k, v in self.outcomes.items() if k in ids)
        dead = sum(len(v) - 1 for k, v in self.dead_letters.items() if k in ids)
        return records, dead
