"""Where a missed goal's remainder lies, measured in the same run as the goal's figure.

- CPU per alert: the responder's is the empty handler's (functions-framework, Flask, the
  CloudEvent), plus the calls one delete needs made bare through the same client
  libraries, plus our own code. No code that makes those calls goes below the first two.
- First action from cold: the empty handler's start, plus importing the libraries the
  responder needs beyond functions-framework, plus ours.
- Event to kill: the part of each alert's time that the Kubernetes API emulator spent
  answering the responder's calls, which on GKE a real API server spends.
"""

import json
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google.pubsub_v1 import PubsubMessage

from localdev.local_stack.stack import LocalStack
from responder import k8s
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.kube import kube_api_client_class
from shared import config
from shared.pubsub import publisher

# The size of a delete's outcome record as the responder publishes it.
OUTCOME_BYTES = 600


@dataclass(frozen=True)
class Split:
    """A figure (`total`) as its floor's part, the libraries' part, and ours: the rest."""

    total: float
    floor: float
    libraries: float

    @property
    def ours(self) -> float:
        """What is left for our own code."""
        return self.total - self.floor - self.libraries

    @property
    def least_ratio(self) -> float:
        """The ratio to the floor with no code of ours at all: the floor and the libraries."""
        return (self.floor + self.libraries) / self.floor

    def text(self, floor: str, libraries: str, unit: str, scale: float = 1) -> str:
        """`floor 0.9 + libraries 1.2 + ours 0.5 ms`, each part named."""
        parts = ((floor, self.floor), (libraries, self.libraries), ("ours", self.ours))
        return " + ".join(f"{name} {value * scale:.2f}" for name, value in parts) + f" {unit}"


def bare_delete_calls(stack: LocalStack, rounds: int, per_round: int) -> float:
    """Median over `rounds` of the thread CPU seconds per delete of the calls one delete
    needs, made bare through the responder's client libraries, configured as it
    configures them and in the forms it uses: GET the pod (decoded: the actions read it),
    PUT the breaker's ConfigMap (plain JSON, with a count as large as the responder last
    wrote), DELETE the pod with its UID precondition (the answer undecoded), and one
    Publish of an outcome-sized message.

    Thread CPU time: the Kubernetes API emulator answers on other threads of this process.
    """
    configuration = k8s.Configuration()  # as responder.kube configures it
    k8s.config.load_kube_config(
        config_file=stack.responder_env[config.KUBECONFIG], client_configuration=configuration
    )
    configuration.retries = False
    core = k8s.CoreV1Api(kube_api_client_class()(configuration))
    namespace = "falco-responder"
    answer = core.read_namespaced_config_map(CONFIGMAP, namespace, _preload_content=False)
    stored = json.loads(answer.data)
    count = json.loads(stored["data"][DATA_KEY])
    client, topic = publisher(), stack.topology.responses_topic
    outcome = PubsubMessage(data=b"x" * OUTCOME_BYTES, attributes={"alert_id": "bare"})
    created = datetime.now(UTC) - timedelta(minutes=5)
    warm_up = 10
    total = warm_up + rounds * per_round
    for i in range(total):
        stack.kube.create_pod("default", f"bare-{i}", creation_timestamp=created)

    def delete(i: int) -> None:
        nonlocal stored
        pod = core.read_namespaced_pod(f"bare-{i}", "default")
        count[f"pod/{pod.metadata.uid}"] = datetime.now(UTC).isoformat()
        count.pop(next(iter(count)))  # the same size: one in, one out
        body = {**stored, "data": {DATA_KEY: json.dumps(count, sort_keys=True)}}
        answer = core.replace_namespaced_config_map(
            CONFIGMAP, namespace, body, _preload_content=False
        )
        stored = json.loads(answer.data)
        answer = core.delete_namespaced_pod(
            f"bare-{i}",
            "default",
            body={"gracePeriodSeconds": 0, "preconditions": {"uid": pod.metadata.uid}},
            _preload_content=False,
        )
        answer.read()
        answer.release_conn()
        client.publish(topic=topic, messages=[outcome])

    for i in range(warm_up):
        delete(i)
    per_delete = []
    for round_ in range(rounds):
        start = time.thread_time()
        for i in range(per_round):
            delete(warm_up + round_ * per_round + i)
        per_delete.append((time.thread_time() - start) / per_round)
    return statistics.median(per_delete)
