"""``limit`` and ``continue`` on lists, as the etcd3 store pages them (paging.py); token
cases from upstream's storage/continue_test.go (TestDecodeContinue)."""

import base64
import json
from collections.abc import Iterator

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from localdev.k8s_api_emulator import KubeApiEmulator
from localdev.k8s_api_emulator.paging import decode_continue, encode_continue
from localdev.k8s_api_emulator.status import ApiError
from tests.conftest import kube_api_client

ADMIN = "admin-token"


@pytest.fixture
def emulator() -> Iterator[KubeApiEmulator]:
    with KubeApiEmulator().start() as emu:
        emu.add_token(ADMIN, verbs="*")
        for name in ("a", "b", "c", "d", "e"):
            emu.create_pod("default", name, labels={"odd": str(name in "ace").lower()})
        yield emu


@pytest.fixture
def core(emulator: KubeApiEmulator) -> Iterator[client.CoreV1Api]:
    with kube_api_client(emulator, ADMIN) as api:
        yield client.CoreV1Api(api)


def _names(listing) -> list[str]:
    return [p.metadata.name for p in listing.items]


def test_a_limited_list_is_paged_in_key_order_to_the_end(core):
    first = core.list_namespaced_pod("default", limit=2)
    assert _names(first) == ["a", "b"]
    assert first.metadata.remaining_item_count == 3
    second = core.list_namespaced_pod("default", limit=2, _continue=first.metadata._continue)
    assert _names(second) == ["c", "d"]
    last = core.list_namespaced_pod("default", limit=2, _continue=second.metadata._continue)
    assert _names(last) == ["e"]
    assert last.metadata._continue is None and last.metadata.remaining_item_count is None


def test_a_filtered_page_counts_matches_and_gives_no_remaining_count(core):
    first = core.list_namespaced_pod("default", limit=2, label_selector="odd=true")
    assert _names(first) == ["a", "c"]
    # keys remain after c, so there is a continue token, but no count of them
    assert first.metadata._continue and first.metadata.remaining_item_count is None
    rest = core.list_namespaced_pod(
        "default", limit=2, label_selector="odd=true", _continue=first.metadata._continue
    )
    assert _names(rest) == ["e"] and rest.metadata._continue is None


def test_no_limit_lists_everything(core):
    listing = core.list_namespaced_pod("default")
    assert _names(listing) == ["a", "b", "c", "d", "e"] and listing.metadata._continue is None


def _token(document: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def test_a_token_carries_the_key_after_the_last_item():
    token = encode_continue("web", 7)
    assert decode_continue(token) == "web\x00"
    decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert decoded == {"v": "meta.k8s.io/v1", "rv": 7, "start": "web\x00"}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (_token({"v": "meta.k8s.io/v1", "rv": 1, "start": "../key"}), "not valid: ../key"),
        (_token({"v": "meta.k8s.io/v1", "rv": 1, "start": "./key"}), "not valid: ./key"),
        (_token({"v": "meta.k8s.io/v1", "rv": 1, "start": "a/../b"}), "not valid: a/../b"),
        (_token({"v": "other", "rv": 1, "start": "key"}), "does not recognize this encoded"),
        (_token({"v": "meta.k8s.io/v1", "rv": 0, "start": "key"}), "start resourceVersion"),
        (_token({"v": "meta.k8s.io/v1", "rv": 1, "start": ""}), "start key empty"),
        ("!!!", "continue key is not valid"),
    ],
)
def test_a_token_that_is_not_ours_is_a_bad_request(token, message):
    with pytest.raises(ApiError) as caught:
        decode_continue(token)
    assert caught.value.code == 400
    assert "invalid continue token: continue key is not valid" in caught.value.message
    assert message in caught.value.message


def test_a_bad_token_over_the_wire_is_a_400(core):
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_pod("default", limit=2, _continue="!!!")
    assert caught.value.status == 400
