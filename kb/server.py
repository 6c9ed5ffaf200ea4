"""``kb serve``: the HTTP API on gunicorn sync workers, one per core by default (at least 2).

Chosen by ``bench/speed.py`` (figures in ``bench/SPEED.md``): a search is CPU-bound Python, so
more sync workers than cores did not help (on 2 cores, 8 clients: 2 workers 441 req/s, p99 32 ms;
4 workers 426 req/s); gthread (2 × 4 threads) gave 479 req/s but twice the p99 (58 ms) and would
share one Whoosh searcher between threads, whose postings are read through file objects that are
not safe to share (seek, then read); waitress (8 threads) gave 223 req/s. Each worker builds
its own app, so each keeps one long-lived searcher and its own caches.

Requests gunicorn itself refuses before the app sees them (a request line over 8190 bytes, too
many or too large headers, a malformed request) get kb's JSON error shape too, not gunicorn's
HTML page: ``json_error`` replaces ``gunicorn.util.write_error``, which its workers call by
module attribute for exactly these answers."""
from __future__ import annotations

import json

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from .settings import Settings

MAX_REQUEST_LINE = 8190   # gunicorn's ceiling; thousands of tag=... parameters reach the app


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
        from api.kbstore import warm_up
        app = create_app(settings=self.settings)
        warm_up(app)
        return app


def run(settings: Settings) -> None:
    host, port, workers = settings.host, settings.port, settings.http_worker_count
    options = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "kb",
        "limit_request_line": MAX_REQUEST_LINE,
    }
    gunicorn_util.write_error = json_error
    print(f"kb: serving {settings.home} at http://{host}:{port} ({workers} workers)", flush=True)
    KbServer(options, settings).run()
