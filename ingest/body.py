"""The request body, read within a size limit and a deadline whatever the sender does.

functions-framework serves with gunicorn's threaded worker, a few threads an instance
(functions_framework/_http/gunicorn.py), which reads a body only as the function asks for
it, with no time limit. So the limits are kept here:

- nothing past `limit` bytes is ever held (a declared Content-Length over it is refused
  before a byte is read);
- the whole body must arrive within `deadline` seconds: a watchdog shuts the connection
  for reading when it passes, which ends a blocked read at once (408);
- when the answer is sent without reading the whole body, the connection is shut for
  reading too, so the server closes it instead of draining what is left.

functions-framework reads the whole body again after a function returns a response that
is not streamed (`read_request` in functions_framework/__init__.py), with no limit: that
is how a 256 MiB unauthenticated POST grew the instance by 290 MiB. `answer` builds the
response as a stream, which it skips.
"""

import contextlib
import socket
import threading
from collections.abc import Iterator

import flask

CHUNK_BYTES = 64 * 1024


class BodyTooLargeError(Exception):
    """The body is over the configured size."""


class BodyTooSlowError(Exception):
    """The body did not arrive within the deadline."""


class BodyUnreadableError(Exception):
    """The body is malformed on the wire (a bad chunk, cut short): says how."""


def _connection(request: flask.Request) -> socket.socket | None:
    """The client connection (gunicorn in production, Werkzeug's server with --debug)."""
    return request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")


def stop_reading(request: flask.Request) -> None:
    """Refuse the rest of the body: the server then closes the connection after answering."""
    connection = _connection(request)
    if connection is not None:
        with contextlib.suppress(OSError):  # already closed by the client
            connection.shutdown(socket.SHUT_RD)


def _chunks(request: flask.Request, limit: int) -> Iterator[bytes]:
    size = 0
    while chunk := request.stream.read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        yield chunk


def read_body(request: flask.Request, limit: int, deadline: float) -> bytes:
    """The whole body, or one of the errors above; on an error the connection is shut."""
    if request.content_length is not None and request.content_length > limit:
        stop_reading(request)
        raise BodyTooLargeError
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        stop_reading(request)

    watchdog = threading.Timer(deadline, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        body = b"".join(_chunks(request, limit))
    except BodyTooLargeError:
        stop_reading(request)
        raise
    except Exception as exc:  # the server's own parse errors: gunicorn's InvalidChunkSize...
        stop_reading(request)
        if expired.is_set():
            raise BodyTooSlowError from None
        raise BodyUnreadableError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    finally:
        watchdog.cancel()
    if expired.is_set():
        raise BodyTooSlowError
    return body


def answer(payload: bytes, status: int, headers: dict[str, str]) -> flask.Response:
    """A response functions-framework will not follow by reading the body (see above)."""
    return flask.Response(
        iter([payload]),
        status,
        {**headers, "Content-Length": str(len(payload))},
        mimetype="application/json",
    )
