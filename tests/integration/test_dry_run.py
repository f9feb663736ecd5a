"""DRY_RUN=true: every read and check happens (the delete is a server-side dry run), and
nothing changes. A second stack on the same Pub/Sub emulator, in a project of its own."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from localdev.local_stack.stack import LocalStack
from tests.conftest import as_bytes, shell_alert


@pytest.fixture(scope="module")
def dry_stack(stack: LocalStack) -> Iterator[LocalStack]:
    with LocalStack(
        dry_run=True,
        pubsub_host=stack.pubsub_host,
        project="falco-responder-dry-run",
        policy_file=stack.policy_file,
    ) as dry:
        yield dry


def test_dry_run_checks_everything_and_deletes_nothing(dry_stack, unique):
    name = f"web-{unique}"
    dry_stack.kube.create_pod(
        "default", name, creation_timestamp=datetime.now(UTC) - timedelta(minutes=5)
    )
    alert = shell_alert(name)
    dry_stack.publish(as_bytes(alert))
    record = dry_stack.wait_for_outcome(alert["uuid"])
    assert (record["outcome"], record["dry_run"]) == ("dry_run", True)
    assert record["actions"][0]["outcome"] == "dry_run"
    assert dry_stack.kube.pod_running("default", name)
    # The delete went to the API server, as a dry run: permissions and preconditions checked.
    [delete] = [r for r in dry_stack.kube.requests if r.method == "DELETE"]
    assert delete.status == 200
    assert delete.path.endswith(f"/pods/{name}")
