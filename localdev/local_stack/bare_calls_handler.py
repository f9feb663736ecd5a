"""The floor of the calls: a CloudEvent function that makes, bare, the calls one delete
needs, and nothing of ours.

It runs as the empty handler does (functions-framework, the responder's threads, the
same push path), and for each message makes the calls the responder makes for a delete
through the same client libraries, configured as the responder configures them and in
the forms it uses: GET the pod (decoded: the actions read it), PUT the breaker's
ConfigMap (plain JSON, at the resourceVersion last written, one thread at a time, with a
count as large as the responder's), DELETE the pod on its UID and resourceVersion with the
default policy's grace period (the answer undecoded), and one awaited Publish of an
outcome-sized message. Its process CPU per message, beside the empty handler's, is what
those calls cost at the responder's concurrency: the client libraries' own work, gRPC's
threads, and the threads handing the GIL to each other. The pod is named by the
message's `pod` attribute, so not even the alert is parsed.
"""

import json
import threading
from datetime import UTC, datetime
from typing import Any

import functions_framework
from cloudevents.http import CloudEvent
from google.pubsub_v1 import PubsubMessage

from responder import k8s
from responder.actions.pod import MIN_GRACE_SECONDS
from responder.breaker_count import stored_key
from responder.circuit_breaker import CONFIGMAP, DATA_KEY
from responder.kube import kube_api_client_class
from shared import config
from shared.pubsub import PUBLISH_RETRY, PUBLISH_TIMEOUT_SECONDS, publisher, topic_path

NAMESPACE = "falco-responder"
# The size of a delete's outcome record as the responder publishes it.
OUTCOME_BYTES = 600
# The count the breaker holds at the bench's rate: a second of deletes.
COUNT_ENTRIES = 100


def _core() -> Any:
    configuration = k8s.Configuration()  # as responder.kube configures it
    k8s.config.load_kube_config(
        config_file=config.env(config.KUBECONFIG), client_configuration=configuration
    )
    configuration.retries = False
    return k8s.CoreV1Api(kube_api_client_class()(configuration))


CORE = _core()
# The responder's deadline for each Kubernetes call (responder.handler.Settings).
TIMEOUT = config.env_float(config.KUBE_TIMEOUT_SECONDS, config.DEFAULT_KUBE_TIMEOUT_SECONDS)
TOPIC = topic_path(config.env(config.RESPONSES_TOPIC, config.DEFAULT_RESPONSES_TOPIC))
OUTCOME = PubsubMessage(data=b"x" * OUTCOME_BYTES, attributes={"alert_id": "bare"})
LOCK = threading.Lock()


def _read() -> dict[str, Any]:
    answer = CORE.read_namespaced_config_map(
        CONFIGMAP, NAMESPACE, _request_timeout=TIMEOUT, _preload_content=False
    )
    try:
        return json.loads(answer.data)
    finally:
        answer.release_conn()


# Started after the responder's first delete, which created the ConfigMap; the count as
# the responder left it, filled up to a second of the bench's deletes.
STORED = _read()
COUNT: dict[str, str] = json.loads(STORED["data"][DATA_KEY])
COUNT.update(
    {
        stored_key("default", f"pod/filler-{i}"): datetime.now(UTC).isoformat()
        for i in range(COUNT_ENTRIES - len(COUNT))
    }
)


def _count(namespace: str, uid: str) -> None:
    """Write the count with this pod in it, keyed as the responder keys it; read again only
    if someone wrote first."""
    global STORED
    COUNT[stored_key(namespace, f"pod/{uid}")] = datetime.now(UTC).isoformat()
    COUNT.pop(next(iter(COUNT)))  # the same size: one in, one out
    while True:
        body = {**STORED, "data": {DATA_KEY: json.dumps(COUNT, sort_keys=True)}}
        try:
            answer = CORE.replace_namespaced_config_map(
                CONFIGMAP, NAMESPACE, body, _request_timeout=TIMEOUT, _preload_content=False
            )
        except k8s.ApiException as exc:
            if exc.status != 409:
                raise
            STORED = _read()
            continue
        try:
            STORED = json.loads(answer.data)
        finally:
            answer.release_conn()
        return


@functions_framework.cloud_event
def bare(event: CloudEvent) -> None:
    """GET the pod, count it, DELETE it as read, publish an outcome; return (ack)."""
    attributes = event.data["message"]["attributes"]
    name, namespace = attributes["pod"], attributes["namespace"]
    answer = CORE.read_namespaced_pod(
        name, namespace, _request_timeout=TIMEOUT, _preload_content=False
    )
    try:
        metadata = json.loads(answer.data)["metadata"]
    finally:
        answer.release_conn()
    uid, version = metadata["uid"], metadata["resourceVersion"]
    with LOCK:
        _count(namespace, uid)
    answer = CORE.delete_namespaced_pod(
        name,
        namespace,
        body={
            "gracePeriodSeconds": MIN_GRACE_SECONDS,
            "preconditions": {"uid": uid, "resourceVersion": version},
        },
        _request_timeout=TIMEOUT,
        _preload_content=False,
    )
    answer.read()
    answer.release_conn()
    publisher().publish(
        topic=TOPIC,
        messages=[OUTCOME],
        retry=PUBLISH_RETRY.with_timeout(PUBLISH_TIMEOUT_SECONDS),
        timeout=PUBLISH_TIMEOUT_SECONDS,
    )
