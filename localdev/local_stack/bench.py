"""`make bench`: throughput, latency, import time and memory on the local stack.

Each figure stands beside a baseline on the same emulator, so the ratio says what our
code costs rather than what this machine or the emulator can do:
- ingest throughput (single and batched requests) beside a raw publisher loop;
- latency from POST to pod deleted beside an empty CloudEvent handler on a second push
  subscription of the same topic (each alert reaches both; both are timed on it). The
  emulator's push scheduling (about 100 ms a round) dominates both, so read a ratio near
  1 as "the responder's own work is lost in delivery jitter", not as a speed-up;
- import time of each function's module; peak RSS of each function process.
The table is printed and written to bench-results/bench.md.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google.cloud import pubsub_v1

from localdev.local_stack.fixtures import aimed_at, fixture
from localdev.local_stack.functions import REPO_ROOT, start_responder
from localdev.local_stack.policies import MANY_ACTIONS, default_policy_with
from localdev.local_stack.processes import Service
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until
from shared import config

SINGLE_REQUESTS = 400
BATCHES, BATCH_SIZE = 20, 50
LATENCY_SAMPLES = 300
CLIENT_THREADS = 8
RESULTS = REPO_ROOT / "bench-results" / "bench.md"


def _test_event() -> dict:
    return {**fixture("sidekick_test_event"), "uuid": str(uuid.uuid4())}


def _rate(count: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def ingest_single(stack: LocalStack) -> float:
    """Alerts per second, one alert per request, CLIENT_THREADS senders."""

    def send(_: int) -> None:
        response = stack.post(_test_event())
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")

    def run() -> None:
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(send, range(SINGLE_REQUESTS)))

    return _rate(SINGLE_REQUESTS, run)


def ingest_batched(stack: LocalStack) -> float:
    """Alerts per second, BATCH_SIZE alerts per request."""

    def send(_: int) -> None:
        response = stack.post([_test_event() for _ in range(BATCH_SIZE)])
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")

    def run() -> None:
        with ThreadPoolExecutor(CLIENT_THREADS) as pool:
            list(pool.map(send, range(BATCHES)))

    return _rate(BATCHES * BATCH_SIZE, run)


def raw_publisher(stack: LocalStack) -> float:
    """Messages per second from one publisher client, every publish confirmed."""
    publisher = pubsub_v1.PublisherClient()
    payloads = [json.dumps(_test_event()).encode() for _ in range(SINGLE_REQUESTS)]
    topic = stack.topology.alerts_topic

    def run() -> None:
        futures = [publisher.publish(topic, data) for data in payloads]
        for future in futures:
            future.result(timeout=60)

    return _rate(len(payloads), run)


def _percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def start_baseline(stack: LocalStack, markers: Path) -> Service:
    """The empty handler behind a second push subscription on the same alerts topic."""
    service, url = start_responder(
        {"BENCH_MARKER_DIR": str(markers)}, "localdev/local_stack/empty_handler.py", "empty"
    )
    subscriber = pubsub_v1.SubscriberClient()
    subscriber.create_subscription(
        request={
            "name": subscriber.subscription_path(stack.project, "falco-alerts-bench-baseline"),
            "topic": stack.topology.alerts_topic,
            "push_config": {"push_endpoint": f"{url}/"},
        }
    )
    subscriber.close()
    return service


def latencies(stack: LocalStack, markers: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds from POST to pod deleted, and to the empty handler run, for the same alerts."""
    kube = stack.kube
    ours, baseline = [], []
    created = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(LATENCY_SAMPLES):
        name = f"bench-{i}"
        kube.create_pod("default", name, creation_timestamp=created)
        alert = aimed_at("terminal_shell_in_container", "default", name)
        marker = markers / alert["uuid"]
        done: dict[str, float] = {}

        def finished(n: str = name, m: Path = marker, d: dict[str, float] = done) -> bool:
            now = time.perf_counter()
            if "ours" not in d and kube.get_pod("default", n) is None:
                d["ours"] = now
            if "baseline" not in d and m.exists():
                d["baseline"] = now
            return len(d) == 2

        start = time.perf_counter()
        stack.post(alert).raise_for_status()
        wait_until(finished, 30, f"{name} deleted and the empty handler run", interval=0.001)
        ours.append(done["ours"] - start)
        baseline.append(done["baseline"] - start)
    return _percentiles(ours), _percentiles(baseline)


def import_seconds(module: str, env: dict[str, str]) -> float:
    """Median over 5 fresh interpreters of the time to import `module`."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                env={**os.environ, **env},
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(5)
    ]
    return statistics.median(runs)


def peak_rss_mib(service: Service) -> float:
    """Largest VmHWM among the service's processes (functions-framework forks a worker)."""
    group = os.getpgid(service.process.pid)
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if os.getpgid(int(status.parent.name)) != group:
                continue
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return max(peaks)


def main() -> int:
    """Run every measurement, print the table, write it to bench-results/bench.md."""
    rows: list[tuple[str, str, str, str]] = []
    with LocalStack(policy_file=default_policy_with(MANY_ACTIONS)) as stack:
        stack.kube.create_pod("default", "warm-up")
        print("measuring ingest throughput...", flush=True)
        single, batched, raw = ingest_single(stack), ingest_batched(stack), raw_publisher(stack)
        rows += [
            (
                "ingest, 1 alert/request",
                f"{single:.0f} alerts/s",
                f"raw publisher {raw:.0f}/s",
                f"{single / raw:.2f}",
            ),
            (
                f"ingest, {BATCH_SIZE} alerts/request",
                f"{batched:.0f} alerts/s",
                f"raw publisher {raw:.0f}/s",
                f"{batched / raw:.2f}",
            ),
        ]
        print("measuring POST-to-deleted latency...", flush=True)
        with tempfile.TemporaryDirectory() as markers:
            baseline_service = start_baseline(stack, Path(markers))
            try:
                ours, base = latencies(stack, Path(markers))
            finally:
                baseline_service.stop()
        for key in ("p50", "p95", "p99"):
            rows.append(
                (
                    f"POST to pod deleted, {key}",
                    f"{ours[key]:.1f} ms",
                    f"empty handler {base[key]:.1f} ms",
                    f"{ours[key] / base[key]:.2f}",
                )
            )
        rows += [
            ("peak RSS, ingest", f"{peak_rss_mib(stack.ingest):.0f} MiB", "", ""),
            ("peak RSS, responder", f"{peak_rss_mib(stack.responder):.0f} MiB", "", ""),
        ]
    env = {config.GOOGLE_CLOUD_PROJECT: "bench", config.INGEST_TOKEN: "bench"}
    for module in ("ingest.main", "responder.main"):
        rows.append((f"import {module}", f"{import_seconds(module, env) * 1000:.0f} ms", "", ""))

    header = ("measure", "falco-responder", "baseline", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]
    ]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    table = "\n".join(f"| {line} |" for line in lines)
    print("\n" + table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(f"# make bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n\n{table}\n")
    print(f"\nwritten to {RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
