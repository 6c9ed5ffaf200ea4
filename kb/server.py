"""``kb serve``: the HTTP API on gunicorn (sync workers; measured fastest here, see README).
Each worker builds its own app, so each keeps one long-lived searcher."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class KbServer(BaseApplication):
    def __init__(self, options: dict, app_config: dict):
        self.options = options
        self.app_config = app_config
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from api import create_app  # kb → api only here, inside `kb serve`
        return create_app(self.app_config)


def run(host: str, port: int, workers: int, home: str, taxonomy: str | None = None,
        extra_config: dict | None = None) -> None:
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
    }
    app_config = {"KB_HOME": home, "KB_TAXONOMY": taxonomy, **(extra_config or {})}
    print(f"kb: serving {home} at http://{host}:{port} ({workers} workers)", flush=True)
    KbServer(options, app_config).run()
