"""The pod as read: each part decoded into the client's model when first read, once."""

from datetime import UTC, datetime

from kubernetes import client

from responder.pods import ReadPod

DOCUMENT = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-1",
        "namespace": "shop",
        "uid": "00000000-0000-4000-8000-000000000001",
        "creationTimestamp": "2026-01-01T00:00:00Z",
        "labels": {"app": "web"},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-7d9c5b6f8",
                "uid": "00000000-0000-4000-8000-000000000002",
                "controller": True,
            }
        ],
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}],
    },
    "spec": {"containers": [{"name": "app", "image": "app:1"}], "nodeName": "node-1"},
    "status": {"phase": "Running"},
}


def test_the_metadata_is_the_clients_model_without_managed_fields():
    pod = ReadPod(DOCUMENT, client.ApiClient())
    metadata = pod.metadata
    assert isinstance(metadata, client.V1ObjectMeta)
    assert (metadata.uid, metadata.labels) == (DOCUMENT["metadata"]["uid"], {"app": "web"})
    assert metadata.creation_timestamp == datetime(2026, 1, 1, tzinfo=UTC)
    assert metadata.owner_references[0].controller is True
    assert metadata.managed_fields is None
    # The JSON itself is left as the API server sent it (the evidence keeps it).
    assert DOCUMENT["metadata"]["managedFields"]


def test_each_part_is_decoded_when_first_read_and_then_kept():
    pod = ReadPod(DOCUMENT, client.ApiClient())
    assert pod.metadata is pod.metadata
    assert "spec" not in vars(pod) and "status" not in vars(pod)  # not decoded yet
    assert isinstance(pod.spec, client.V1PodSpec) and pod.spec.node_name == "node-1"
    assert pod.status.phase == "Running"
    assert "spec" in vars(pod)


def test_a_part_the_answer_lacks_is_none():
    pod = ReadPod({"metadata": {"name": "bare"}}, client.ApiClient())
    assert (pod.metadata.name, pod.spec, pod.status) == ("bare", None, None)
