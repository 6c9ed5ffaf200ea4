"""How much a client may send: a body over the limit is a 413 JSON answer before anything is read,
and the unread rest of any body is drained (up to a bound) so the client gets that answer instead of
a reset connection. A body that ends before its ``Content-Length`` is a 400: gunicorn marks its
input terminated, so Werkzeug would take the bytes that came as the whole body (and store half a
document)."""
from __future__ import annotations

from flask import current_app, request
from flask_smorest import abort
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

DRAIN_CHUNK = 1 << 16


def megabytes(size: int) -> str:
    return f"{size / 1024 ** 2:.1f} MB" if size >= 1024 ** 2 else f"{size / 1024:.1f} KB"


def init_app(app) -> None:
    app.before_request(refuse_large_bodies)
    app.wsgi_app = DrainInput(app.wsgi_app, app)


def refuse_large_bodies():
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    length = request.content_length
    if limit and length is not None and length > limit:
        abort(413, message=f"the request body is {megabytes(length)}; the limit is {megabytes(limit)} "
                           "(kb serve --max-body or KB_MAX_BODY)")


def too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(description=f"the request body is over the limit of {megabytes(limit)} "
                                             "(kb serve --max-body or KB_MAX_BODY)")


class CappedInput:
    """A request body of unknown length (chunked) that raises 413 as soon as it passes the limit:
    the WSGI server marks such a stream terminated, and Werkzeug then applies no limit of its own."""

    def __init__(self, stream, limit: int):
        self.stream = stream
        self.limit = limit
        self.count = 0

    def _count(self, data: bytes) -> bytes:
        self.count += len(data)
        # Werkzeug stops reading at the limit itself and would take the body as complete, so at the
        # limit look one byte further: more data means too large
        if self.count > self.limit or (self.count == self.limit and data and self.stream.read(1)):
            raise too_large(self.limit)
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self.stream.read(size))
        chunks = []
        while chunk := self._count(self.stream.read(DRAIN_CHUNK)):
            chunks.append(chunk)
        return b"".join(chunks)

    def readline(self, size: int | None = -1) -> bytes:
        bounded = self.limit - self.count + 1 if size is None or size < 0 else size
        return self._count(self.stream.readline(bounded))

    def __iter__(self):
        while line := self.readline():
            yield line


class WholeInput:
    """A request body of known length that raises 400 when the client stops sending before the
    end: nothing of a truncated upload is stored."""

    def __init__(self, stream, length: int):
        self.stream = stream
        self.length = length
        self.count = 0

    def _check(self, data: bytes, asked: int | None) -> bytes:
        self.count += len(data)
        short = asked is None or asked < 0 or len(data) < asked
        if short and self.count < self.length:
            raise BadRequest(description=f"the request body ended after {self.count:,} of the {self.length:,} "
                                         "bytes its Content-Length announced; nothing was stored")
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self._check(self.stream.read(), None)
        return self._check(self.stream.read(size), size) if size else b""

    def readline(self, size: int | None = -1) -> bytes:
        data = self.stream.readline(size) if size is not None and size >= 0 else self.stream.readline()
        ended = not data.endswith(b"\n") and (size is None or size < 0 or len(data) < size)
        return self._check(data, len(data) + 1 if ended else len(data))

    def __iter__(self):
        while line := self.readline():
            yield line


class DrainInput:
    """WSGI middleware: caps bodies of unknown length, then reads what the app left unread of the
    request body (at most ``4 × limit`` or 256 MB) so that closing the connection does not reset it
    under the client's feet."""

    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        original = environ.get("wsgi.input")
        limit = self.flask_app.config.get("MAX_CONTENT_LENGTH")
        length = environ.get("CONTENT_LENGTH", "")
        if original is not None and limit and not length.isdigit():
            environ["wsgi.input"] = CappedInput(original, limit)
        elif original is not None and length.isdigit() and int(length) > 0:
            environ["wsgi.input"] = WholeInput(original, int(length))
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            environ["wsgi.input"] = original
            self.drain(environ)

    def drain(self, environ) -> None:
        stream = environ.get("wsgi.input")
        limit = self.flask_app.config.get("MAX_CONTENT_LENGTH") or 0
        bound = max(4 * limit, 256 * 1024 * 1024)
        length = environ.get("CONTENT_LENGTH", "")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if stream is None or not (chunked or (length.isdigit() and int(length) > 0)):
            return
        if length.isdigit() and int(length) > bound:
            return
        read = 0
        try:
            while read < bound:
                chunk = stream.read(DRAIN_CHUNK)
                if not chunk:
                    break
                read += len(chunk)
        except (OSError, ValueError):  # the client went away: nothing left to protect
            pass
