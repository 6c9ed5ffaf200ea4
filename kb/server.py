"""``kb serve``: the HTTP API on gunicorn, one worker per core by default (at least 2), each a
``kb.http_worker.BufferingWorker``: an event loop that reads every request whole under deadlines
and spools every answer, around the same single-threaded app a sync worker runs (so slow clients
cannot hold a worker; figures beside sync workers in bench/SPEED.md). Workers are replaced after
``http_max_requests`` requests (plus up to 50 %, so that
workers do not restart together), so one large request cannot hold memory for good.

One process per request in flight, chosen by ``bench/speed.py`` (``bench/SPEED.md``): a search is CPU-bound Python, so
more sync workers than cores did not help (on 2 cores, 8 clients: 2 workers 441 req/s, p99 32 ms;
4 workers 426 req/s); gthread (2 × 4 threads) gave 479 req/s but twice the p99 (58 ms) and would
share one Whoosh searcher between threads, whose postings are read through file objects that are
not safe to share (seek, then read); waitress (8 threads) gave 223 req/s. Each worker builds
its own app, so each keeps one long-lived searcher and its own caches. The buffering worker
keeps that model and only moves the socket work to its loop.

Requests gunicorn itself refuses before the app sees them (a request line over 8190 bytes, too
many or too large headers, a malformed request) get kb's JSON error shape too, not gunicorn's
HTML page: ``json_error`` replaces ``gunicorn.util.write_error``, which its workers call by
module attribute for exactly these answers."""
from __future__ import annotations

import ipaddress
import json
import sys

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from .settings import Settings

MAX_REQUEST_LINE = 8190   # gunicorn's ceiling; thousands of tag=... parameters reach the app
WORKER_TIMEOUT = 60       # seconds a request may run before gunicorn replaces its worker


def json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's low-level error answer, as ``{"code", "status", "message"}``."""
    body = json.dumps({"code": status_int, "status": reason,
                       "message": mesg or reason}).encode("utf-8")
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    gunicorn_util.write_nonblock(sock, head + body)


class KbServer(BaseApplication):
    def __init__(self, options: dict, settings: Settings):
        self.options = options
        self.settings = settings
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from api import create_app  # kb → api only here, inside `kb serve`
        from api.kbstore import keep_warm, warm_up
        app = create_app(settings=self.settings)
        warm_up(app)
        app.kb_idle = lambda: keep_warm(app)   # BufferingWorker calls it when no request is open
        return app


PUBLIC_NOTICE = (
    "kb: listening beyond this machine: kb speaks plain HTTP, so put a TLS-terminating reverse proxy "
    "(nginx, Caddy) in front, set KB_API_TOKEN (and KB_READ_TOKEN for private data), and let the proxy "
    "limit connections per client; kb drops slow clients itself (README: Deployment)")


def loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(settings: Settings) -> None:
    host, port, workers = settings.host, settings.port, settings.http_worker_count
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "kb.http_worker.BufferingWorker",
        "timeout": WORKER_TIMEOUT,
        "max_requests": settings.http_max_requests,
        "max_requests_jitter": settings.http_max_requests // 2,
        "sendfile": False,   # answers are spooled, then sent by the worker's loop
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "kb",
        "limit_request_line": MAX_REQUEST_LINE,
    }
    gunicorn_util.write_error = json_error
    print(f"kb: serving {settings.home} at http://{host}:{port} ({workers} workers)", flush=True)
    if not loopback(host):
        print(PUBLIC_NOTICE, file=sys.stderr, flush=True)
    KbServer(options, settings).run()
