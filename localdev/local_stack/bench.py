"""`make bench`: each figure beside its floor, measured in the same run, and checked.

A floor is the least the same machine and the same emulators can do for the same job, so
a ratio says what our code costs rather than how fast this machine is:
- ingest: one alert per POST, sent one after another (p50), beside one publish-and-wait
  from a publisher that flushes at once;
- responder: a burst of delete alerts published at once, until every pod is deleted, beside
  the same number of messages to an empty CloudEvent handler on the same push path (the
  emulator pushes two messages at a time, so this compares the cost per message), and
  the same burst to the bare-calls handler (below): the ratio with no code of ours;
- Kubernetes API calls per deleted pod, beside the two a delete needs (read it, delete
  it), with every call named;
- the responder's own CPU per alert during the bursts (what Cloud Run bills), beside the
  empty handler's; and every process's, since on this machine the emulators share the
  cores with the functions, which says where the burst's time goes; then split into the
  empty handler's, the bare calls a delete needs (made by bare_calls_handler.py in a
  burst of their own) and ours (bench_split.py); and beside the bare calls' CPU and
  rate, the part our code decides, which the machine's cost of a push moves least;
- event to kill, warm: one alert at a time from the POST to ingest to the pod's DELETE
  (p50, p99, and a picture of the distribution), beside the same path ending in the
  empty handler (bench_latency.py), and without the emulator's time answering the calls;
- first action from cold: a new responder process to its first pod deleted, beside a new
  empty handler to its first answer, and split by the import of the libraries it needs;
- what Google bills for each alert of event to kill (Pub/Sub bytes and requests, log
  bytes, Cloud Run requests), and its list price (bench_billing.py);
- import time of each function's module, the responder's beside the libraries it cannot
  start without (no goal: the first action from cold is what a user waits for); peak
  RSS of each function's process.
Each goal prints PASS or FAIL; the table goes to bench-results/bench.md and the picture to
bench-results/event-to-kill.svg; the exit code is non-zero if a goal is missed.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from google.cloud import pubsub_v1

from localdev.k8s_api_emulator.requestinfo import parse_request_info
from localdev.local_stack.bench_billing import (
    PUBSUB_MIN_REQUEST_BYTES,
    RUN_BILLING_GRANULARITY_SECONDS,
    AlertBill,
    BillMeter,
)
from localdev.local_stack.bench_chart import cdf_svg
from localdev.local_stack.bench_latency import (
    COLD_ROUNDS,
    EVENT_TO_KILL_ALERTS,
    EVENT_TO_KILL_WARM_UP,
    event_to_kill,
    first_action_from_cold,
    percentile,
)
from localdev.local_stack.bench_pods import create_bench_pod
from localdev.local_stack.bench_split import Split, room_above_floor, room_for_ours
from localdev.local_stack.cpu_time import CpuReading, read_cpu, this_process
from localdev.local_stack.fixtures import aimed_at, fixture
from localdev.local_stack.functions import REPO_ROOT, responder_service, start_ingest
from localdev.local_stack.policies import default_policy_with
from localdev.local_stack.processes import Service, http_answers
from localdev.local_stack.stack import INGEST_TOKEN, RESPONDER_USER, LocalStack
from localdev.local_stack.topology import ACK_DEADLINE_SECONDS
from localdev.local_stack.wait import wait_until
from shared import config

POSTS = 200
BURST = 150
# The rounds' ratios swing from run to run (a push's cost on this machine moves the
# floor by half): eleven keep their median steady.
ROUNDS = 11
# Rounds of both bursts run first and discarded: the emulator is a JVM, and its JIT is
# still compiling through the first bursts, where the responder (which also publishes)
# exercises more of it than the empty handler does.
WARM_UP_ROUNDS = 1
IMPORT_RUNS = 7
RESULTS = REPO_ROOT / "bench-results" / "bench.md"
# The breaker stays on, as by default, but never trips. Its count holds the deletes of
# its window: the shortest, 1 s, keeps that to a second of the burst (about a hundred),
# where 10 minutes would make every write carry all of the run's thousands; a real
# cluster's count never holds more than max_actions (10 by default).
BREAKER_ON = {"safety": {"circuit_breaker": {"max_actions": 100_000, "window": "1s"}}}
FLOOR_TOPIC = "falco-alerts-bench-floor"
# The responder's CPU per alert, at most this many times the empty handler's.
CPU_GOAL = 2.5
# Its first action from cold, at most this many times the empty handler's first answer.
COLD_GOAL = 2
# Pods deleted per second in a burst, at least this share of the empty handler's rate.
BURST_GOAL = 0.35
# Pushed to the bare-calls handler: the calls one delete needs and nothing of ours.
BARE_TOPIC = "falco-alerts-bench-bare-calls"
# The floor of event to kill: a second ingest publishes here, pushed to the empty handler.
EVENT_FLOOR_TOPIC = "falco-alerts-bench-event-floor"
CHART = REPO_ROOT / "bench-results" / "event-to-kill.svg"
# What the empty handler imports: functions-framework's command imports it before it
# loads any function, with the garbage collector on.
FRAMEWORK = "functions_framework"
# The libraries beyond it the responder imports before it can take a request, whatever
# its code; and what its first action needs: those, and the Kubernetes client (the
# package, as responder.k8s imports it). Our functions load theirs with the collector
# paused (shared.collector), and so do the floors.
STARTUP_LIBRARIES = ("google.pubsub_v1", "pydantic")
FIRST_ACTION_LIBRARIES = (*STARTUP_LIBRARIES, "kubernetes")
IMPORT_ENV = {config.GOOGLE_CLOUD_PROJECT: "bench", config.INGEST_TOKEN: "bench"}


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its floor, their ratio, and the goal it must meet."""

    measure: str
    value: str
    floor: str = ""
    ratio: str = ""
    goal: str = ""
    met: bool | None = None

    def cells(self) -> tuple[str, ...]:
        verdict = "" if self.met is None else ("PASS" if self.met else "FAIL")
        return (self.measure, self.value, self.floor, self.ratio, self.goal, verdict)


def _p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def _seconds(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _test_event() -> dict:
    return {**fixture("sidekick_test_event"), "uuid": str(uuid.uuid4())}


def ingest_latency(stack: LocalStack) -> Row:
    """p50 of one-alert POSTs one after another, beside one flush-at-once publish-and-wait."""
    session = requests.Session()  # Falcosidekick keeps its connection too
    headers = {"Authorization": f"Bearer {INGEST_TOKEN}", "Content-Type": "application/json"}

    def post() -> None:
        response = session.post(
            f"{stack.ingest_url}/", data=json.dumps(_test_event()), headers=headers, timeout=30
        )
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")

    publisher = pubsub_v1.PublisherClient(
        batch_settings=pubsub_v1.types.BatchSettings(max_messages=1)
    )
    topic = stack.topology.alerts_topic

    def publish() -> None:
        publisher.publish(topic, json.dumps(_test_event()).encode()).result(timeout=30)

    posts: list[float] = []
    publishes: list[float] = []
    for i in range(POSTS + 20):  # interleaved, so both see the same machine; 20 to warm up
        post_seconds, publish_seconds = _seconds(post), _seconds(publish)
        if i >= 20:
            posts.append(post_seconds)
            publishes.append(publish_seconds)
    ours, floor = _p50_ms(posts), _p50_ms(publishes)
    ratio = ours / floor
    return Row(
        "one-alert POST to ingest, p50 (sequential)",
        f"{ours:.1f} ms",
        f"publish-and-wait, no batching: {floor:.1f} ms",
        f"{ratio:.1f}x",
        "<= 2x",
        ratio <= 2,
    )


def _wait_for_every(what: str, count: Callable[[], int], total: int) -> float:
    """Seconds until `count()` reaches `total`, polled tightly."""
    start = time.perf_counter()
    wait_until(lambda: count() >= total, 120, what, interval=0.01)
    return time.perf_counter() - start


def _publish_at_once(topic: str, messages: list[tuple[bytes, dict[str, str]]]) -> None:
    publisher = pubsub_v1.PublisherClient()  # batching on: one burst, as Falco's storm
    futures = [publisher.publish(topic, data, **attributes) for data, attributes in messages]
    for future in futures:
        future.result(timeout=60)


def empty_handler(markers: Path) -> tuple[Service, str]:
    """The empty CloudEvent handler on the responder's threads, not started; its URL."""
    return responder_service(
        {"BENCH_MARKER_DIR": str(markers)}, "localdev/local_stack/empty_handler.py", "empty"
    )


def _push_to(stack: LocalStack, url: str, topic_id: str) -> str:
    """A topic of its own, pushed to `url`; its path."""
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(stack.project, topic_id)
    publisher.create_topic(request={"name": topic})
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(stack.project, topic_id),
            "topic": topic,
            "push_config": {"push_endpoint": f"{url}/"},
            # As long as the local stack gives the responder's push: what ends a slow
            # call is the handler's deadline, not the push's.
            "ack_deadline_seconds": ACK_DEADLINE_SECONDS,
        }
    )
    subscriber.close()
    return topic


def start_floor(stack: LocalStack, markers: Path, topic_id: str = FLOOR_TOPIC) -> Service:
    """The empty handler behind a push subscription of a topic of its own."""
    service, url = empty_handler(markers)
    service.start(lambda: http_answers(url))
    _push_to(stack, url, topic_id)
    return service


def start_bare_calls(stack: LocalStack) -> Service:
    """The bare-calls handler, with the responder's settings and credentials, behind a
    push subscription of a topic of its own."""
    service, url = responder_service(
        stack.responder_env, "localdev/local_stack/bare_calls_handler.py", "bare"
    )
    service.start(lambda: http_answers(url))
    _push_to(stack, url, BARE_TOPIC)
    return service


def _delete_alerts(prefix: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Falco's shell alerts about pods `prefix-0`..., which the default policy deletes."""
    alerts = [
        aimed_at("terminal_shell_in_container", "default", f"{prefix}-{i}") for i in range(count)
    ]
    return [(json.dumps(a).encode(), {"alert_id": a["uuid"]}) for a in alerts]


def _create_pods(stack: LocalStack, prefix: str, count: int) -> None:
    created = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(count):
        create_bench_pod(stack.kube, f"{prefix}-{i}", created)


@dataclass
class DeleteCounter:
    """Pods the responder deleted since request `mark`: each DELETE answered 200 (the pod
    then terminating for the policy's grace period, a second, until the kubelet stand-in
    removes it).

    Read from the emulator's request log, keeping its place: polling the pods themselves,
    or copying the whole log on every poll, would take the emulator's own lock and CPU
    away from the responder being measured.
    """

    stack: LocalStack
    mark: int
    deleted: int = 0

    def __call__(self) -> int:
        new = self.stack.kube.requests_since(self.mark)
        self.mark += len(new)
        self.deleted += sum(
            1 for r in new if r.method == "DELETE" and r.status == 200 and "/pods/" in r.path
        )
        return self.deleted


# Where a burst's CPU goes: a name and a reading of CPU seconds used so far.
CpuSources = dict[str, Callable[[], CpuReading]]


def _cpu_used(sources: CpuSources, since: dict[str, CpuReading]) -> Counter[str]:
    return Counter({name: read() - since[name] for name, read in sources.items()})


def _cpu_now(sources: CpuSources) -> dict[str, CpuReading]:
    return {name: read() for name, read in sources.items()}


def _floor_burst(
    topic: str, markers: Path, round_: int, cpu: CpuSources
) -> tuple[float, Counter[str]]:
    """Seconds for the empty handler to take BURST messages published at once; the CPU
    each process used meanwhile."""
    prefix = f"floor{round_}-"
    messages = [
        (data, {"alert_id": f"{prefix}{i}"})
        for i, (data, _) in enumerate(_delete_alerts(prefix, BURST))
    ]
    before, start = _cpu_now(cpu), time.perf_counter()
    _publish_at_once(topic, messages)
    seconds = (time.perf_counter() - start) + _wait_for_every(
        "the empty handler to take every message",
        lambda: sum(1 for m in markers.iterdir() if m.name.startswith(prefix)),
        BURST,
    )
    return seconds, _cpu_used(cpu, before)


def _delete_burst(
    stack: LocalStack,
    prefix: str,
    topic: str,
    messages: list[tuple[bytes, dict[str, str]]],
    cpu: CpuSources,
) -> tuple[float, Counter[str], Counter[str]]:
    """Seconds until the pods `prefix-0`..., alerted on at once by `messages`, are
    deleted; the responder's Kubernetes calls; the CPU each process used meanwhile."""
    mark = len(stack.kube.requests)
    before, start = _cpu_now(cpu), time.perf_counter()
    _publish_at_once(topic, messages)
    seconds = (time.perf_counter() - start) + _wait_for_every(
        "every pod of the burst to be deleted", DeleteCounter(stack, mark), len(messages)
    )
    used = _cpu_used(cpu, before)
    left = [i for i in range(len(messages)) if stack.kube.pod_running("default", f"{prefix}-{i}")]
    if left:
        raise RuntimeError(f"{len(left)} pods of the burst were not deleted")
    # The kubelet stand-in removes each pod when its grace period ends: let it finish,
    # untimed, so the removals do not land in the next burst's time.
    wait_until(
        lambda: (
            not any(stack.kube.get_pod("default", f"{prefix}-{i}") for i in range(len(messages)))
        ),
        30,
        "the burst's pods to be removed at the end of their grace period",
    )
    # Every alert's Kubernetes calls end with its DELETE: all are in the log by now.
    calls: Counter[str] = Counter()
    for record in stack.kube.requests_since(mark):
        if record.user == RESPONDER_USER:
            info = parse_request_info(record.method, record.path, record.query)
            calls[f"{record.method} {info.resource or record.path}"] += 1
    return seconds, calls, used


def _responder_burst(
    stack: LocalStack, round_: int, cpu: CpuSources
) -> tuple[float, Counter[str], Counter[str]]:
    """BURST delete alerts to the responder: `_delete_burst`'s figures."""
    prefix = f"burst{round_}"
    _create_pods(stack, prefix, BURST)
    return _delete_burst(
        stack, prefix, stack.topology.alerts_topic, _delete_alerts(prefix, BURST), cpu
    )


def _bare_calls_burst(
    stack: LocalStack, topic: str, round_: int, cpu: CpuSources
) -> tuple[float, Counter[str]]:
    """The same alerts to the bare-calls handler, each naming its pod in an attribute:
    seconds until every pod is deleted, and the CPU each process used."""
    prefix = f"bare{round_}"
    _create_pods(stack, prefix, BURST)
    messages = [
        (data, {**attributes, "pod": f"{prefix}-{i}", "namespace": "default"})
        for i, (data, attributes) in enumerate(_delete_alerts(prefix, BURST))
    ]
    seconds, _, used = _delete_burst(stack, prefix, topic, messages, cpu)
    return seconds, used


def _per_alert(used: Counter[str], alerts: int) -> str:
    return ", ".join(f"{name} {seconds / alerts * 1000:.1f} ms" for name, seconds in used.items())


def burst(stack: LocalStack) -> list[Row]:
    """BURST delete alerts at once: pods deleted per second beside the empty handler's
    messages per second, in alternating rounds so both see the same machine; the
    Kubernetes calls the responder made per deleted pod; the CPU each process spent per
    alert (on this machine every process shares the same cores); and the responder's
    CPU per alert split into the empty handler's, the bare calls' and ours, the bare
    calls made by a handler of their own in a third burst of each round, whose time
    beside the empty handler's is the best burst ratio the calls themselves allow."""
    _create_pods(stack, "warm", 1)
    _publish_at_once(stack.topology.alerts_topic, _delete_alerts("warm", 1))
    wait_until(lambda: stack.kube.get_pod("default", "warm-0") is None, 60, "a warm-up delete")
    # The outcomes are still published; only the stack's own readers of them, which tests
    # use and no deployment has in the responder's path, stop taking the emulator's time.
    stack.outcomes.stop()
    stack.dead_letters.stop()
    ours: list[float] = []
    floors: list[float] = []
    bares: list[float] = []
    calls: Counter[str] = Counter()
    ours_cpu: Counter[str] = Counter()
    floor_cpu: Counter[str] = Counter()
    # Each round's CPU per alert of the responder, the empty handler and the bare calls.
    per_round: list[tuple[float, float, float]] = []
    pubsub = next(s for s in stack.services if s.name == "pubsub-emulator")
    with tempfile.TemporaryDirectory() as folder:
        markers = Path(folder)
        floor_service = start_floor(stack, markers)
        bare_service = start_bare_calls(stack)
        # This process runs the Kubernetes API emulator's threads, and the bench's own
        # publishing and polling (the same for both bursts).
        floor_sources: CpuSources = {
            "empty handler": lambda: cpu_used(floor_service),
            "Pub/Sub emulator": lambda: cpu_used(pubsub),
            "bench process": this_process,
        }
        ours_sources: CpuSources = {
            "responder": lambda: cpu_used(stack.responder),
            "Pub/Sub emulator": lambda: cpu_used(pubsub),
            "bench process with the Kubernetes API emulator": this_process,
        }
        bare_sources: CpuSources = {"bare calls": lambda: cpu_used(bare_service)}
        try:
            bare_topic = pubsub_v1.PublisherClient.topic_path(stack.project, BARE_TOPIC)
            topic = pubsub_v1.PublisherClient.topic_path(stack.project, FLOOR_TOPIC)
            _publish_at_once(topic, [(b"{}", {"alert_id": "warm-up"})])
            wait_until((markers / "warm-up").exists, 60, "the empty handler to warm up")
            for round_ in range(-WARM_UP_ROUNDS, ROUNDS):
                floor_seconds, floor_used = _floor_burst(topic, markers, round_, floor_sources)
                seconds, counted, used = _responder_burst(stack, round_, ours_sources)
                bare_time, bare_used = _bare_calls_burst(stack, bare_topic, round_, bare_sources)
                if round_ >= 0:
                    floors.append(floor_seconds)
                    ours.append(seconds)
                    bares.append(bare_time)
                    calls += counted
                    floor_cpu += floor_used
                    ours_cpu += used
                    per_round.append(
                        (
                            used["responder"] / BURST,
                            floor_used["empty handler"] / BURST,
                            bare_used["bare calls"] / BURST,
                        )
                    )
        finally:
            floor_service.stop()
            bare_service.stop()
    # Each round's ratio is of two bursts a few seconds apart: their median shrugs off
    # the rounds a busy machine slowed down.
    ratio = statistics.median(f / o for f, o in zip(floors, ours, strict=True))
    seconds, floor_seconds = statistics.median(ours), statistics.median(floors)
    ours_rate, floor_rate = BURST / seconds, BURST / floor_seconds
    throughput = Row(
        f"{BURST} delete alerts at once: until every pod is deleted (median of {ROUNDS} rounds)",
        f"{seconds:.2f} s ({ours_rate:.0f}/s)",
        f"empty handler: {floor_seconds:.2f} s ({floor_rate:.0f}/s)",
        f"{ratio:.3f}",
        f">= {BURST_GOAL}",
        ratio >= BURST_GOAL,
    )
    # The same burst with no code of ours: the best ratio the calls themselves allow.
    bare_burst = statistics.median(f / b for f, b in zip(floors, bares, strict=True))
    bare_seconds = statistics.median(bares)
    throughput_split = Row(
        f"{BURST} delete alerts at once to the bare-calls handler (the same calls, no code "
        "of ours): until every pod is deleted (no goal: where the burst goes)",
        f"{bare_seconds:.2f} s ({BURST / bare_seconds:.0f}/s)",
        f"empty handler: {floor_seconds:.2f} s; " + room_above_floor(bare_burst, BURST_GOAL),
        f"{bare_burst:.3f}",
    )
    # Ours beside the bare calls' burst: the share of their rate our code keeps.
    of_bare = statistics.median(b / o for b, o in zip(bares, ours, strict=True))
    throughput_of_bare = Row(
        f"{BURST} delete alerts at once, the responder's rate beside the bare-calls "
        "handler's (no goal: what our code costs the burst)",
        f"{seconds:.2f} s",
        f"bare calls: {bare_seconds:.2f} s",
        f"{of_bare:.2f}",
    )
    deleted = BURST * ROUNDS
    per_pod = sum(calls.values()) / deleted
    named = ", ".join(f"{call} {n / deleted:.2f}" for call, n in sorted(calls.items()))
    kube_calls = Row(
        "Kubernetes API calls per deleted pod (default rails, breaker on)",
        f"{per_pod:.2f} ({named})",
        "2 (read it, delete it)",
        f"{per_pod / 2:.1f}x",
        "<= 4 calls",
        per_pod <= 4,
    )
    cpu = Row(
        "CPU per alert by process, during the bursts (no goal: where the time goes)",
        _per_alert(ours_cpu, deleted),
        _per_alert(floor_cpu, deleted),
    )
    # What Cloud Run bills: the responder's own CPU, beside the empty handler's. As for
    # the throughput, each round's ratio is of bursts a few seconds apart, and the median
    # of the rounds' ratios is the figure: a busy moment moves both, not their ratio.
    responder_cpu, handler_cpu, bare_cpu = (
        statistics.median(c) for c in zip(*per_round, strict=True)
    )
    cpu_ratio = statistics.median(r / h for r, h, _ in per_round)
    responder_row = Row(
        f"CPU per alert in the responder process, during the bursts (median of {ROUNDS} "
        "rounds' ratios)",
        f"{responder_cpu * 1000:.2f} ms",
        f"empty handler: {handler_cpu * 1000:.2f} ms",
        f"{cpu_ratio:.1f}x",
        f"<= {CPU_GOAL}x",
        cpu_ratio <= CPU_GOAL,
    )
    bare_ratio = statistics.median(b / h for _, h, b in per_round)
    over_bare = statistics.median(r / b for r, _, b in per_round)
    split = Split(responder_cpu, handler_cpu, bare_cpu - handler_cpu)
    return [
        throughput,
        throughput_split,
        throughput_of_bare,
        kube_calls,
        responder_row,
        cpu,
        *cpu_split_rows(split, bare_ratio, over_bare),
    ]


def cpu_split_rows(split: Split, bare_ratio: float, over_bare: float) -> list[Row]:
    """The bare-calls handler's CPU per alert (`bare_ratio` the median of the rounds'
    ratios to the empty handler), the responder's split into its parts, and the
    responder's beside the bare calls' (`over_bare`, the median of the rounds' ratios)."""
    bare, floor = split.floor + split.libraries, split.floor
    return [
        Row(
            "CPU per alert in a handler making only the calls one delete needs, bare "
            "through the same client libraries (GET pod, PUT the breaker's ConfigMap, "
            "DELETE pod, one Publish), on the responder's threads, during the bursts",
            f"{bare * 1000:.2f} ms",
            f"empty handler: {floor * 1000:.2f} ms",
            f"{bare_ratio:.1f}x",
        ),
        Row(
            "responder CPU per alert, split (no goal: where it goes)",
            split.text("empty handler", "bare calls", "ms", 1000),
            f"the bare calls, no code of ours: {bare_ratio:.1f}x; "
            + room_for_ours(bare_ratio, floor * 1000, CPU_GOAL, "ms"),
        ),
        # The part our code decides: both handlers make the same calls on the same path,
        # so the machine's cost of a push or a wake-up moves both alike.
        Row(
            "responder CPU per alert beside the bare calls' (no goal: what our code adds "
            "to the calls it must make)",
            f"{split.total * 1000:.2f} ms",
            f"bare calls: {bare * 1000:.2f} ms",
            f"{over_bare:.2f}x",
        ),
    ]


def cold_start(stack: LocalStack) -> list[Row]:
    """A new responder's first pod deleted, beside a new empty handler's first answer;
    then the import of the libraries each needs, in fresh interpreters, to split it."""
    with tempfile.TemporaryDirectory() as folder:
        medians = first_action_from_cold(stack, lambda: empty_handler(Path(folder)))
    ratio = medians.ours / medians.floor
    framework, _ = import_seconds("", IMPORT_ENV)
    needed, _ = import_seconds(", ".join(FIRST_ACTION_LIBRARIES), IMPORT_ENV, paused=True)
    split = Split(medians.ours, medians.floor, needed - framework)
    return [
        Row(
            f"first action from cold: process start to the first pod deleted "
            f"(median of {COLD_ROUNDS})",
            f"{medians.ours:.2f} s",
            f"empty handler, start to first answer: {medians.floor:.2f} s",
            f"{ratio:.1f}x",
            f"<= {COLD_GOAL}x",
            ratio <= COLD_GOAL,
        ),
        Row(
            f"import of what the first action needs, fresh interpreters "
            f"(median of {IMPORT_RUNS}): {FRAMEWORK}, then with the collector paused "
            f"{', '.join(FIRST_ACTION_LIBRARIES)}",
            f"{needed:.2f} s",
            f"import {FRAMEWORK}: {framework:.2f} s",
        ),
        Row(
            "first action from cold, split (no goal: where it goes)",
            split.text("empty handler", "libraries beyond functions-framework", "s"),
            f"empty handler + those libraries, no code of ours: {split.least_ratio:.1f}x; "
            + room_for_ours(split.least_ratio, medians.floor, COLD_GOAL, "s"),
        ),
    ]


def event_latency(stack: LocalStack) -> list[Row]:
    """Event to kill, warm, beside the same path to an empty handler; draws CHART."""
    stack.outcomes.stop()  # test tooling only, as in the burst
    stack.dead_letters.stop()
    with tempfile.TemporaryDirectory() as folder:
        markers = Path(folder)
        handler = start_floor(stack, markers, EVENT_FLOOR_TOPIC)
        floor_ingest, floor_url = start_ingest(
            {
                config.GOOGLE_CLOUD_PROJECT: stack.project,
                config.PUBSUB_EMULATOR_HOST: stack.pubsub_host,
                config.ALERTS_TOPIC: EVENT_FLOOR_TOPIC,
                config.INGEST_TOKEN: INGEST_TOKEN,
            }
        )
        try:
            with BillMeter(stack) as meter:
                measured = event_to_kill(stack, floor_url, markers)
                bill = meter.bill(EVENT_TO_KILL_WARM_UP + EVENT_TO_KILL_ALERTS)
        finally:
            floor_ingest.stop()
            handler.stop()
    ours, floors, emulator = measured.ours, measured.floors, measured.emulator
    CHART.parent.mkdir(exist_ok=True)
    CHART.write_text(
        cdf_svg(
            f"Event to kill, warm: {EVENT_TO_KILL_ALERTS} alerts sent one at a time",
            [("falco-responder, POST to the pod's DELETE", ours), ("floor, empty handler", floors)],
        )
    )
    ours_p50, floor_p50 = percentile(ours, 50), percentile(floors, 50)
    ratio = ours_p50 / floor_p50
    without = [o - e for o, e in zip(ours, emulator, strict=True)]
    without_p50 = percentile(without, 50)
    split = Row(
        "event to kill, split (no goal): the Kubernetes API emulator's time answering the "
        "responder's calls, per alert, and the rest",
        f"emulator p50 {percentile(emulator, 50) * 1000:.1f} ms; the rest p50 "
        f"{without_p50 * 1000:.1f} ms, p99 {percentile(without, 99) * 1000:.1f} ms",
        f"the same path to an empty handler: p50 {floor_p50 * 1000:.1f} ms",
        f"{without_p50 / floor_p50:.1f}x",
    )
    return [
        Row(
            f"event to kill, warm: POST to ingest until the pod's DELETE "
            f"({EVENT_TO_KILL_ALERTS} alerts one at a time)",
            f"p50 {ours_p50 * 1000:.1f} ms, p99 {percentile(ours, 99) * 1000:.1f} ms",
            f"the same path to an empty handler: p50 {floor_p50 * 1000:.1f} ms, "
            f"p99 {percentile(floors, 99) * 1000:.1f} ms",
            f"{ratio:.1f}x",
            "p50 <= 1.5x",
            ratio <= 1.5,
        ),
        split,
        *billing_rows(bill),
    ]


def billing_rows(bill: AlertBill) -> list[Row]:
    """What the alerts of event to kill cost in billed units, and in list-price dollars."""
    dollars = bill.dollars_per_million()
    parts = ", ".join(f"{name} {amount:.2f}" for name, amount in dollars.items())
    return [
        Row(
            f"billed units per alert, POST to ingest through a delete ({bill.alerts} alerts one "
            "at a time; no goal: what Google bills, bench_billing.py)",
            f"Pub/Sub {bill.per_alert(bill.pubsub_bytes):,.0f} bytes in "
            f"{bill.per_alert(bill.pubsub_requests):.1f} requests; logs "
            f"{bill.per_alert(bill.log_bytes):,.0f} bytes; Cloud Run "
            f"{bill.per_alert(bill.ingest_requests):.1f} + "
            f"{bill.per_alert(bill.responder_requests):.1f} requests (ingest + responder)",
            f"Pub/Sub bills each request at least {PUBSUB_MIN_REQUEST_BYTES:,} bytes",
        ),
        Row(
            "dollars per million alerts at list prices beyond the free tiers, each alert "
            "alone on its instances (no goal; log entries' metadata and Cloud Run's request "
            "logs not counted)",
            f"${sum(dollars.values()):.2f}: {parts}",
            f"each request alone billed {RUN_BILLING_GRANULARITY_SECONDS * 1000:.0f} ms of "
            "its instance; in a storm requests share it, billed at least their CPU",
        ),
    ]


def import_seconds(modules: str, env: dict[str, str], paused: bool = False) -> tuple[float, float]:
    """Medians over IMPORT_RUNS fresh interpreters of the wall and CPU time to import the
    framework, as functions-framework's command does before it loads a function, then
    `modules` (none: ""), with the garbage collector paused if `paused` (CPU time tells a
    busy machine from a slow import)."""
    then = f"import {modules}; " if modules else ""
    code = (
        "import gc, time; w, c = time.perf_counter(), time.process_time(); "
        f"import {FRAMEWORK}; {'gc.disable(); ' if paused else ''}{then}"
        "print(time.perf_counter() - w, time.process_time() - c)"
    )
    runs = [
        [
            float(x)
            for x in subprocess.run(
                [sys.executable, "-c", code],
                env={**os.environ, **env},
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        ]
        for _ in range(IMPORT_RUNS)
    ]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def _group_processes(service: Service) -> list[Path]:
    """/proc entries of the service's process group (functions-framework forks a worker;
    gcloud starts the emulator's JVM)."""
    group = os.getpgid(service.process.pid)
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if os.getpgid(int(entry.name)) == group:
                found.append(entry)
        except (OSError, ValueError):
            continue
    return found


def cpu_used(service: Service) -> CpuReading:
    """A reading of the CPU time used so far by the service's processes."""
    return read_cpu(_group_processes(service))


def peak_rss_mib(service: Service) -> float:
    """Largest VmHWM among the service's processes (functions-framework forks a worker)."""
    peaks = []
    for entry in _group_processes(service):
        try:
            lines = (entry / "status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return max(peaks)


def machine() -> str:
    """What produced the figures: CPU, cores, load, Python."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown CPU",
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, load average {load} at the end, "
        f"Python {platform.python_version()}"
    )


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    header = ("measure", "falco-responder", "floor, same run", "ratio", "goal", "")
    cells = [header, *(r.cells() for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(f"| {line} |" for line in lines)


def main() -> int:
    """Run every measurement, print the table, write it to bench-results/bench.md."""
    rows: list[Row] = []
    with LocalStack(policy_file=default_policy_with(BREAKER_ON)) as stack:
        print("measuring ingest...", flush=True)
        rows.append(ingest_latency(stack))
        print(f"measuring event to kill over {EVENT_TO_KILL_ALERTS} alerts...", flush=True)
        rows += event_latency(stack)
        print(f"measuring bursts of {BURST} delete alerts...", flush=True)
        rows += burst(stack)
        print(f"measuring {COLD_ROUNDS} cold starts and the imports they need...", flush=True)
        rows += cold_start(stack)
        rss = peak_rss_mib(stack.responder)
        rows += [
            Row("peak RSS, ingest", f"{peak_rss_mib(stack.ingest):.0f} MiB"),
            Row("peak RSS, responder", f"{rss:.0f} MiB", goal="<= 128 MiB", met=rss <= 128),
        ]
    print("measuring imports...", flush=True)
    env = IMPORT_ENV
    wall, cpu = import_seconds("ingest.main", env)
    rows.append(
        Row(f"cold import: {FRAMEWORK}, then `ingest.main`", f"{wall:.2f} s (CPU {cpu:.2f} s)")
    )
    wall, cpu = import_seconds("responder.main", env)
    # What the responder cannot start without, whatever its own code: the framework that
    # serves it, the Pub/Sub client every alert's outcome goes through, and pydantic, in
    # which the policy is validated at start.
    needed, _ = import_seconds(", ".join(STARTUP_LIBRARIES), env, paused=True)
    rows.append(
        Row(
            f"cold import: {FRAMEWORK}, then `responder.main`",
            f"{wall:.2f} s (CPU {cpu:.2f} s)",
            f"import {FRAMEWORK}, then with the collector paused "
            f"{', '.join(STARTUP_LIBRARIES)}: {needed:.2f} s",
            f"{wall / needed:.1f}x",
        )
    )
    text = table(rows)
    missed = [r.measure for r in rows if r.met is False]
    verdict = f"{len(missed)} goal(s) missed: {'; '.join(missed)}" if missed else "every goal met"
    report = (
        f"# make bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n{text}\n\n"
        f"Machine: {machine()}.\n\n{verdict}\n"
    )
    print("\n" + report)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(report)
    print(f"written to {RESULTS.relative_to(REPO_ROOT)} and {CHART.relative_to(REPO_ROOT)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
