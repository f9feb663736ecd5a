"""The safety rails and the circuit breaker through the deployed path (push subscription,
responder under functions-framework, Kubernetes API emulator)."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until
from responder.actions import KubeApis
from responder.circuit_breaker import CONFIGMAP, Breaker, LastSeen
from responder.outcome import CIRCUIT_BREAKER_OPEN
from responder.policy import CircuitBreaker
from tests.conftest import as_bytes, kube_api_client
from tests.integration.conftest import (
    dead_lettered_by_pubsub,
    deployment_pods,
    old_pod,
    outcomes,
    policy_rule,
    rule_alert,
    stack_with_policy,
)

DELETE = {"action": "delete_pod"}
POLICY = {
    "safety": {"circuit_breaker": {"max_actions": 100_000}},
    "rules": [
        policy_rule("delete", DELETE),
        policy_rule(
            "label-then-delete-no-ds",
            {"action": "label_pod", "add": {"flagged": "true"}},
            DELETE,
            safety={"ignore_daemonset_pods": True},
        ),
        policy_rule("delete-no-sts", DELETE, safety={"ignore_statefulset_pods": True}),
        policy_rule("delete-no-standalone", DELETE, safety={"ignore_standalone_pods": True}),
        policy_rule("delete-keep-half", DELETE, safety={"min_healthy_replicas": "50%"}),
        policy_rule("delete-keep-two", DELETE, safety={"min_healthy_replicas": 2}),
        policy_rule("delete-any-age", DELETE, safety={"max_alert_age": None}),
        policy_rule("delete-pod-opt-out", DELETE, safety={"allow_pod_opt_out": True}),
        policy_rule(
            "dry-delete-keep-two", DELETE, dry_run=True, safety={"min_healthy_replicas": 2}
        ),
        policy_rule(
            "scale-keep-two", {"action": "scale_to_zero"}, safety={"min_healthy_replicas": 2}
        ),
        policy_rule("isolate", {"action": "isolate_pod"}),
        policy_rule("isolate-loosely", {"action": "isolate_pod", "allow_cidrs": ["0.0.0.0/0"]}),
    ],
}


@pytest.fixture(scope="module")
def railed(stack: LocalStack) -> Iterator[LocalStack]:
    with stack_with_policy(stack, POLICY, "falco-responder-rails") as local:
        yield local


def respond(stack: LocalStack, rule: str, pod: str, namespace: str = "default", **alert) -> dict:
    body = rule_alert(pod, rule, namespace=namespace, **alert)
    stack.publish(as_bytes(body))
    return outcomes(stack, body["uuid"], 1)[0]


def test_an_opt_out_label_on_the_pod_counts_only_where_the_policy_allows_it(railed, unique):
    # Whoever can edit the pod, the workload itself, could otherwise opt out.
    name = f"web-{unique}"
    old_pod(railed, "default", name, labels={"falco-responder/ignore": "true"})
    record = respond(railed, "delete", name)
    assert (record["decision"], record["outcome"]) == ("act", "acted")
    assert railed.kube.pod_deleted("default", name)


def test_an_opt_out_label_on_the_pod_is_respected_when_allowed(railed, unique):
    name = f"web-{unique}"
    old_pod(railed, "default", name, labels={"falco-responder/ignore": "true"})
    record = respond(railed, "delete-pod-opt-out", name)
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"] == "pod is labelled falco-responder/ignore=true"
    assert railed.kube.pod_running("default", name)


def test_an_opt_out_label_on_the_namespace_is_respected(railed, unique):
    namespace = f"team-{unique}"
    railed.kube.create_namespace(namespace, labels={"falco-responder/ignore": "true"})
    old_pod(railed, namespace, "web")
    record = respond(railed, "delete", "web", namespace=namespace)
    assert record["reason"] == f"namespace {namespace} is labelled falco-responder/ignore=true"
    assert railed.kube.pod_running(namespace, "web")


def test_a_daemonsets_pod_is_deleted_like_any_other_by_default(railed, unique):
    # `edit` may create DaemonSets: sparing their pods would let any workload opt out.
    daemonset = railed.kube.create_daemonset("default", f"agent-{unique}", {"app": unique})
    name = f"agent-{unique}-x"
    old_pod(railed, "default", name, owner=daemonset)
    record = respond(railed, "delete", name)
    assert record["actions"][0]["outcome"] == "done"
    assert railed.kube.pod_deleted("default", name)


def test_with_no_owner_aware_rail_on_the_pods_controller_is_not_read(railed, unique):
    [pod] = deployment_pods(railed, f"web-{unique}", replicas=1)
    mark = len(railed.kube.requests)
    record = respond(railed, "delete", pod["metadata"]["name"])
    assert record["actions"][0]["outcome"] == "done"
    paths = [r.path for r in railed.kube.requests_since(mark)]
    assert any(path.endswith(f"/pods/{pod['metadata']['name']}") for path in paths)
    assert not [path for path in paths if path.startswith("/apis/apps/")]


def test_daemonset_pods_refuse_destructive_actions_but_not_labels_where_the_rule_says_so(
    railed, unique
):
    daemonset = railed.kube.create_daemonset("default", f"agent-{unique}", {"app": unique})
    name = f"agent-{unique}-x"
    old_pod(railed, "default", name, owner=daemonset)
    record = respond(railed, "label-then-delete-no-ds", name)
    label, delete = record["actions"]
    assert (record["decision"], label["outcome"]) == ("act", "done")
    assert delete["outcome"] == "skipped"
    assert delete["reason"] == (
        f"refused: a pod of daemonset/default/agent-{unique} (ignore_daemonset_pods)"
    )
    assert railed.kube.get_pod("default", name)["metadata"]["labels"]["flagged"] == "true"


def test_statefulset_pods_when_a_rule_says_so(railed, unique):
    statefulset = railed.kube.create_statefulset("default", f"db-{unique}", 3, {"app": unique})
    old_pod(railed, "default", f"db-{unique}-0", owner=statefulset)
    record = respond(railed, "delete-no-sts", f"db-{unique}-0")
    assert "(ignore_statefulset_pods)" in record["actions"][0]["reason"]
    assert railed.kube.pod_running("default", f"db-{unique}-0")
    # the default policy's rails allow them
    record = respond(railed, "delete", f"db-{unique}-0")
    assert record["actions"][0]["outcome"] == "done"


def test_standalone_pods_when_a_rule_says_so(railed, unique):
    old_pod(railed, "default", f"bare-{unique}")
    record = respond(railed, "delete-no-standalone", f"bare-{unique}")
    assert record["actions"][0]["reason"] == "refused: a standalone pod (ignore_standalone_pods)"


def test_min_healthy_replicas_as_a_percentage_counts_only_ready_pods(railed, unique):
    # 4 desired, 2 ready: 50% means 2 must stay ready.
    pods = deployment_pods(railed, f"api-{unique}", replicas=4, ready=2)
    ready, unready = pods[0]["metadata"]["name"], pods[3]["metadata"]["name"]
    refused = respond(railed, "delete-keep-half", ready)
    assert refused["actions"][0]["outcome"] == "skipped"
    assert refused["actions"][0]["reason"] == (
        f"refused: min_healthy_replicas 50%: acting would leave 1 ready pod(s) of "
        f"deployment/default/api-{unique} (4 desired), 2 required"
    )
    assert railed.kube.pod_running("default", ready)
    # An unready pod leaves both ready ones: allowed.
    allowed = respond(railed, "delete-keep-half", unready)
    assert allowed["actions"][0]["outcome"] == "done"


def test_min_healthy_replicas_as_a_count(railed, unique):
    pods = deployment_pods(railed, f"web-{unique}", replicas=3)
    first = respond(railed, "delete-keep-two", pods[0]["metadata"]["name"])
    assert first["actions"][0]["outcome"] == "done"
    second = respond(railed, "delete-keep-two", pods[1]["metadata"]["name"])
    assert second["actions"][0]["outcome"] == "skipped"
    assert "acting would leave 1 ready pod(s)" in second["actions"][0]["reason"]


def test_the_rails_hold_in_dry_run_too(railed, unique):
    pods = deployment_pods(railed, f"dry-{unique}", replicas=3)
    allowed = respond(railed, "dry-delete-keep-two", pods[0]["metadata"]["name"])
    assert (allowed["outcome"], allowed["actions"][0]["outcome"]) == ("dry_run", "dry_run")
    railed.kube.create_deployment("default", f"pair-{unique}", 2, {"app": f"pair-{unique}"})
    [replica_set] = railed.kube.owned_by(
        railed.kube.get_object("deployments", f"pair-{unique}", namespace="default")
    )
    for i in range(2):
        old_pod(railed, "default", f"pair-{unique}-{i}", owner=replica_set)
    refused = respond(railed, "dry-delete-keep-two", f"pair-{unique}-0")
    assert refused["actions"][0]["outcome"] == "skipped"
    assert "min_healthy_replicas 2" in refused["actions"][0]["reason"]
    assert all(railed.kube.get_pod("default", p["metadata"]["name"]) for p in pods)


def test_min_healthy_replicas_refuses_scaling_the_workload_to_zero(railed, unique):
    pods = deployment_pods(railed, f"big-{unique}", replicas=5)
    record = respond(railed, "scale-keep-two", pods[0]["metadata"]["name"])
    assert record["actions"][0]["outcome"] == "skipped"
    assert "scaling deployment/default/big-" in record["actions"][0]["reason"]
    assert (
        railed.kube.get_object("deployments", f"big-{unique}", namespace="default")["spec"][
            "replicas"
        ]
        == 5
    )


def test_isolation_is_never_loosened(railed, unique):
    name = f"web-{unique}"
    old_pod(railed, "default", name)
    assert respond(railed, "isolate", name)["actions"][0]["outcome"] == "done"
    looser = respond(railed, "isolate-loosely", name)
    assert looser["actions"][0]["outcome"] == "already_done"
    assert "never loosened" in looser["actions"][0]["reason"]
    labels = railed.kube.get_pod("default", name)["metadata"]["labels"]
    assert labels["falco-responder/isolated"] == "true"


def test_an_alert_dated_in_the_future_is_not_acted_on(railed, unique):
    name = f"web-{unique}"
    old_pod(railed, "default", name)
    record = respond(railed, "delete", name, time=datetime.now(UTC) + timedelta(hours=1))
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert "in the future" in record["reason"]
    assert railed.kube.pod_running("default", name)


def test_a_controller_gone_while_checking_is_retried_not_dead_lettered_at_once(railed, unique):
    # The pod names a ReplicaSet that no longer exists (deleted mid-rollout).
    gone = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"gone-{unique}",
            "namespace": "default",
            "uid": "00000000-0000-4000-8000-000000000001",
        },
    }
    name = f"orphan-{unique}"
    old_pod(railed, "default", name, owner=gone)
    alert = rule_alert(name, "delete-no-sts")  # an owner-aware rail: the owner is read
    railed.publish(as_bytes(alert))
    dead_lettered_by_pubsub(railed, alert)
    assert railed.kube.pod_running("default", name)


def test_a_stale_alert_is_logged_not_acted_on(railed, unique):
    name = f"web-{unique}"
    railed.kube.create_pod(
        "default", name, creation_timestamp=datetime.now(UTC) - timedelta(hours=5)
    )
    record = respond(railed, "delete", name, time=datetime.now(UTC) - timedelta(hours=2))
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert "over max_alert_age 1:00:00: not acted on" in record["reason"]
    assert railed.kube.pod_running("default", name)
    assert not [r for r in railed.kube.requests if r.path.endswith(f"/pods/{name}")]
    # a rule may lift the limit
    record = respond(railed, "delete-any-age", name, time=datetime.now(UTC) - timedelta(hours=2))
    assert record["actions"][0]["outcome"] == "done"


# The circuit breaker.


@pytest.fixture
def breaking(stack: LocalStack, unique: str) -> Iterator[LocalStack]:
    """A stack whose breaker allows two destructive actions, both in one namespace if need
    be; its count starts empty."""
    policy = {
        "safety": {"circuit_breaker": {"max_actions": 2, "window": "10m", "namespace_share": 1}},
        "rules": [policy_rule("delete", DELETE), policy_rule("evict", {"action": "evict_pod"})],
    }
    with stack_with_policy(stack, policy, f"falco-responder-breaker-{unique}") as local:
        yield local


def test_past_the_breaker_destructive_actions_become_a_label_and_an_event(breaking, unique):
    names = [f"web-{unique}-{i}" for i in range(3)]
    uids = [old_pod(breaking, "default", name)["metadata"]["uid"] for name in names]
    alerts = []
    for name in names:
        alert = rule_alert(name, "delete")
        breaking.publish(as_bytes(alert))
        alerts.append(alert)
        outcomes(breaking, alert["uuid"], 1)
    records = [breaking.outcomes_for(a["uuid"])[0] for a in alerts]
    assert [r["outcome"] for r in records] == ["acted", "acted", "acted"]
    held = records[2]["actions"]
    assert [a["action"] for a in held] == ["delete_pod", "label_pod", "record_event"]
    assert held[0]["outcome"] == "skipped"
    assert held[0]["reason"].startswith("circuit breaker open: 2 destructive actions in the last")
    assert held[0]["reason"].endswith("labelled and recorded instead")
    third = breaking.kube.get_pod("default", names[2])
    assert third["metadata"]["labels"]["falco-responder/quarantine"] == "circuit-breaker"
    assert all(breaking.kube.pod_deleted("default", n) for n in names[:2])
    events = [
        e
        for e in breaking.kube.list_objects("events", namespace="default")
        if e["involvedObject"]["name"] == names[2]
    ]
    assert [e["reason"] for e in events] == ["FalcoResponderCircuitOpen"]
    # ...and one log line says the breaker held it back, for the alert policy to match.
    lines = [
        json.loads(line)
        for line in breaking.responder.log_text().splitlines()
        if line.startswith("{")
    ]
    held_back = [line for line in lines if line.get("event") == CIRCUIT_BREAKER_OPEN]
    assert [line["alert_id"] for line in held_back] == [alerts[2]["uuid"]]
    assert held_back[0]["action"] == "delete_pod"
    # A redelivery of an admitted alert is admitted again without counting twice (once
    # its pod's second of grace is over: within it, the pod is found terminating).
    wait_until(
        lambda: breaking.kube.get_pod("default", names[0]) is None, 10, "the first pod to go"
    )
    breaking.publish(as_bytes(alerts[0]))
    redelivered = outcomes(breaking, alerts[0]["uuid"], 2)[1]
    assert redelivered["actions"][0]["reason"] == "pod not found: already gone"
    counted = breaking.kube.get_object("configmaps", CONFIGMAP, namespace="falco-responder")
    assert [counted["data"]["admitted"].count(uid) for uid in uids] == [1, 1, 0]


def test_one_namespace_cannot_open_the_breaker_for_the_others(stack, unique):
    """A tenant with `edit` makes throwaway pods and sets off alerts in them: past its
    namespace's share (half of 4), its own pods are only labelled, and another
    namespace's compromised pod is still deleted."""
    policy = {
        "safety": {"circuit_breaker": {"max_actions": 4, "window": "10m"}},
        "rules": [policy_rule("delete", DELETE)],
    }
    with stack_with_policy(stack, policy, f"falco-responder-share-{unique}") as local:
        noisy = f"noisy-{unique}"
        local.kube.create_namespace(noisy)
        throwaway = [f"decoy-{i}" for i in range(3)]
        for name in throwaway:
            old_pod(local, noisy, name)
        old_pod(local, "default", f"victim-{unique}")
        records = [respond(local, "delete", name, namespace=noisy) for name in throwaway]
        assert [r["actions"][0]["outcome"] for r in records] == ["done", "done", "skipped"]
        held = records[2]["actions"]
        assert [a["action"] for a in held] == ["delete_pod", "label_pod", "record_event"]
        assert held[0]["reason"].startswith(
            f"circuit breaker open for namespace {noisy}: 2 of the last 0:10:00's"
        )
        labels = local.kube.get_pod(noisy, throwaway[2])["metadata"]["labels"]
        assert labels["falco-responder/quarantine"] == "circuit-breaker"
        victim = respond(local, "delete", f"victim-{unique}")
        assert victim["actions"][0]["outcome"] == "done"
        assert local.kube.pod_deleted("default", f"victim-{unique}")


def test_alerts_about_a_pod_already_going_take_no_breaker_slot(breaking, unique):
    # Falco raises an alert per event, each with its own uuid. Evicted with its grace
    # period, the pod is still terminating when the next alerts about it arrive.
    noisy, other = f"noisy-{unique}", f"other-{unique}"
    old_pod(breaking, "default", noisy)
    old_pod(breaking, "default", other)
    records = []
    for name in (noisy, noisy, noisy, other):
        alert = rule_alert(name, "evict")
        breaking.publish(as_bytes(alert))
        records.append(outcomes(breaking, alert["uuid"], 1)[0])
    assert [r["actions"][0]["outcome"] for r in records] == [
        "done",
        "already_done",
        "already_done",
        "done",
    ]
    assert records[1]["actions"][0]["reason"].startswith("pod is already terminating")


@pytest.fixture
def counting(stack: LocalStack, unique: str) -> Iterator[LocalStack]:
    """Two slots, both for one namespace if need be; scaling, cordoning and deleting all
    counted."""
    with stack_with_policy(stack, COUNTING, f"falco-responder-counting-{unique}") as local:
        yield local


COUNTING = {
    "safety": {"circuit_breaker": {"max_actions": 2, "window": "10m", "namespace_share": 1}},
    "rules": [
        policy_rule("scale", {"action": "scale_to_zero"}),
        policy_rule("cordon", {"action": "cordon_node"}),
        policy_rule("delete", DELETE),
    ],
}


def _counted_keys(stack: LocalStack) -> list[str]:
    stored = stack.kube.get_object("configmaps", CONFIGMAP, namespace="falco-responder")
    return sorted(json.loads(stored["data"]["admitted"])) if stored else []


def _first_action(stack: LocalStack, rule: str, pod: str, alert: dict | None = None) -> dict:
    alert = alert or rule_alert(pod, rule)
    stack.publish(as_bytes(alert))
    seen = len(stack.outcomes_for(alert["uuid"]))
    return outcomes(stack, alert["uuid"], seen + 1)[-1]["actions"][0]


def test_the_breaker_counts_what_changes_not_pods_or_alerts(counting, unique):
    app = f"shop-{unique}"
    pods = [p["metadata"]["name"] for p in deployment_pods(counting, app, replicas=2)]
    node = f"node-{unique}"
    counting.kube.create_node(node)
    on_node = [f"on-node-{unique}-{i}" for i in range(2)]
    for name in on_node:
        old_pod(counting, "default", name, node_name=node)
    standalone = f"alone-{unique}"
    old_pod(counting, "default", standalone)

    scaled_alert = rule_alert(pods[0], "scale")
    scaled = _first_action(counting, "scale", pods[0], scaled_alert)
    assert (scaled["outcome"], scaled["target"]) == ("done", f"deployment/default/{app}")
    # The same Deployment through its second pod: nothing left to scale, no slot.
    again = _first_action(counting, "scale", pods[1])
    assert (again["outcome"], again["reason"]) == ("already_done", "already scaled to zero")
    # A redelivery of the first alert: the same.
    assert _first_action(counting, "scale", pods[0], scaled_alert)["outcome"] == "already_done"
    # Nothing to scale for a standalone pod: skipped, no slot.
    assert _first_action(counting, "scale", standalone)["outcome"] == "skipped"
    # One node, cordoned through two of its pods: one slot.
    assert _first_action(counting, "cordon", on_node[0])["outcome"] == "done"
    assert _first_action(counting, "cordon", on_node[1])["outcome"] == "already_done"

    # Each counted for the namespace of the alert's pod.
    assert _counted_keys(counting) == [f"default:deployment/default/{app}", f"default:node/{node}"]
    # Two changes, two slots: the next change is held back.
    held = _first_action(counting, "delete", standalone)
    assert held["outcome"] == "skipped"
    assert held["reason"].startswith("circuit breaker open: 2 destructive actions")


def test_in_dry_run_the_breaker_counts_nothing_through_the_deployed_path(stack, unique):
    with stack_with_policy(
        stack, COUNTING, f"falco-responder-counting-dry-{unique}", dry_run=True
    ) as dry:
        app = f"shop-{unique}"
        pods = [p["metadata"]["name"] for p in deployment_pods(dry, app, replicas=2)]
        for name in pods:
            action = _first_action(dry, "scale", name)
            assert (action["outcome"], action["target"]) == ("dry_run", f"deployment/default/{app}")
        assert dry.kube.get_object("deployments", app, namespace="default")["spec"]["replicas"] == 2
        assert _counted_keys(dry) == []


def _breaker_calls(emulator: KubeApiEmulator, since: int) -> list[tuple[str, int]]:
    return [
        (r.method, r.status)
        for r in emulator.requests[since:]
        if r.path.endswith(f"/configmaps/{CONFIGMAP}") or r.path.endswith("/configmaps")
    ]


def test_the_breaker_writes_on_what_it_saw_and_reads_only_when_that_is_out_of_date():
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")
        apis = KubeApis(kube_api_client(emulator, "t"))
        settings = CircuitBreaker(max_actions=3, window=timedelta(minutes=10), namespace_share=1)
        ours, other = LastSeen(), LastSeen()
        breaker = Breaker(apis, settings, timeout=10, last_seen=ours)

        mark = len(emulator.requests)
        assert breaker.admit("pod/a", "default", dry_run=False) is None
        assert _breaker_calls(emulator, mark) == [("GET", 404), ("POST", 201)]
        mark = len(emulator.requests)
        assert breaker.admit("pod/b", "default", dry_run=False) is None
        assert _breaker_calls(emulator, mark) == [("PUT", 200)]  # no read first

        # Another instance writes: our copy is out of date, the write says so, we read.
        assert Breaker(apis, settings, 10, other).admit("pod/c", "default", dry_run=False) is None
        mark = len(emulator.requests)
        assert breaker.admit("pod/d", "default", dry_run=False).startswith(
            "circuit breaker open: 3"
        )
        # Our copy held two entries: the write is refused, the refusal made on a fresh read.
        assert _breaker_calls(emulator, mark) == [("PUT", 409), ("GET", 200)]
        # A key already counted is admitted on a fresh read too.
        mark = len(emulator.requests)
        assert breaker.admit("pod/a", "default", dry_run=False) is None
        assert _breaker_calls(emulator, mark) == [("GET", 200)]

        # An operator resets the count by deleting it: the next write finds out and creates.
        apis.core.delete_namespaced_config_map(CONFIGMAP, "falco-responder")
        roomier = CircuitBreaker(max_actions=10, window=timedelta(minutes=10), namespace_share=1)
        stale = Breaker(apis, roomier, 10, other)
        mark = len(emulator.requests)
        assert stale.admit("pod/e", "default", dry_run=False) is None
        assert _breaker_calls(emulator, mark) == [("PUT", 404), ("GET", 404), ("POST", 201)]
        assert _counted_keys_in(emulator) == ["default:pod/e"]


def _counted_keys_in(emulator: KubeApiEmulator) -> list[str]:
    stored = emulator.get_object("configmaps", CONFIGMAP, namespace="falco-responder")
    return sorted(json.loads(stored["data"]["admitted"]))


def test_the_count_holds_across_instances_under_contention():
    """Eight writers (as eight function instances would) race; exactly max are admitted."""
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")

        settings = CircuitBreaker(max_actions=5, window=timedelta(minutes=10), namespace_share=1)
        admitted: list[str] = []
        lock = threading.Lock()

        def instance(number: int) -> None:
            breaker = Breaker(KubeApis(kube_api_client(emulator, "t")), settings, timeout=10)
            for attempt in range(3):
                key = f"alert-{number}-{attempt}"
                if breaker.admit(key, "default", dry_run=False) is None:
                    with lock:
                        admitted.append(f"default:{key}")

        threads = [threading.Thread(target=instance, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(admitted) == 5
        stored = emulator.get_object("configmaps", CONFIGMAP, namespace="falco-responder")
        assert sorted(json.loads(stored["data"]["admitted"])) == sorted(admitted)
        conflicts = [r for r in emulator.requests if r.method == "PUT" and r.status == 409]
        assert conflicts, "the writers never raced: the test proves nothing"


def test_in_dry_run_the_breaker_answers_without_counting():
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")
        apis = KubeApis(kube_api_client(emulator, "t"))
        breaker = Breaker(apis, CircuitBreaker(max_actions=1), timeout=10)
        assert breaker.admit("first", "default", dry_run=True) is None
        assert emulator.get_object("configmaps", CONFIGMAP, namespace="falco-responder") is None
        assert breaker.admit("first", "default", dry_run=False) is None
        assert breaker.admit("second", "other", dry_run=True).startswith("circuit breaker open: 1")


def test_one_namespace_takes_at_most_its_share_of_the_breaker():
    """A tenant setting off alerts in its own namespace cannot open the breaker for all."""
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")
        apis = KubeApis(kube_api_client(emulator, "t"))
        moment = datetime.now(UTC)
        # Two keys written before namespaces were counted: the cluster's count only.
        apis.core.create_namespaced_config_map(
            "falco-responder",
            {
                "metadata": {"name": CONFIGMAP},
                "data": {
                    "admitted": json.dumps(
                        {"pod/x": moment.isoformat(), "pod/y": moment.isoformat()}
                    )
                },
            },
        )
        settings = CircuitBreaker(max_actions=7, window=timedelta(minutes=10))
        assert settings.max_actions_per_namespace == 3  # half of 7, rounded down
        breaker = Breaker(apis, settings, timeout=10)
        for key in ("pod/a", "pod/b", "pod/c"):
            assert breaker.admit(key, "noisy", dry_run=False) is None
        assert breaker.admit("pod/d", "noisy", dry_run=False) == (
            "circuit breaker open for namespace noisy: 3 of the last 0:10:00's destructive "
            "actions were for its alerts (max 3, namespace_share 0.5 of 7)"
        )
        assert breaker.admit("pod/a", "noisy", dry_run=False) is None  # already counted
        # Another namespace still has the cluster's room: 2 old + 3 noisy + 2 = 7.
        assert breaker.admit("pod/e", "quiet", dry_run=False) is None
        assert breaker.admit("pod/f", "quiet", dry_run=False) is None
        assert breaker.admit("pod/g", "third", dry_run=False).startswith(
            "circuit breaker open: 7 destructive actions"
        )
        assert _counted_keys_in(emulator) == [
            "noisy:pod/a",
            "noisy:pod/b",
            "noisy:pod/c",
            "pod/x",
            "pod/y",
            "quiet:pod/e",
            "quiet:pod/f",
        ]
    assert CircuitBreaker(max_actions=1).max_actions_per_namespace == 1  # never none


def test_a_change_counted_once_is_not_counted_again_from_another_namespace():
    """A node is no namespace's: cordoned through pods of two namespaces, one slot. A
    change counted before namespaces were (no prefix) is counted already."""
    with KubeApiEmulator() as emulator:
        emulator.add_token("t", verbs="*")
        emulator.create_namespace("falco-responder")
        apis = KubeApis(kube_api_client(emulator, "t"))
        moment = datetime.now(UTC).isoformat()
        apis.core.create_namespaced_config_map(
            "falco-responder",
            {"metadata": {"name": CONFIGMAP}, "data": {"admitted": json.dumps({"pod/x": moment})}},
        )
        breaker = Breaker(apis, CircuitBreaker(max_actions=2, namespace_share=1), timeout=10)
        assert breaker.admit("node/n1", "shop", dry_run=False) is None
        assert breaker.admit("node/n1", "bank", dry_run=False) is None  # counted already
        assert breaker.admit("pod/x", "shop", dry_run=False) is None  # counted already
        assert _counted_keys_in(emulator) == ["pod/x", "shop:node/n1"]
        assert breaker.admit("pod/y", "shop", dry_run=False).startswith(
            "circuit breaker open: 2 destructive actions"
        )


# Clusters.


@pytest.fixture(scope="module")
def clustered(stack: LocalStack) -> Iterator[LocalStack]:
    policy = {
        "safety": {"circuit_breaker": {"max_actions": 100_000}},
        "clusters": {"emulated": {"kubeconfig_context": "emulator"}},
        "rules": [policy_rule("delete", DELETE)],
    }
    with stack_with_policy(stack, policy, "falco-responder-clusters") as local:
        yield local


def test_the_cluster_named_in_the_alert_is_acted_on(clustered, unique):
    name = f"web-{unique}"
    old_pod(clustered, "default", name)
    alert = rule_alert(name, "delete")
    alert["output_fields"]["cluster"] = "emulated"
    clustered.publish(as_bytes(alert))
    record = outcomes(clustered, alert["uuid"], 1)[0]
    assert (record["cluster"], record["outcome"]) == ("emulated", "acted")


@pytest.mark.parametrize("cluster", ["production", None])
def test_an_unknown_or_missing_cluster_is_refused_never_the_default(clustered, unique, cluster):
    name = f"web-{unique}"
    old_pod(clustered, "default", name)
    alert = rule_alert(name, "delete")
    if cluster:
        alert["output_fields"]["cluster"] = cluster
    clustered.publish(as_bytes(alert), alert_id=alert["uuid"])
    record = outcomes(clustered, alert["uuid"], 1)[0]
    assert (record["decision"], record["outcome"]) == ("refuse", "skipped")
    assert record["reason"].endswith("the policy serves emulated: not acted on")
    assert clustered.kube.pod_running("default", name)
