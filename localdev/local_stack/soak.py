"""`make soak`: thousands of alerts through the local stack while things go wrong.

80% of the alerts go through ingest in arrays, 20% straight to the topic (as
Falcosidekick's gcppubsub output sends them); 10% of the Kubernetes API calls fail (500,
429, a hang past the client's timeout, or a 500 after the call took effect); the
responder is killed with SIGKILL mid-burst and started again. Delivery follows
Pub/Sub's push contract through our push driver (the emulator's own push is not
Pub/Sub's). At the end every alert is accounted for (soak_ledger.py) and the run fails
on any loss or any double action.

    python -m localdev.local_stack.soak [--alerts 10000]
"""

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.cloud import pubsub_v1

from localdev.local_stack.fault_rate import FaultRate
from localdev.local_stack.fixtures import aimed_at, falco_time, fixture
from localdev.local_stack.policies import default_policy_with
from localdev.local_stack.processes import http_answers
from localdev.local_stack.push_driver import PushDriver, take_over_push_subscription
from localdev.local_stack.soak_ledger import Kind, Ledger, Sent, deletions
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until

SOAK_PROJECT = "falco-responder-soak"
NAMESPACE = "default"
THROUGH_INGEST = 0.8
ARRAY_SIZE = 50
FAULT_SHARE = 0.10
# The responder is killed once this share of the messages is settled.
KILL_AT = 0.4
# Out of every 100 alerts: the rest are shells in running pods, to be deleted.
MIX = {Kind.GONE: 2, Kind.TEST_EVENT: 3, Kind.HOST: 3, Kind.GARBAGE: 2}
# Deletes by the thousand: far past the default breaker. A short window keeps its
# ConfigMap (one entry per admitted delete within the window) small.
SOAK_POLICY = {"safety": {"circuit_breaker": {"max_actions": 1_000_000, "window": "1m"}}}
# Retries 2, 4, 8 and 16 s apart: 30 s from the first attempt to the last, so a restart
# of the responder on a busy machine (10 s or so) does not exhaust them. (Terraform's
# 10 s to 600 s would give 150 s, and make the run that much longer.)
MIN_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS = 1, 8
# Each hang holds one of the responder's threads this long: shorter than the local
# stack's 3 s, so that thousands of alerts do not spend most of their time waiting.
KUBE_TIMEOUT_SECONDS = 1.5
# Every stage gets this long per alert on top of a fixed allowance: generous on a busy
# machine, and still a deadline.
SECONDS_PER_ALERT = 0.2


@dataclass(frozen=True)
class SoakReport:
    """The figures of a run; `ok` when nothing was lost and nothing done twice."""

    lines: list[str]
    lost: int
    acted_twice: int
    wrong: list[str]
    # Proof the run was hostile: Kubernetes calls that failed, pushes the dead responder refused.
    failed_calls: int
    refused_pushes: int
    ends: dict[str, int]

    @property
    def ok(self) -> bool:
        """No loss, no double action, no alert ending against its kind."""
        return self.lost == 0 and self.acted_twice == 0 and not self.wrong


def kind_of(position: int) -> Kind:
    """The kind of the alert at `position`: MIX per 100, the rest ACT."""
    slot = position % 100
    for kind, share in MIX.items():
        if slot < share:
            return kind
        slot -= share
    return Kind.ACT


def _alert(kind: Kind, pod: str) -> dict:
    if kind in (Kind.ACT, Kind.GONE):
        return aimed_at("terminal_shell_in_container", NAMESPACE, pod)
    name = "sidekick_test_event" if kind is Kind.TEST_EVENT else "host_process_no_k8s"
    return {**fixture(name), "uuid": str(uuid.uuid4()), "time": falco_time(datetime.now(UTC))}


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Soak:
    """One run on a started LocalStack."""

    def __init__(self, stack: LocalStack, alerts: int, say: Callable[[str], object]) -> None:
        self.stack = stack
        self.count = alerts
        self.say = say
        self.sent: list[Sent] = []
        self.message_ids: set[str] = set()
        topology = stack.topology
        take_over_push_subscription(topology)
        self.driver = PushDriver(
            topology.push_subscription,
            f"{stack.responder_url}/",
            topology.dead_letter_topic,
            min_backoff_seconds=MIN_BACKOFF_SECONDS,
            max_backoff_seconds=MAX_BACKOFF_SECONDS,
        )
        self.faults = FaultRate(stack.kube, FAULT_SHARE, hang_seconds=stack.kube_timeout + 1)
        self.restart_seconds = 0.0

    def run(self) -> SoakReport:
        """Send, fail, kill, wait for every message to settle, account."""
        through_ingest, direct = self._plan()
        self.driver.start()
        self.faults.start()
        started = time.monotonic()
        try:
            with ThreadPoolExecutor(4) as pool:
                sending = [
                    pool.submit(self._post, batch) for batch in _chunks(through_ingest, ARRAY_SIZE)
                ]
                sending.append(pool.submit(self._publish, direct))
                self._kill_responder_at(int(self.count * KILL_AT))
                for future in sending:
                    future.result()
            self._wait(
                lambda: not self.driver.unsettled(self.message_ids),
                f"all {len(self.message_ids)} messages to be acked or dead-lettered",
            )
            elapsed = time.monotonic() - started
        finally:
            self.faults.stop()
            self.driver.stop()
        ledger = Ledger(self.sent)

        def accounted() -> bool:
            ledger.read(
                self.stack.outcomes.received,
                self.stack.dead_letters.received,
                deletions(self.stack.kube.requests, NAMESPACE),
                self._gone(),
            )
            return not ledger.unaccounted()

        with contextlib.suppress(AssertionError):  # what is missing is reported as lost
            self._wait(accounted, "an outcome record or a dead letter for every alert")
        return self._report(ledger, elapsed)

    def _gone(self) -> set[str]:
        """The pods to delete that are gone, or terminating: a DELETE of each was accepted
        (the kubelet stand-in removes it when its grace period ends)."""
        kube = self.stack.kube
        pods = {s.pod for s in self.sent if s.kind is Kind.ACT}
        return {pod for pod in pods if kube.pod_deleted(NAMESPACE, pod)}

    def _wait(self, condition: Callable[[], bool], what: str) -> None:
        wait_until(condition, 60 + self.count * SECONDS_PER_ALERT, what, interval=0.2)

    def _plan(self) -> tuple[list[dict], list[tuple[bytes, dict[str, str]]]]:
        """The alerts through ingest, and the messages straight to the topic; pods made."""
        created = datetime.now(UTC) - timedelta(minutes=5)
        through_ingest: list[dict] = []
        direct: list[tuple[bytes, dict[str, str]]] = []
        split = int(self.count * THROUGH_INGEST)
        for position in range(self.count):
            kind = kind_of(position)
            pod = f"soak-{position}" if kind in (Kind.ACT, Kind.GONE) else None
            if kind is Kind.ACT:
                self.stack.kube.create_pod(NAMESPACE, pod, creation_timestamp=created)
            if kind is Kind.GARBAGE:
                alert_id = str(uuid.uuid4())
                direct.append((f"not an alert {position}".encode(), {"alert_id": alert_id}))
            else:
                alert = _alert(kind, pod or "")
                alert_id = alert["uuid"]
                if position < split:
                    through_ingest.append(alert)
                else:
                    direct.append((json.dumps(alert).encode(), {}))
            self.sent.append(Sent(alert_id, kind, pod))
        return through_ingest, direct

    def _post(self, batch: list[dict]) -> None:
        response = self.stack.post(batch)
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
        self.message_ids.update(response.json()["message_ids"])

    def _publish(self, messages: list[tuple[bytes, dict[str, str]]]) -> None:
        publisher = pubsub_v1.PublisherClient()
        topic = self.stack.topology.alerts_topic
        futures = [publisher.publish(topic, data, **attributes) for data, attributes in messages]
        self.message_ids.update(f.result(timeout=60) for f in futures)

    def _kill_responder_at(self, settled: int) -> None:
        self._wait(lambda: self.driver.settled_count() >= settled, f"{settled} settled messages")
        responder = self.stack.responder
        responder.kill()
        self.say(f"responder killed with SIGKILL after {settled} messages settled")
        killed = time.monotonic()
        responder.start(lambda: http_answers(self.stack.responder_url))
        self.restart_seconds = time.monotonic() - killed

    def _report(self, ledger: Ledger, elapsed: float) -> SoakReport:
        requests = self.stack.kube.requests
        failed = sum(r.status in (500, 429, 504) for r in requests)
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(self.driver.answers.items()))
        records, dead = ledger.duplicates()
        ingest = int(self.count * THROUGH_INGEST)
        lines = [
            f"{self.count} alerts: {ingest} through ingest in arrays of {ARRAY_SIZE}, "
            f"{self.count - ingest} straight to the topic; settled in {elapsed:.0f} s",
            f"Kubernetes API: {len(requests)} calls, {failed} failed "
            f"({failed / max(len(requests), 1):.1%}; injected {dict(self.faults.injected)}, "
            "hangs past the client's timeout answer 504)",
            f"responder: killed with SIGKILL once, answering again after "
            f"{self.restart_seconds:.1f} s",
            f"push driver: {sum(self.driver.attempts.values())} deliveries; answers {answers}",
            *(f"  {count:6}  {end}" for end, count in sorted(ledger.ends().items())),
            f"redelivered (at least once, absorbed): {records} extra outcome records, "
            f"{dead} extra dead letters",
            f"lost: {len(ledger.unaccounted())}, acted twice: {len(ledger.acted_twice())}, "
            f"ended against their kind: {len(ledger.wrong())}",
        ]
        return SoakReport(
            lines,
            len(ledger.unaccounted()),
            len(ledger.acted_twice()),
            ledger.wrong(),
            failed,
            self.driver.answers["ConnectionError"],
            dict(ledger.ends()),
        )


def run_soak(
    alerts: int, pubsub_host: str | None = None, say: Callable[[str], object] = print
) -> SoakReport:
    """A whole run on a fresh local stack (on `pubsub_host`'s emulator if given)."""
    policy = default_policy_with(SOAK_POLICY)
    with LocalStack(
        policy_file=policy,
        pubsub_host=pubsub_host,
        project=SOAK_PROJECT,
        kube_timeout=KUBE_TIMEOUT_SECONDS,
    ) as stack:
        return Soak(stack, alerts, say).run()


def main() -> int:
    """Run, print the figures, exit 1 on any loss or double action."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    args = parser.parse_args()
    print(f"soak: {args.alerts} alerts, starting the local stack...", flush=True)
    report = run_soak(args.alerts, say=lambda line: print(line, flush=True))
    print("\n".join(report.lines))
    for problem in report.wrong[:20]:
        print(f"  {problem}")
    print("PASS" if report.ok else "FAIL: alerts lost, acted on twice, or ended wrongly")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
