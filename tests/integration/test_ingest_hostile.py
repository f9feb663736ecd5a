"""Hostile and malformed requests against ingest as Cloud Run serves it: functions-framework
with gunicorn's threaded worker, publishing to the real Pub/Sub emulator.

Every answer is a 2xx or a 4xx naming the problem; nothing a hostile sender does makes the
instance hold more than the body limit or keeps a valid sender waiting.
"""

import contextlib
import json
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from localdev.local_stack.fixtures import fixture
from localdev.local_stack.functions import start_ingest
from localdev.local_stack.processes import Service
from localdev.local_stack.stack import INGEST_TOKEN, LocalStack
from localdev.local_stack.wait import wait_until
from shared import config
from shared.alert import parse_alert
from tests.alert_strategies import bodies
from tests.conftest import shell_alert

# In a full run the session stack's Pub/Sub client threads draw from the `random` module;
# Hypothesis then blames these strategies, which use none.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
MAX_BODY = 64 * 1024
BODY_TIMEOUT = 2


@pytest.fixture(scope="module")
def ingest(stack: LocalStack) -> Iterator[tuple[Service, int]]:
    """An ingest of its own with a small body limit and a short body deadline."""
    service, url = start_ingest(
        {
            config.GOOGLE_CLOUD_PROJECT: stack.project,
            config.PUBSUB_EMULATOR_HOST: stack.pubsub_host,
            config.ALERTS_TOPIC: config.DEFAULT_ALERTS_TOPIC,
            config.INGEST_TOKEN: INGEST_TOKEN,
            config.INGEST_MAX_BODY_BYTES: str(MAX_BODY),
            config.INGEST_BODY_TIMEOUT_SECONDS: str(BODY_TIMEOUT),
        }
    )
    yield service, int(url.rsplit(":", 1)[1])
    service.stop()


def _head(length: int | None = None, token: str | None = INGEST_TOKEN, chunked: bool = False):
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def _answer(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the one response on `sock` (the server closes after it)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = [
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ]
        if length and len(body) >= length[0]:
            break
    status = int(data.split(b" ", 2)[1])
    return status, json.loads(data.partition(b"\r\n\r\n")[2])


def _post(port: int, body: bytes, token: str = INGEST_TOKEN) -> requests.Response:
    return requests.post(
        f"http://127.0.0.1:{port}/",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=60,
    )


def _alert_with(field: str, value: str) -> bytes:
    alert = shell_alert("web")
    alert["output_fields"][field] = value
    return json.dumps(alert).encode()  # ensure_ascii: a lone surrogate goes out as \ud800


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_alert_with("k8s.pod.name", "web\ud800"), "output_fields.k8s.pod.name holds a lone"),
        (_alert_with("k8s.ns.name", "\udfff"), "output_fields.k8s.ns.name holds a lone"),
        (json.dumps({**shell_alert("web"), "uuid": "\ud800"}).encode(), "string at uuid"),
        (json.dumps({**shell_alert("web"), "output": "x\udc00"}).encode(), "string at output"),
        (b'{"output": "\xed\xa0\x80"}', "not UTF-8"),
        (json.dumps(shell_alert("web")).encode("utf-16"), "UTF-16 or UTF-32"),
        (b'[{"output_fields": {"n": [1e400]}}]', "number 1e400 is out of range"),
        (_alert_with("k8s.ns.name", "a") + b'\n{"n": -1e999}', "line 2: not valid JSON: number"),
    ],
)
def test_text_the_responder_could_not_take_is_400_naming_the_problem(ingest, body, message):
    _, port = ingest
    response = _post(port, body)
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == "invalid_json"
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("chunks", "problem"),
    [
        (b"zz\r\n{}\r\n0\r\n\r\n", "InvalidChunkSize"),
        (b"2\r\n{}XX0\r\n\r\n", "ChunkMissingTerminator"),
        (b"ffff\r\n{}", "NoMoreData"),  # the connection ends inside a chunk
    ],
)
def test_malformed_chunked_body_is_400_naming_the_problem(ingest, chunks, problem):
    _, port = ingest
    with _connect(port) as sock:
        sock.sendall(_head(chunked=True) + chunks)
        sock.shutdown(socket.SHUT_WR)
        status, body = _answer(sock)
    assert status == 400
    assert body["reason"] == "unreadable_body"
    assert problem in body["error"]


def test_body_cut_short_is_400_not_500(ingest):
    _, port = ingest
    with _connect(port) as sock:
        sock.sendall(_head(length=1000) + b'{"output":')
        sock.shutdown(socket.SHUT_WR)
        status, body = _answer(sock)
    assert status == 400
    assert body["error"].startswith("body: ")


def _worker_rss_bytes(service: Service) -> int:
    """Resident memory of the gunicorn worker serving requests (the server's child)."""
    assert service.process is not None
    children = Path(f"/proc/{service.process.pid}/task/{service.process.pid}/children")
    [worker] = children.read_text().split()
    for line in Path(f"/proc/{worker}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


SPACES = b" " * 65536


def _send_until_refused(port: int, head: bytes, size: int, block: bytes = SPACES) -> int:
    """Send `head`, then body until `size` bytes or the server's answer (as HTTP clients do).

    The status the server answered with.
    """
    with _connect(port) as sock:
        sock.sendall(head)
        sent = 0
        with contextlib.suppress(OSError):  # the server answered and closed: it reads no more
            while sent < size:
                readable, writable, _ = select.select([sock], [sock], [], 60)
                if readable or not writable:
                    break
                sent += sock.send(block)
        return _answer(sock)[0]


def test_refused_requests_never_make_the_server_hold_their_bodies(ingest):
    service, port = ingest
    before = _worker_rss_bytes(service)
    # What grew the worker by 290 and 203 MiB: bodies read in full after a 401.
    statuses = [_send_until_refused(port, _head(256 * 1024 * 1024, token=None), 256 << 20)]
    statuses += [
        _send_until_refused(port, _head(32 * 1024 * 1024, token="wrong"), 32 << 20)
        for _ in range(8)
    ]
    chunk = b"%x\r\n%s\r\n" % (len(SPACES), SPACES)
    statuses.append(_send_until_refused(port, _head(chunked=True), 64 << 20, chunk))
    assert statuses == [401] * 9 + [413]
    assert _worker_rss_bytes(service) - before < 4 * MAX_BODY + 8 * 1024 * 1024


def test_a_valid_sender_is_served_while_hostile_ones_hold_connections(ingest):
    _, port = ingest
    hostile = []
    try:
        for i in range(16):
            sock = _connect(port)
            token = INGEST_TOKEN if i % 2 else None
            sock.sendall(_head(1024 * 1024 * 1024, token=token) + b"[")
            hostile.append(sock)
        response = _post(port, json.dumps(fixture("sidekick_test_event")).encode())
        assert response.status_code == 202
        # Each was answered at once, without its body, and is still open on our side.
        assert sorted(_answer(sock)[0] for sock in hostile) == [401] * 8 + [413] * 8
    finally:
        for sock in hostile:
            sock.close()


def test_a_body_sent_too_slowly_is_cut_off_with_408(ingest):
    _, port = ingest
    with _connect(port) as sock:
        sock.sendall(_head(length=1000) + b"[")
        stop = threading.Event()

        def trickle() -> None:
            # One byte now and then, never the whole body: the deadline ends it.
            while not stop.wait(0.2):
                try:
                    sock.send(b" ")
                except OSError:
                    return

        sender = threading.Thread(target=trickle)
        sender.start()
        try:
            status, body = _answer(sock)
        finally:
            stop.set()
            sender.join()
    assert status == 408
    assert f"within {BODY_TIMEOUT} seconds" in body["error"]


def test_lone_surrogates_published_straight_are_dead_lettered_once_as_invalid(stack, unique):
    alert = {**shell_alert(f"web-{unique}"), "uuid": unique}
    alert["output_fields"]["k8s.pod.name"] = "web\ud800"
    stack.publish(json.dumps(alert).encode(), alert_id=unique)
    [dead] = wait_until(lambda: stack.dead_letters.where(alert_id=unique), 60, "the dead letter")
    assert dead.attributes["error_reason"] == "invalid_json"
    assert "output_fields.k8s.pod.name holds a lone surrogate" in dead.attributes["error_detail"]
    assert "CloudPubSubDeadLetterSourceDeliveryCount" not in dead.attributes
    record = stack.wait_for_outcome(unique)
    assert (record["decision"], record["error_reason"]) == ("dead_letter", "invalid_json")
    assert unique in stack.responder.log_text()


@given(body=bodies())
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_body_through_the_real_function_is_2xx_or_4xx(ingest, published, body):
    _, port = ingest
    response = _post(port, body)
    assert response.status_code in {202, 400, 413}, response.text
    if response.status_code != 202:
        assert response.json()["error"]
        return
    for message_id in response.json()["message_ids"]:
        [message] = wait_until(
            lambda m=message_id: [r for r in published.received if r.message_id == m],
            30,
            f"message {message_id} on the topic",
        )
        assert parse_alert(message.data).alert_id == message.attributes["alert_id"]
