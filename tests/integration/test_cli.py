"""The operator command line against a real Pub/Sub emulator (its own, project
falco-responder-cli-test), and `send-test-alert` against a local HTTP server.

Commands run in-process through click's CliRunner with the real client libraries; the
tests check what is then really in the subscriptions.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from google.cloud import pubsub_v1

from falco_responder_cli.lease_marker import markers_dir
from falco_responder_cli.main import cli
from localdev.local_stack.fixtures import fixture
from localdev.local_stack.pubsub_emulator import EmulatorNotFoundError, start_pubsub_emulator
from localdev.local_stack.topology import Topology, create_topology
from localdev.local_stack.wait import wait_until
from shared import config
from shared.envelope import dead_letter_attributes, rfc3339
from tests.conftest import as_bytes, shell_alert

PROJECT = "falco-responder-cli-test"
OBSERVER = "falco-alerts-cli-observer"
PULL_TIMEOUT = 1.0  # the emulator answers an empty pull at once when the deadline is <= 1 s
WAIT = 30


def _unavailable(reason: str) -> None:
    """No emulator: a failure in CI, a clear skip on a developer's machine."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI=true and the Pub/Sub emulator cannot start: {reason}")
    pytest.skip(f"Pub/Sub emulator unavailable ({reason}); the CI run does not skip this")


@dataclass
class PubSub:
    """The emulator's topology and clients to look inside it."""

    topology: Topology
    publisher: pubsub_v1.PublisherClient
    subscriber: pubsub_v1.SubscriberClient
    observer: str

    def _pull(self, subscription: str) -> list[Any]:
        response = self.subscriber.pull(
            request={"subscription": subscription, "max_messages": 100}, timeout=PULL_TIMEOUT
        )
        return list(response.received_messages)

    def drain(self, subscription: str) -> list[Any]:
        """Pull and ack until a pull returns nothing; the messages taken."""
        taken = []
        while batch := self._pull(subscription):
            self.subscriber.acknowledge(
                request={"subscription": subscription, "ack_ids": [r.ack_id for r in batch]}
            )
            taken += [r.message for r in batch]
        return taken

    def receive(self, subscription: str, count: int) -> list[Any]:
        """Wait for `count` messages, then take whatever else is there too."""
        taken: list[Any] = []

        def enough() -> bool:
            taken.extend(self.drain(subscription))
            return len(taken) >= count

        wait_until(enough, WAIT, f"{count} messages on {subscription}")
        return taken + self.drain(subscription)

    def peek(self, subscription: str) -> dict[str, Any]:
        """Every message in the subscription by id, released again (nothing acked)."""
        seen: dict[str, Any] = {}
        ack_ids: list[str] = []
        while True:
            batch = self._pull(subscription)
            ack_ids += [r.ack_id for r in batch]
            fresh = [r.message for r in batch if r.message.message_id not in seen]
            if not fresh:
                break
            seen.update((m.message_id, m) for m in fresh)
            # Held until the end, so the next pull returns the others.
            self.subscriber.modify_ack_deadline(
                request={
                    "subscription": subscription,
                    "ack_ids": [r.ack_id for r in batch],
                    "ack_deadline_seconds": 60,
                }
            )
        if ack_ids:
            self.subscriber.modify_ack_deadline(
                request={
                    "subscription": subscription,
                    "ack_ids": ack_ids,
                    "ack_deadline_seconds": 0,
                }
            )
        return seen

    def dead_letter(self, data: bytes, reason: str | None, **attributes: str) -> str:
        """Publish to the dead-letter topic as the responder does; the message id."""
        if reason is not None:
            attributes = dead_letter_attributes(
                attributes, reason, f"detail of {reason}", datetime.now(UTC)
            )
        future = self.publisher.publish(self.topology.dead_letter_topic, data, **attributes)
        return future.result(timeout=WAIT)


@pytest.fixture(scope="module")
def pubsub() -> Iterator[PubSub]:
    """A Pub/Sub emulator of this module's own, with the project's topology."""
    try:
        service, host = start_pubsub_emulator(PROJECT)
    except EmulatorNotFoundError as exc:
        _unavailable(str(exc))
    env = pytest.MonkeyPatch()
    env.setenv(config.PUBSUB_EMULATOR_HOST, host)
    # Lease markers of this module's runs only (see falco_responder_cli/lease_marker.py).
    env.setenv("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="falco-responder-config-"))
    try:
        topology = create_topology(PROJECT, push_endpoint="http://127.0.0.1:9/")
        subscriber = pubsub_v1.SubscriberClient()
        # Nothing may deliver (and so dead-letter) behind the tests' backs: the push
        # subscription becomes a pull subscription only the seek tests read.
        subscriber.modify_push_config(
            request={"subscription": topology.push_subscription, "push_config": {}}
        )
        observer = subscriber.subscription_path(PROJECT, OBSERVER)
        subscriber.create_subscription(request={"name": observer, "topic": topology.alerts_topic})
        yield PubSub(topology, pubsub_v1.PublisherClient(), subscriber, observer)
        subscriber.close()
    finally:
        env.undo()
        service.stop()


@pytest.fixture
def ps(pubsub: PubSub) -> PubSub:
    """The emulator with every subscription the tests read emptied first."""
    for subscription in (
        pubsub.topology.dead_letter_subscription,
        pubsub.topology.push_subscription,
        pubsub.observer,
    ):
        pubsub.drain(subscription)
    return pubsub


def run(*args: str, env: dict[str, str | None] | None = None, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=stdin)


# replay


def test_replay_moves_messages_back_with_attributes_kept_bookkeeping_dropped(ps, unique):
    alerts = [shell_alert(f"web-{unique}-{i}") for i in range(2)]
    for alert in alerts:
        ps.dead_letter(
            as_bytes(alert),
            "kube_error",
            alert_id=alert["uuid"],
            rule=alert["rule"],
            CloudPubSubDeadLetterSourceDeliveryCount="5",
        )

    result = run("replay", "--project", PROJECT)

    assert result.exit_code == 0, result.output
    assert result.stdout == "replayed 2, skipped (filtered) 0, left (too many replays) 0\n"
    replayed = ps.receive(ps.observer, 2)
    assert sorted((m.data, dict(m.attributes)) for m in replayed) == sorted(
        (as_bytes(a), {"alert_id": a["uuid"], "rule": a["rule"], "replay_count": "1"})
        for a in alerts
    )
    assert ps.peek(ps.topology.dead_letter_subscription) == {}


def test_replay_filters_by_reason_and_rule_and_leaves_the_others(ps, unique):
    shell = as_bytes(shell_alert(f"web-{unique}"))
    host = json.dumps(fixture("host_process_no_k8s")).encode()
    by_attribute = ps.dead_letter(shell, "kube_error", rule="Terminal shell in container")
    other_reason = ps.dead_letter(shell, "invalid_alert", rule="Terminal shell in container")
    other_rule = ps.dead_letter(host, "kube_error")
    by_data = ps.dead_letter(shell, "kube_error")

    result = run(
        "replay", "--project", PROJECT, "--reason", "kube_error", "--rule", "Terminal shell*"
    )

    assert result.exit_code == 0, result.output
    assert "replayed 2, skipped (filtered) 2, left (too many replays) 0" in result.stdout
    replayed = ps.receive(ps.observer, 2)
    assert [m.data for m in replayed] == [shell, shell]
    assert sorted(m.attributes.get("rule", "") for m in replayed) == [
        "",
        "Terminal shell in container",
    ]
    assert set(ps.peek(ps.topology.dead_letter_subscription)) == {other_reason, other_rule}
    assert {by_attribute, by_data}.isdisjoint(ps.peek(ps.topology.dead_letter_subscription))


def test_replay_stops_at_the_limit(ps, unique):
    for i in range(3):
        ps.dead_letter(as_bytes(shell_alert(f"web-{unique}-{i}")), "kube_error")

    result = run("replay", "--project", PROJECT, "--limit", "2")

    assert result.exit_code == 0, result.output
    assert "replayed 2," in result.stdout
    assert len(ps.receive(ps.observer, 2)) == 2
    assert len(ps.peek(ps.topology.dead_letter_subscription)) == 1


def test_a_dry_run_lists_and_consumes_nothing(ps, unique):
    fresh = ps.dead_letter(as_bytes(shell_alert(f"web-{unique}")), "kube_error")
    tired = ps.dead_letter(as_bytes(shell_alert(f"db-{unique}")), "kube_error", replay_count="3")
    before = ps.peek(ps.topology.dead_letter_subscription)

    result = run("replay", "--project", PROJECT, "--dry-run")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "would replay 1, skipped (filtered) 0, left (too many replays) 1"
    assert [line.split()[0] for line in lines[:-1]] == [fresh]
    assert "reason=kube_error" in lines[0]
    assert f"warning: left in {ps.topology.dead_letter_subscription}" in result.stderr
    assert tired in result.stderr
    assert ps.drain(ps.observer) == []
    after = ps.peek(ps.topology.dead_letter_subscription)
    assert {i: dict(m.attributes) for i, m in after.items()} == {
        i: dict(m.attributes) for i, m in before.items()
    }


def test_a_message_at_max_replays_stays_with_a_warning(ps, unique):
    tired = ps.dead_letter(as_bytes(shell_alert(f"web-{unique}")), "kube_error", replay_count="3")

    result = run("replay", "--project", PROJECT)

    assert result.exit_code == 0, result.output
    assert "replayed 0, skipped (filtered) 0, left (too many replays) 1" in result.stdout
    assert "already replayed --max-replays 3 times" in result.stderr
    assert tired in result.stderr
    assert ps.drain(ps.observer) == []
    assert set(ps.peek(ps.topology.dead_letter_subscription)) == {tired}

    result = run("replay", "--project", PROJECT, "--max-replays", "4")

    assert result.exit_code == 0, result.output
    [replayed] = ps.receive(ps.observer, 1)
    assert replayed.attributes["replay_count"] == "4"


def test_a_failed_republish_loses_nothing(ps, unique):
    alert = shell_alert(f"web-{unique}")
    message_id = ps.dead_letter(as_bytes(alert), "kube_error", alert_id=alert["uuid"])
    original = dict(ps.peek(ps.topology.dead_letter_subscription)[message_id].attributes)

    result = run("replay", "--project", PROJECT, "--to-topic", f"missing-{unique}")

    assert result.exit_code == 1
    assert f"republishing message {message_id} to projects/{PROJECT}/topics/missing-" in (
        result.stderr
    )
    assert f"it stays in {ps.topology.dead_letter_subscription}" in result.stderr
    kept = ps.peek(ps.topology.dead_letter_subscription)
    assert set(kept) == {message_id}
    assert dict(kept[message_id].attributes) == original

    assert run("replay", "--project", PROJECT).exit_code == 0
    assert ps.receive(ps.observer, 1)[0].attributes["alert_id"] == alert["uuid"]


# A replay run that holds its messages 20 s (not 60), so the test waits less for them.
SHORT_HOLD_REPLAY = (
    "import falco_responder_cli.pulling as pulling; pulling.HOLD_SECONDS = 20; "
    "from falco_responder_cli.main import main; main()"
)


def test_a_rerun_after_a_killed_replay_says_what_it_cannot_see_and_loses_nothing(ps, unique):
    alerts = [shell_alert(f"kill-{unique}-{i}") for i in range(1000)]
    for i, alert in enumerate(alerts):
        alert["rule"] = "Terminal shell in container" if i % 2 else f"Other {unique}"
    futures = [
        ps.publisher.publish(
            ps.topology.dead_letter_topic,
            as_bytes(a),
            **dead_letter_attributes(
                {"alert_id": a["uuid"]}, "kube_error", "500", datetime.now(UTC)
            ),
        )
        for a in alerts
    ]
    for future in futures:
        future.result(timeout=WAIT)

    # The first run replays only the shells, so it holds the others until it ends; it is
    # killed once its first republished messages arrive.
    first = subprocess.Popen(
        [sys.executable, "-c", SHORT_HOLD_REPLAY, "replay", "--project", PROJECT, "--rule", "T*"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    on_topic: list[Any] = []

    def republishing() -> bool:
        assert first.poll() is None, "the first run ended before it could be killed"
        on_topic.extend(ps.drain(ps.observer))
        return bool(on_topic)

    try:
        wait_until(republishing, WAIT, "the first replay run to republish", interval=0.01)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    [killed] = [json.loads(p.read_text()) for p in markers_dir().glob("*.json")]
    until = datetime.fromisoformat(killed["until"])

    second = run("replay", "--project", PROJECT)
    assert second.exit_code == 0, second.output
    assert f"may still be held by another run of this command on this machine (pid {first.pid}" in (
        second.stderr
    )
    assert second.stdout.rstrip().endswith(
        f"not seen (held by another run until {rfc3339(until)}) up to {killed['count']}"
    )

    wait_until(lambda: datetime.now(UTC) > until + timedelta(seconds=1), WAIT, "the holds to end")
    third = run("replay", "--project", PROJECT)
    assert third.exit_code == 0, third.output
    assert "not seen" not in third.stdout and "held by another run" not in third.stderr
    left_by_the_first = int(third.stdout.split("replayed ")[1].split(",")[0])
    # The count the second run printed was true: no more than that came back.
    assert 0 < left_by_the_first <= killed["count"]

    # Nothing lost: every alert is on the alerts topic (some twice: at least once).
    replayed = on_topic + ps.receive(ps.observer, len(alerts) - len(on_topic))
    assert {json.loads(m.data)["uuid"] for m in replayed} == {a["uuid"] for a in alerts}
    assert ps.peek(ps.topology.dead_letter_subscription) == {}


def test_replay_from_a_missing_subscription_names_it(ps, unique):
    result = run("replay", "--project", PROJECT, "--subscription", f"missing-{unique}")

    assert result.exit_code == 1
    assert f"replay from projects/{PROJECT}/subscriptions/missing-{unique}" in result.stderr
    assert "Pub/Sub emulator at 127.0.0.1:" in result.stderr
    assert "Subscription does not exist" in result.stderr


# dead-letters


def test_dead_letters_groups_by_reason_and_consumes_nothing(ps, unique):
    shell = as_bytes(shell_alert(f"web-{unique}"))
    ps.dead_letter(b"{not json", "invalid_json")
    ps.dead_letter(b"{still not json", "invalid_json")
    ps.dead_letter(shell, "kube_error", rule="Terminal shell in container")
    ps.dead_letter(shell, None, CloudPubSubDeadLetterSourceDeliveryCount="5")
    before = set(ps.peek(ps.topology.dead_letter_subscription))

    result = run("dead-letters", "--json", env={config.GOOGLE_CLOUD_PROJECT: PROJECT})

    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    assert listing["subscription"] == ps.topology.dead_letter_subscription
    assert listing["total"] == 4
    summary = {
        g["reason"]: (g["count"], g["sample_detail"], g["rules"]) for g in listing["reasons"]
    }
    assert summary == {
        "invalid_json": (2, "detail of invalid_json", []),
        "kube_error": (1, "detail of kube_error", ["Terminal shell in container"]),
        "delivery_attempts_exhausted": (1, None, ["Terminal shell in container"]),
    }
    assert listing["reasons"][0]["reason"] == "invalid_json"
    invalid = listing["reasons"][0]
    assert invalid["oldest"] <= invalid["newest"] <= rfc3339(datetime.now(UTC))

    text = run("dead-letters", "--project", PROJECT)
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith(f"{ps.topology.dead_letter_subscription}: 4 messages\n")
    assert "\ninvalid_json: 2\n" in text.stdout
    assert set(ps.peek(ps.topology.dead_letter_subscription)) == before


# seek


def test_seek_back_to_a_snapshot_redelivers(ps, unique):
    push = ps.topology.push_subscription
    snapshot = f"before-change-{unique}"
    message_id = ps.publisher.publish(ps.topology.alerts_topic, b"alert " + unique.encode())
    message_id = message_id.result(timeout=WAIT)

    created = run("seek", "--project", PROJECT, "--create-snapshot", snapshot)

    assert created.exit_code == 0, created.output
    assert created.stdout.startswith(f"created snapshot projects/{PROJECT}/snapshots/{snapshot}")
    assert [m.message_id for m in ps.receive(push, 1)] == [message_id]
    assert ps.peek(push) == {}

    result = run("seek", "--project", PROJECT, "--snapshot", snapshot, "--yes")

    assert result.exit_code == 0, result.output
    assert [m.message_id for m in ps.receive(push, 1)] == [message_id]


def test_seek_to_a_time_redelivers_acked_messages_a_subscription_retains(ps, unique):
    retaining = ps.subscriber.subscription_path(PROJECT, f"retaining-{unique}")
    ps.subscriber.create_subscription(
        request={
            "name": retaining,
            "topic": ps.topology.alerts_topic,
            "retain_acked_messages": True,
        }
    )
    sent = ps.publisher.publish(ps.topology.alerts_topic, b"x").result(timeout=WAIT)
    assert [m.message_id for m in ps.receive(retaining, 1)] == [sent]

    result = run("seek", "--project", PROJECT, "--subscription", retaining, "--ago", "1h", "--yes")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"seeked {retaining} to ")
    assert "warning" not in result.stderr
    assert [m.message_id for m in ps.receive(retaining, 1)] == [sent]


def test_seek_to_a_time_redelivers_handled_alerts(ps):
    # The push subscription keeps acked alerts (as Terraform's does), so a seek re-runs them.
    message_id = ps.publisher.publish(ps.topology.alerts_topic, b"handled").result(timeout=WAIT)
    ps.drain(ps.topology.push_subscription)
    assert ps.peek(ps.topology.push_subscription) == {}

    result = run("seek", "--project", PROJECT, "--ago", "1m", "--yes")

    assert result.exit_code == 0, result.output
    assert "does not retain" not in result.stderr
    assert message_id in ps.peek(ps.topology.push_subscription)


def test_seek_to_a_time_warns_when_acked_messages_are_not_retained(ps):
    minute_ago = rfc3339(datetime.now(UTC) - timedelta(minutes=1))

    result = run(
        "seek",
        "--project",
        PROJECT,
        "--subscription",
        ps.observer,
        "--to-time",
        minute_ago,
        "--yes",
    )

    assert result.exit_code == 0, result.output
    assert f"seeked {ps.observer} to {minute_ago}" in result.stdout
    assert "does not retain acknowledged messages" in result.stderr


def test_seek_asks_first_and_refuses_the_future(ps):
    message_id = ps.publisher.publish(ps.topology.alerts_topic, b"pending").result(timeout=WAIT)

    declined = run("seek", "--project", PROJECT, "--ago", "1m", stdin="n\n")
    future = rfc3339(datetime.now(UTC) + timedelta(hours=1))
    refused = run("seek", "--project", PROJECT, "--to-time", future, "--yes")

    assert declined.exit_code == 1
    assert "Aborted" in declined.output
    assert refused.exit_code == 2
    assert "is in the future" in refused.output
    assert set(ps.peek(ps.topology.push_subscription)) == {message_id}


def test_seek_to_a_missing_snapshot_says_so(ps, unique):
    result = run("seek", "--project", PROJECT, "--snapshot", f"missing-{unique}", "--yes")

    assert result.exit_code == 1
    assert f"seek on {ps.topology.push_subscription} failed" in result.stderr
    assert "Snapshot does not exist" in result.stderr


# send-test-alert


@dataclass
class Ingest:
    """A stand-in for the ingest function that records every request."""

    url: str
    status: int = 202
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def ingest() -> Iterator[Ingest]:
    recorder = Ingest(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            recorder.requests.append((dict(self.headers), body))
            if recorder.status == 202:
                reply = {"accepted": 1, "message_ids": ["1"]}
            else:
                reply = {"error": "missing or bad token"}
            payload = json.dumps(reply).encode()
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorder.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorder
    server.shutdown()
    server.server_close()
    thread.join(timeout=WAIT)


def _sent(body: bytes) -> tuple[dict, str]:
    document = json.loads(body)
    return document, str(uuid.UUID(document.pop("uuid")))


def _assert_sample_dated_now(document: dict, name: str) -> None:
    """The sample as shipped, but for a `time` of now (so no responder refuses it as stale)."""
    sent_at = datetime.fromisoformat(document.pop("time").replace("000Z", "+00:00"))
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    original = fixture(name)
    original.pop("uuid", None)
    original.pop("time")
    assert document == original


def test_send_test_alert_posts_the_sidekick_test_event_with_token_and_fresh_uuid(ingest):
    results = [run("send-test-alert", ingest.url, "--token", "s3cret") for _ in range(2)]

    for result in results:
        assert result.exit_code == 0, result.output
        assert result.stdout == 'HTTP 202\n{"accepted": 1, "message_ids": ["1"]}\n'
    uuids = set()
    for headers, body in ingest.requests:
        assert headers["Authorization"] == "Bearer s3cret"
        assert headers["Content-Type"] == "application/json"
        document, alert_uuid = _sent(body)
        assert alert_uuid != fixture("sidekick_test_event").get("uuid")
        _assert_sample_dated_now(document, "sidekick_test_event")
        uuids.add(alert_uuid)
    assert len(uuids) == 2


def test_send_test_alert_takes_a_fixture_and_the_token_from_the_environment(ingest):
    result = run(
        "send-test-alert",
        ingest.url,
        "--fixture",
        "terminal_shell_in_container",
        env={config.INGEST_TOKEN: "from-env"},
    )

    assert result.exit_code == 0, result.output
    [(headers, body)] = ingest.requests
    assert headers["Authorization"] == "Bearer from-env"
    document, alert_uuid = _sent(body)
    assert alert_uuid != fixture("terminal_shell_in_container").get("uuid")
    _assert_sample_dated_now(document, "terminal_shell_in_container")


def test_send_test_alert_sends_a_file(ingest, tmp_path: Path):
    alert = shell_alert("web-from-file")
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(alert))

    result = run("send-test-alert", ingest.url, "--file", str(path), "--token", "t")

    assert result.exit_code == 0, result.output
    document, alert_uuid = _sent(ingest.requests[0][1])
    assert alert_uuid != alert.pop("uuid")
    assert document == alert


def test_send_test_alert_fails_on_anything_but_202(ingest):
    ingest.status = 401

    result = run("send-test-alert", ingest.url, env={config.INGEST_TOKEN: None})

    assert result.exit_code == 1
    assert result.stdout == 'HTTP 401\n{"error": "missing or bad token"}\n'
    assert "sending no Authorization" in result.stderr
    assert "Authorization" not in ingest.requests[0][0]


def test_send_test_alert_to_nothing_is_a_clear_error():
    result = run("send-test-alert", "http://127.0.0.1:9/", "--token", "t")

    assert result.exit_code == 1
    assert "POST http://127.0.0.1:9/ failed" in result.stderr
