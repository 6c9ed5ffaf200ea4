"""``BufferingWorker``: the gunicorn worker of ``kb serve``. An event loop reads each request whole,
under deadlines, before the (synchronous, single-threaded) app sees it, and spools the app's answer
so that a slow reader is fed by the loop, not by the app.

Why: a sync worker reads a request with no deadline, so three clients sending a header byte every
few seconds held both workers until gunicorn's 60 s timeout. Here a connection costs the worker a
buffer, not its time: headers must arrive within ``http_header_timeout`` (else 408), a body within
that plus its length at ``http_body_rate`` (else 408), an answer must keep being read within
``http_send_timeout`` (else the connection is dropped). The app runs one request at a time per
process, as under sync workers: one Whoosh searcher per process, never shared between threads.
Each connection carries one request (``Connection: close``), as with sync workers, so the kernel's
accept queue shares clients between workers. Figures beside sync workers: bench/SPEED.md."""
from __future__ import annotations

import errno
import json
import os
import selectors
import socket
import tempfile
import threading
import time
from datetime import datetime

from gunicorn import http
from gunicorn.http import wsgi
from gunicorn.workers import base

from .settings import Settings

HEAD_LIMIT = 64 * 1024     # bytes of request line and headers before gunicorn's parser judges them
SPOOL_IN_MEMORY = 1024 ** 2  # an answer larger than this waits in a temporary file
SEND_CHUNK = 256 * 1024
LINGER = 2.0                 # seconds a refused request's body is read and dropped before closing


class Spool:
    """What the app writes for one answer (gunicorn's Response writes here as to a socket)."""

    def __init__(self):
        self.memory: list[bytes] = []
        self.size = 0
        self.file = None

    def sendall(self, data: bytes) -> None:
        data = bytes(data)
        if self.file is None and self.size + len(data) > SPOOL_IN_MEMORY:
            self.file = tempfile.TemporaryFile()
            self.file.write(b"".join(self.memory))
            self.memory = []
        if self.file is not None:
            self.file.write(data)
        else:
            self.memory.append(data)
        self.size += len(data)

    send = sendall

    def gettimeout(self) -> float:
        return 0.0

    def setblocking(self, flag) -> None:
        pass

    def chunks(self):
        """The answer, in pieces of at most SEND_CHUNK bytes."""
        if self.file is None:
            data = b"".join(self.memory)
            for start in range(0, len(data), SEND_CHUNK):
                yield data[start:start + SEND_CHUNK]
            return
        with self.file:
            self.file.seek(0)
            while chunk := self.file.read(SEND_CHUNK):
                yield chunk


class Connection:
    """One client: reading its request, then writing its answer, each against a deadline."""

    def __init__(self, sock: socket.socket, addr, listener, limits: Settings):
        self.sock, self.addr, self.listener, self.limits = sock, addr, listener, limits
        self.data = bytearray()
        self.head_end: int | None = None     # offset of the body
        self.body_length: int | None = None  # None: chunked
        self.scan = 0                        # chunked: offset of the next chunk-size line
        self.deadline = time.monotonic() + limits.http_header_timeout
        self.out = None                      # the answer's chunks while writing
        self.draining = False                # refused before its body was read: read it, then close
        self.expect_continue = False         # the client waits for a 100 before sending its body
        self.pending = b""

    # ------------------------------------------------------------------ reading

    def received(self, data: bytes) -> str | None:
        """Take bytes; "complete" once the whole request is here, "too-large" past the body limit."""
        self.data += data
        if self.head_end is None:
            end = self.data.find(b"\r\n\r\n")
            if end < 0:
                return "complete" if len(self.data) > HEAD_LIMIT else None   # the parser says why
            self.head_end = end + 4
            self._frame(bytes(self.data[:end]))
            if self.body_length is not None and self.body_length > self.limits.max_body:
                return "too-large"
            size = self.body_length if self.body_length is not None else self.limits.max_body
            self.deadline = time.monotonic() + self.limits.http_header_timeout + size / self.limits.http_body_rate
        if self.body_length is not None:
            return "complete" if len(self.data) - self.head_end >= self.body_length else None
        if len(self.data) - self.head_end > self.limits.max_body + 64 * 1024:
            return "too-large"
        return "complete" if self._chunked_done() else None

    def _frame(self, head: bytes) -> None:
        """The body's framing from the headers; gunicorn's parser judges anything odd later."""
        self.body_length, chunked = 0, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"transfer-encoding" and b"chunked" in value:
                chunked = True
            if name == b"content-length" and value.isdigit():
                self.body_length = int(value)
            if name == b"expect" and value == b"100-continue":
                self.expect_continue = True
        if chunked:
            self.body_length, self.scan = None, self.head_end

    def _chunked_done(self) -> bool:
        while True:
            line_end = self.data.find(b"\r\n", self.scan)
            if line_end < 0:
                return False
            size_text = bytes(self.data[self.scan:line_end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                return True   # malformed: the parser answers 400
            if size == 0:   # the last chunk, then trailers up to an empty line
                return self.data.find(b"\r\n", line_end + 2) == line_end + 2 or \
                    self.data.find(b"\r\n\r\n", line_end) >= 0
            if len(self.data) < line_end + 2 + size + 2:
                return False
            self.scan = line_end + 2 + size + 2

    # ------------------------------------------------------------------ writing

    def answer(self, spool: Spool, send_timeout: float) -> None:
        self.data = bytearray()
        self.out = spool.chunks()
        self.deadline = time.monotonic() + send_timeout

    def linger(self, seconds: float) -> None:
        self.out.close()
        self.out = None
        self.data = bytearray()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.deadline = time.monotonic() + seconds

    def send_more(self, send_timeout: float) -> bool:
        """Send what the socket takes now; True when the whole answer is sent."""
        while True:
            if not self.pending:
                self.pending = next(self.out, b"")
                if not self.pending:
                    return True
            try:
                sent = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                return False
            self.pending = self.pending[sent:]
            self.deadline = time.monotonic() + send_timeout

    def close(self) -> None:
        if self.out is not None:
            self.out.close()
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.sock.close()


class BufferingWorker(base.Worker):
    """gunicorn worker: a selector loop over the listeners and every open connection."""

    def init_process(self):
        settings = getattr(self.app, "settings", None)
        self.limits = settings if isinstance(settings, Settings) else Settings.from_env()
        super().init_process()

    def run(self):
        self.selector = selectors.DefaultSelector()
        for listener in self.sockets:
            listener.setblocking(False)
            self.selector.register(listener, selectors.EVENT_READ, None)
        self.selector.register(self.PIPE[0], selectors.EVENT_READ, "pipe")
        self.connections: set[Connection] = set()
        self.pause_until = 0.0
        accepting = True
        # a retiring worker (max requests, a graceful stop) still answers the requests it has begun
        while self.alive or any(c.out is not None or c.data for c in self.connections):
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("Parent changed, shutting down: %s", self)
                break
            want = (self.alive and len(self.connections) < self.cfg.worker_connections
                    and time.monotonic() >= self.pause_until)
            if want != accepting:
                for listener in self.sockets:
                    (self.selector.register(listener, selectors.EVENT_READ, None) if want
                     else self.selector.unregister(listener))
                accepting = want
            now = time.monotonic()
            timeout = min([1.0] + [max(0.0, c.deadline - now) for c in self.connections])
            events_seen = self.selector.select(timeout)
            if not events_seen and not self.connections and self.alive:
                self.idle()
            for key, events in events_seen:
                if key.data == "pipe":
                    try:
                        os.read(self.PIPE[0], 1)
                    except BlockingIOError:
                        pass
                elif key.data is None:
                    if accepting:
                        self.accept(key.fileobj)
                elif key.data in self.connections:
                    self.ready(key.data, events)
            self.expire()
        for conn in list(self.connections):
            self.drop(conn)

    def idle(self) -> None:
        """No request open for a second: the app's idle work (``kb serve`` warms the index for
        the next search). It runs in a thread that this loop waits for, beating meanwhile: seconds
        of work must not look like a hung worker, and no request may share the index's readers
        with it (Whoosh's are not for sharing); a request that comes meanwhile waits as it would
        have waited to do that work itself."""
        work = getattr(self.wsgi, "kb_idle", None)
        if work is None:
            return
        thread = threading.Thread(target=work, name="kb-idle", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(1.0)
            self.notify()

    def accept(self, listener) -> None:
        try:
            client, addr = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return
        except OSError as exc:   # out of file descriptors: let the other workers take clients a while
            self.log.warning("cannot accept a connection: %s", exc)
            self.pause_until = time.monotonic() + 0.5
            return
        client.setblocking(False)
        conn = Connection(client, addr, listener, self.limits)
        self.connections.add(conn)
        self.selector.register(client, selectors.EVENT_READ, conn)
        self.read(conn)   # the request is usually here already

    def ready(self, conn: Connection, events: int) -> None:
        if conn.out is None:
            self.read(conn)
        else:
            self.write(conn)

    def read(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self.drop(conn)
        if not data:   # the client closed before its request was whole: nothing reaches the app
            if conn.head_end is not None and not conn.draining and conn.out is None:   # it may still read
                have = len(conn.data) - conn.head_end
                expected = f"of {conn.body_length:,} (Content-Length)" if conn.body_length is not None else \
                    "before its last chunk"
                conn.draining = True
                return self.refuse(conn, 400, "Bad Request",
                                   f"the request body ended after {have:,} bytes {expected}: nothing was stored")
            return self.drop(conn)
        if conn.draining:   # what a refused client still sends, read so that closing does not reset it
            return
        state = conn.received(data)
        if state == "too-large":   # the app answers from the headers (its 413, or a 401 before it)
            conn.draining = True
            self.handle(conn)
        elif state == "complete":
            self.handle(conn)
        elif conn.expect_continue:
            conn.expect_continue = False
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass

    def expire(self) -> None:
        now = time.monotonic()
        for conn in [c for c in self.connections if c.deadline <= now]:
            if conn.out is not None or conn.draining:   # a reader that stopped reading, or lingered enough
                self.drop(conn)
            elif conn.head_end is None and not conn.data:
                self.drop(conn)       # connected and said nothing
            else:
                part = "headers" if conn.head_end is None else "body"
                conn.draining = True   # a body may still be coming: read it a while, so the 408 arrives
                self.refuse(conn, 408, "Request Timeout", f"the request's {part} did not arrive in time")

    def refuse(self, conn: Connection, status: int, reason: str, message: str) -> None:
        body = json.dumps({"code": status, "status": reason, "message": message}).encode()
        spool = Spool()
        spool.sendall((f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
                       f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        self.respond(conn, spool)

    def respond(self, conn: Connection, spool: Spool) -> None:
        conn.answer(spool, self.limits.http_send_timeout)
        self.write(conn)
        if conn in self.connections and conn.out is not None:
            self.selector.modify(conn.sock, selectors.EVENT_WRITE, conn)

    def write(self, conn: Connection) -> None:
        try:
            done = conn.send_more(self.limits.http_send_timeout)
        except OSError:
            return self.drop(conn)
        if done and conn.draining:   # the answer is out; read the rest of the body for a while
            conn.linger(LINGER)
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        elif done:
            self.drop(conn)

    def drop(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            conn.close()

    # ------------------------------------------------------------------ the app

    def handle(self, conn: Connection) -> None:
        """Parse the whole request with gunicorn's parser, run the app, spool what it answers."""
        spool, req = Spool(), None
        try:
            parser = http.get_parser(self.cfg, iter([bytes(conn.data)]), conn.addr)
            req = next(parser)
            req._expected_100_continue = False   # the body is here already
            self.handle_request(conn, req, spool)
        except (http.errors.NoMoreData, StopIteration):
            pass
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN):
                self.log.exception("Socket error processing request.")
        except BaseException as exc:   # gunicorn answers bad requests (kb.server.json_error) and 500s
            self.handle_error(req, spool, conn.addr, exc)
        self.respond(conn, spool)

    def handle_request(self, conn: Connection, req, spool: Spool) -> None:
        environ, resp = {}, None
        try:
            self.cfg.pre_request(self, req)
            started = datetime.now()
            resp, environ = wsgi.create(req, spool, conn.addr, conn.listener.getsockname(), self.cfg)
            resp.force_close()
            self.nr += 1
            if self.nr >= self.max_requests:
                self.log.info("Autorestarting worker after current request.")
                self.alive = False
            respiter = self.wsgi(environ, resp.start_response)
            try:
                for item in respiter:
                    resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - started)
                if hasattr(respiter, "close"):
                    respiter.close()
        except (Exception, SystemExit):
            if resp and resp.headers_sent:   # a half-written answer: end it visibly, by closing
                self.log.exception("Error handling request")
                raise StopIteration() from None
            raise
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")

