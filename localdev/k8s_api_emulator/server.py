"""HTTP/1.1 plumbing: parse requests for the router and write its answers as JSON."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .router import Request, Response, Router
from .status import ApiError, reason_for

_log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, as clients pool connections; every answer carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server: ApiHttpServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection)

    def finish(self) -> None:
        self.server.untrack(self.connection)
        super().finish()

    def parse_request(self) -> bool:
        self._received = time.perf_counter()  # the request line is in, its headers next
        return super().parse_request()

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        url = urlsplit(self.path)
        host, port = self.server.server_address[:2]
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "invalid Content-Length or chunked encoding")
            return
        request = Request(
            method=self.command,
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            authorization=self.headers.get("Authorization"),
            body=body,
            server_address=f"{host}:{port}",
            content_type=self.headers.get("Content-Type", ""),
            received=self._received,
        )
        self._send(self.server.router.handle(request))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, response: Response) -> None:
        if response.text is not None:
            payload, content_type = response.text, "text/plain"
        else:
            payload = (json.dumps(response.body, separators=(",", ":")) + "\n").encode()
            content_type = "application/json"
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            # The client went away, typically after giving up on an injected hang.
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get a Status body too, never http.server's HTML page."""
        error = ApiError(code, reason_for(code), message or explain or "bad request")
        self.close_connection = True
        self._send(Response(code, error.status()))

    def log_message(self, format: str, *args: object) -> None:
        _log.debug(format, *args)


class ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, router: Router) -> None:
        self.router = router
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def start(self) -> None:
        # A short poll interval keeps shutdown() quick, which matters for per-test emulators.
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="k8s-api-emulator",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        # Idle keep-alive connections would otherwise hold handler threads and sockets open.
        with self._connections_lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):  # already closed by the peer
                    connection.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join()
