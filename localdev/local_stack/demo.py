"""`make demo`: the whole pipeline on this machine, fed real Falco alerts, then a table of
what each became. Everything started is stopped at the end.

With KUBECONFIG set, the responder acts on that cluster instead of the emulator, in dry
run unless DRY_RUN=false is set explicitly.
"""

import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localdev.local_stack.fixtures import aimed_at, fixture
from localdev.local_stack.policies import default_policy_with
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.storage_emulator import EVIDENCE_BUCKET
from localdev.local_stack.wait import WaitTimeoutError
from shared import config

OUTCOME_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Case:
    """One input: what it is, and how it is sent (returns a line saying what happened)."""

    title: str
    send: Callable[[LocalStack], str]


def _outcome_line(stack: LocalStack, alert_id: str) -> str:
    try:
        record = stack.wait_for_outcome(alert_id, timeout=OUTCOME_WAIT_SECONDS)
    except WaitTimeoutError:
        return "no outcome yet (see the responder log)"
    if record["decision"] == "dead_letter":
        return f"dead-lettered: {record['error_reason']} ({record['reason']})"
    actions = "; ".join(f"{a['outcome']} {a['target']}: {a['reason']}" for a in record["actions"])
    return f"{record['outcome']}: {actions or record['reason']}"


def _post(alert: dict[str, Any]) -> Callable[[LocalStack], str]:
    def send(stack: LocalStack) -> str:
        response = stack.post(alert)
        if response.status_code != 202:
            return f"HTTP {response.status_code}: {response.json().get('error')}"
        return f"HTTP 202, then {_outcome_line(stack, alert['uuid'])}"

    return send


def _post_raw(body: str) -> Callable[[LocalStack], str]:
    def send(stack: LocalStack) -> str:
        response = stack.post(body)
        return f"rejected, HTTP {response.status_code}: {response.json().get('error')}"

    return send


def _publish_raw(data: bytes) -> Callable[[LocalStack], str]:
    def send(stack: LocalStack) -> str:
        marker = str(uuid.uuid4())
        stack.publish(data, alert_id=marker)
        return f"published, then {_outcome_line(stack, marker)}"

    return send


# The default policy, plus one rule the demo adds to show isolation: a container that
# talks to the Kubernetes API is cut off the network and kept for forensics.
ISOLATE_API_CONTACT = {
    "name": "isolate-api-contact",
    "match": {"rule": "Contact K8S API Server From Container"},
    "actions": [
        {"action": "isolate_pod"},
        {"action": "record_event", "reason": "IsolatedByFalcoResponder"},
    ],
}
# And one showing evidence first: a shell's pod is captured to Cloud Storage (here
# fake-gcs-server), then deleted: a DaemonSet's pod too, since a tenant with `edit` may
# create DaemonSets (node agents belong in protected namespaces).
CAPTURE_THEN_KILL_SHELLS = {
    "name": "capture-then-kill-shells",
    "match": {"rule": "Terminal shell in container"},
    "actions": [{"action": "capture_evidence"}, {"action": "delete_pod"}],
}
API_CONTACT = fixture("falco_041_container_plugin")
API_POD = API_CONTACT["output_fields"]


def cases() -> list[Case]:
    """The demo's inputs, built from the real fixtures."""
    test_event = {**fixture("sidekick_test_event"), "uuid": str(uuid.uuid4())}
    host = {**fixture("host_process_no_k8s"), "uuid": str(uuid.uuid4())}
    api_contact = aimed_at(
        "falco_041_container_plugin", API_POD["k8s.ns.name"], API_POD["k8s.pod.name"]
    )
    return [
        Case(
            "shell in a container (default/kubecon)",
            _post(aimed_at("terminal_shell_in_container", "default", "kubecon")),
        ),
        Case(
            f"API server contact ({API_POD['k8s.ns.name']}/{API_POD['k8s.pod.name'][:12]}...)",
            _post(api_contact),
        ),
        Case(
            "shell in a tenant's DaemonSet pod (default/agent)",
            _post(aimed_at("terminal_shell_in_container", "default", "agent-x7k2p")),
        ),
        Case(
            "shell in a protected namespace (kube-system)",
            _post(aimed_at("terminal_shell_in_container", "kube-system", "coredns-5d78c9869d-x")),
        ),
        Case("host process, no pod fields", _post(host)),
        Case("Falcosidekick test event (POST /test)", _post(test_event)),
        Case("malformed JSON to ingest", _post_raw('{"rule": "Terminal shell in container", ')),
        Case("garbage straight to the alerts topic", _publish_raw(b"\x00not a falco alert")),
    ]


def _seed(stack: LocalStack) -> None:
    """The pods the alerts name, created before the alerts."""
    if stack.kube is None:
        return
    kube, long_ago = stack.kube, datetime.now(UTC) - timedelta(hours=1)
    kube.create_pod("default", "kubecon", creation_timestamp=long_ago)
    kube.write_logs("default", "kubecon", "app", "GET /healthz 200\nGET /admin 200\n")
    kube.create_pod("kube-system", "coredns-5d78c9869d-x", creation_timestamp=long_ago)
    kube.create_namespace(API_POD["k8s.ns.name"])
    kube.create_pod(
        API_POD["k8s.ns.name"],
        API_POD["k8s.pod.name"],
        uid=API_POD["k8s.pod.uid"],
        creation_timestamp=long_ago,
    )
    agent = kube.create_daemonset("default", "agent", {"app": "agent"})
    kube.create_pod("default", "agent-x7k2p", owner=agent, creation_timestamp=long_ago)


def _table(rows: list[tuple[str, str]]) -> str:
    width = max(len(title) for title, _ in rows)
    lines = [f"{'INPUT'.ljust(width)}  WHAT IT BECAME", f"{'-' * width}  {'-' * 14}"]
    lines += [f"{title.ljust(width)}  {result}" for title, result in rows]
    return "\n".join(lines)


def main() -> int:
    """Run the demo; exit 1 if any case got no answer."""
    kubeconfig = config.env(config.KUBECONFIG)
    dry_run = config.env(config.DRY_RUN, "true" if kubeconfig else "false") == "true"
    target = f"the cluster in {kubeconfig}" if kubeconfig else "the Kubernetes API emulator"
    print(f"Starting the local stack against {target} (dry run: {dry_run})...", flush=True)
    policy = default_policy_with({}, first_rules=[ISOLATE_API_CONTACT, CAPTURE_THEN_KILL_SHELLS])
    with LocalStack(
        kubeconfig=Path(kubeconfig) if kubeconfig else None, dry_run=dry_run, policy_file=policy
    ) as stack:
        _seed(stack)
        print(
            f"ingest {stack.ingest_url}, responder {stack.responder_url}, "
            f"Pub/Sub emulator {stack.pubsub_host}\n",
            flush=True,
        )
        rows = [(case.title, case.send(stack)) for case in cases()]
        if stack.kube is not None:
            left = sorted(
                f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                for p in stack.kube.list_objects("pods")
            )
            rows.append(("pods left in the emulated cluster", ", ".join(left) or "none"))
            policies = sorted(
                f"{p['metadata']['namespace']}/{p['metadata']['name']}"
                for p in stack.kube.list_objects("networkpolicies")
            )
            rows.append(("network policies created", ", ".join(policies) or "none"))
        evidence = [
            f"  {blob.size:>7}  gs://{EVIDENCE_BUCKET}/{blob.name}"
            for blob in stack.storage().list_blobs(EVIDENCE_BUCKET)
        ]
        example = stack.outcomes.received[0].json() if stack.outcomes.received else None
    print(_table(rows))
    print("\nEvidence stored before the pods were deleted (falco-responder evidence ALERT_ID):")
    print("\n".join(evidence) or "  none")
    if example is not None:
        print("\nEach alert's outcome record (a JSON log line, also on the responses topic):")
        print(json.dumps(example, indent=2))
    print("\nEverything the demo started has been stopped.")
    return 1 if any("no outcome yet" in result for _, result in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
