"""Ingest rides out a Pub/Sub outage shorter than its publish timeout: a slower 202, not a
503 (Falcosidekick's webhook output drops an alert answered 5xx; it never retries)."""

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from localdev.local_stack.functions import start_ingest
from localdev.local_stack.processes import free_port
from localdev.local_stack.stack import INGEST_TOKEN, LocalStack
from localdev.local_stack.wait import wait_until
from shared import config
from tests.conftest import shell_alert


class Outage:
    """A TCP hop to the Pub/Sub emulator that drops every connection until `end()`."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.port = free_port()
        self.dropped = 0
        self._over = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "Outage":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._server.close()

    def end(self) -> None:
        self._over.set()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            if not self._over.is_set():
                self.dropped += 1
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def outage(stack: LocalStack) -> Iterator[Outage]:
    with Outage(stack.pubsub_host) as hop:
        yield hop


def test_a_short_pubsub_outage_is_absorbed_not_answered_503(stack, outage, published, unique):
    service, url = start_ingest(
        {
            config.GOOGLE_CLOUD_PROJECT: stack.project,
            config.PUBSUB_EMULATOR_HOST: f"127.0.0.1:{outage.port}",
            config.ALERTS_TOPIC: config.DEFAULT_ALERTS_TOPIC,
            config.INGEST_TOKEN: INGEST_TOKEN,
        }
    )
    answers: list[requests.Response] = []
    alert = shell_alert(f"web-{unique}")
    sender = threading.Thread(
        target=lambda: answers.append(
            requests.post(
                f"{url}/",
                json=alert,
                headers={"Authorization": f"Bearer {INGEST_TOKEN}"},
                timeout=60,
            )
        )
    )
    try:
        sender.start()
        wait_until(lambda: outage.dropped >= 2, 30, "ingest to try Pub/Sub twice and fail")
        assert not answers  # still retrying, not answered 503
        outage.end()
        sender.join()
    finally:
        service.stop()
    [response] = answers
    assert response.status_code == 202, response.text
    [message_id] = response.json()["message_ids"]
    wait_until(
        lambda: [m for m in published.received if m.message_id == message_id],
        30,
        "the alert on the topic",
    )
