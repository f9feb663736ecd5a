"""The responder's Kubernetes client decodes times as the stock client does, only faster."""

import json
from types import SimpleNamespace

from kubernetes import client

from responder.kube import kube_api_client_class

POD = {
    "metadata": {"name": "web", "creationTimestamp": "2024-01-02T03:04:05Z"},
    "status": {
        "startTime": "2024-01-02T03:04:06.123456Z",
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-02T03:04:07+02:00"}
        ],
    },
}


def _decode(api_client: client.ApiClient, document: dict) -> client.V1Pod:
    return api_client.deserialize(SimpleNamespace(data=json.dumps(document)), "V1Pod")


def test_times_decode_to_the_same_aware_datetimes_as_the_stock_client():
    ours = _decode(kube_api_client_class()(client.Configuration()), POD)
    stock = _decode(client.ApiClient(client.Configuration()), POD)
    pairs = [
        (ours.metadata.creation_timestamp, stock.metadata.creation_timestamp),
        (ours.status.start_time, stock.status.start_time),
        (
            ours.status.conditions[0].last_transition_time,
            stock.status.conditions[0].last_transition_time,
        ),
    ]
    for mine, theirs in pairs:
        assert mine == theirs
        assert mine.utcoffset() == theirs.utcoffset()


def test_a_time_fromisoformat_refuses_goes_to_the_stock_decoder():
    odd = {"metadata": {"name": "web", "creationTimestamp": "Jan 2 2024 03:04:05 UTC"}}
    ours = _decode(kube_api_client_class()(client.Configuration()), odd)
    stock = _decode(client.ApiClient(client.Configuration()), odd)
    assert ours.metadata.creation_timestamp == stock.metadata.creation_timestamp
