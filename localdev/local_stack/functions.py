"""Both functions under functions-framework, each in its own process, as Cloud Run runs them."""

import sys
from collections.abc import Mapping
from pathlib import Path

from localdev.local_stack.processes import Service, free_port, http_answers
from shared import config

REPO_ROOT = Path(__file__).resolve().parents[2]
# terraform/variables.tf's default ingest_memory (tests/unit/test_terraform.py keeps them equal).
INGEST_MEMORY = "512Mi"


def function_service(
    name: str,
    source: str,
    target: str,
    signature: str,
    env: Mapping[str, str],
    *,
    root: Path = REPO_ROOT,
    python: str = sys.executable,
) -> tuple[Service, str]:
    """`target` from `source` (relative to `root`, which is the working directory) under
    functions-framework with `python`, not started yet; returns the service and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = Service(
        name,
        [
            python,
            "-m",
            "functions_framework",
            "--source",
            str(root / source),
            "--target",
            target,
            "--signature-type",
            signature,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=root,
    )
    return service, url


def started(function: tuple[Service, str]) -> tuple[Service, str]:
    """Start a `function_service(...)` and wait until it answers HTTP."""
    service, url = function
    service.start(lambda: http_answers(url))
    return function


def start_ingest(env: Mapping[str, str]) -> tuple[Service, str]:
    """The HTTP function `ingest`, with as many threads and as much memory as Terraform
    gives it by default."""
    deployed = {
        config.THREADS: str(config.DEFAULT_INGEST_CONCURRENCY),
        config.INGEST_MEMORY: INGEST_MEMORY,
    }
    return started(
        function_service("ingest", "ingest/main.py", "ingest", "http", {**deployed, **env})
    )


def responder_service(
    env: Mapping[str, str], source: str = "responder/main.py", target: str = "respond"
) -> tuple[Service, str]:
    """The CloudEvent function `respond` (or a stand-in on the same push path), with as
    many threads as Terraform gives it, not started yet."""
    threads = {config.THREADS: str(config.DEFAULT_RESPONDER_CONCURRENCY)}
    return function_service("responder", source, target, "cloudevent", {**threads, **env})


def start_responder(
    env: Mapping[str, str], source: str = "responder/main.py", target: str = "respond"
) -> tuple[Service, str]:
    """Start `responder_service(...)` and wait until it answers HTTP."""
    return started(responder_service(env, source, target))
