"""What is deployed is what is tested.

Each function's archive is built as terraform/functions.tf builds it (tests/function_archive.py),
only its requirements.txt is installed into a fresh virtualenv, and it is served by that
virtualenv's functions-framework from the unpacked archive, as Cloud Functions runs it (no
signature type: the platform declares every function HTTP). An import of anything outside
the archive, or a missing requirement, fails here. One virtualenv per function per session;
pip's cache keeps the installs quick.
"""

import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from google.cloud import pubsub_v1

from localdev.local_stack.fixtures import fixture
from localdev.local_stack.functions import function_service, started
from localdev.local_stack.processes import Service
from localdev.local_stack.stack import INGEST_TOKEN, RESPONDER_TOKEN, LocalStack
from localdev.local_stack.topology import create_topology
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import shell_alert
from tests.function_archive import REPO_ROOT, build_archive, function_specs

# Installing both functions' requirements, on a shared machine, can outlast the default.
pytestmark = pytest.mark.timeout(900)
ARCHIVE_PROJECT = "falco-responder-archive"
# Nothing from this checkout or the user's site-packages may leak into the function.
ISOLATED = {"PYTHONPATH": "", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1"}


def _deployed(name: str, workdir: Path) -> tuple[Path, Path]:
    """The unpacked archive of function `name` and a virtualenv with its requirements."""
    spec = function_specs()[name]
    source = workdir / "source"
    with zipfile.ZipFile(build_archive(spec, workdir / f"{name}.zip")) as archive:
        archive.extractall(source)
    venv.create(workdir / "venv", with_pip=True)
    python = workdir / "venv" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(source / "requirements.txt")],
        check=True,
        cwd=source,
        env={**os.environ, **ISOLATED},
    )
    return source, python


@pytest.fixture(scope="session")
def deployed(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Every function's unpacked archive and virtualenv, installed side by side."""
    names = sorted(function_specs())
    with ThreadPoolExecutor(len(names)) as pool:
        built = pool.map(lambda n: _deployed(n, tmp_path_factory.mktemp(f"{n}-archive")), names)
        return dict(zip(names, built, strict=True))


def _serve(
    name: str, deployed: dict[str, tuple[Path, Path]], env: dict[str, str]
) -> tuple[Service, str]:
    source, python = deployed[name]
    spec = function_specs()[name]
    return started(
        function_service(
            f"{name}-archive",
            "main.py",
            spec.entry_point,
            "http",
            {**env, **ISOLATED},
            root=source,
            python=str(python),
        )
    )


@pytest.fixture(scope="session")
def ingest_archive(stack: LocalStack, deployed) -> Iterator[str]:
    service, url = _serve(
        "ingest",
        deployed,
        {
            config.GOOGLE_CLOUD_PROJECT: stack.project,
            config.PUBSUB_EMULATOR_HOST: stack.pubsub_host,
            config.ALERTS_TOPIC: config.DEFAULT_ALERTS_TOPIC,
            config.INGEST_TOKEN: INGEST_TOKEN,
        },
    )
    yield url
    service.stop()


@pytest.fixture(scope="session")
def responder_archive(stack: LocalStack, deployed, tmp_path_factory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("responder-kubeconfig")
    kubeconfig = stack.kube.write_kubeconfig(workdir / "kubeconfig", token=RESPONDER_TOKEN)
    env = {
        config.GOOGLE_CLOUD_PROJECT: ARCHIVE_PROJECT,
        config.PUBSUB_EMULATOR_HOST: stack.pubsub_host,
        config.DEAD_LETTER_TOPIC: config.DEFAULT_DEAD_LETTER_TOPIC,
        config.RESPONSES_TOPIC: config.DEFAULT_RESPONSES_TOPIC,
        config.KUBECONFIG: str(kubeconfig),
    }
    if stack.policy_file is not None:
        env[config.POLICY_FILE] = str(stack.policy_file)
    service, url = _serve("responder", deployed, env)
    create_topology(ARCHIVE_PROJECT, push_endpoint=f"{url}/")
    yield url
    service.stop()


def test_deployed_ingest_publishes_a_posted_alert(ingest_archive, published, unique):
    alert = {**fixture("sidekick_test_event"), "output": f"archive {unique}"}
    response = requests.post(
        f"{ingest_archive}/",
        json=alert,
        headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 202, response.text
    [message_id] = response.json()["message_ids"]
    [message] = wait_until(
        lambda: [m for m in published.received if m.message_id == message_id],
        30,
        "the alert on the topic",
    )
    assert json.loads(message.data)["output"] == f"archive {unique}"


def test_deployed_responder_deletes_the_pod_of_a_pushed_alert(responder_archive, stack, unique):
    name = f"web-{unique}"
    stack.kube.create_pod(
        "default", name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
    )
    alert = shell_alert(name)
    topic = f"projects/{ARCHIVE_PROJECT}/topics/{config.DEFAULT_ALERTS_TOPIC}"
    pubsub_v1.PublisherClient().publish(topic, json.dumps(alert).encode()).result(30)
    wait_until(lambda: stack.kube.get_pod("default", name) is None, 60, f"pod {name} deleted")


def test_the_wheel_ships_the_functions_and_the_command_but_no_dev_tooling(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        check=True,
        cwd=REPO_ROOT,
    )
    [wheel] = tmp_path.glob("falco_responder-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
    packages = {name for name in top if not name.endswith(".dist-info")}
    assert packages == {"ingest", "responder", "shared", "falco_responder_cli"}
