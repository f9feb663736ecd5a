"""The emulator's object store hands out copies, and its request log a poller's tail."""

from localdev.k8s_api_emulator.requestlog import RequestLog, RequestRecord
from localdev.k8s_api_emulator.store import ObjectStore, json_copy

PODS = ("", "pods")


def _pod(name: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "args": ["a", 1, None, True, 2.5]}]},
    }


def test_json_copy_is_equal_and_shares_nothing_mutable():
    original = _pod("web")
    copied = json_copy(original)
    assert copied == original
    copied["metadata"]["labels"]["app"] = "changed"
    copied["spec"]["containers"][0]["args"].append("more")
    assert original == _pod("web")


def test_what_get_list_and_put_return_cannot_change_the_stored_object():
    store = ObjectStore()
    returned = store.put(PODS, _pod("web"))
    returned["metadata"]["labels"]["app"] = "changed"
    store.get(PODS, "default", "web")["spec"]["containers"].clear()
    store.list(PODS)[0]["metadata"]["name"] = "other"
    stored = store.get(PODS, "default", "web")
    assert stored["metadata"]["labels"] == {"app": "web"}
    assert stored["spec"]["containers"][0]["name"] == "c"
    assert [p["metadata"]["name"] for p in store.list(PODS)] == ["web"]


def test_a_write_replaces_the_object_a_shared_reader_holds_rather_than_changing_it():
    store = ObjectStore()
    store.put(PODS, _pod("web"))
    held = store.shared_object(PODS, "default", "web")
    changed = _pod("web")
    changed["metadata"]["labels"] = {"app": "new"}
    store.put(PODS, changed)
    assert held["metadata"]["labels"] == {"app": "web"}
    assert store.shared(PODS)[0]["metadata"]["labels"] == {"app": "new"}


def test_the_request_log_gives_a_poller_only_what_came_after_its_mark():
    log = RequestLog()
    records = [RequestRecord("GET", f"/api/v1/{i}", {}, 200, None) for i in range(5)]
    for record in records[:3]:
        log.append(record)
    assert log.since(0) == records[:3]
    for record in records[3:]:
        log.append(record)
    assert log.since(3) == records[3:]
    assert log.since(5) == []
