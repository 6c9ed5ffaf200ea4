"""HTTP face of kb: ``create_app()`` builds the Flask app (flask-smorest, JSON errors, OpenAPI)."""
from __future__ import annotations

import os

from flask import Flask

from . import kbstore
from .errors import KbApi


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        API_TITLE="kb",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        KB_HOME=os.environ.get("KB_HOME", "kb-data"),
        KB_TAXONOMY=os.environ.get("KB_TAXONOMY"),
        KB_LOCK_TIMEOUT=float(os.environ.get("KB_LOCK_TIMEOUT", "5")),
        MAX_CONTENT_LENGTH=int(os.environ.get("KB_MAX_BODY", str(25 * 1024 * 1024))),
    )
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    kbstore.init_app(app)
    api = KbApi(app)
    from . import resources, search, system
    for module in (search, resources, system):
        api.register_blueprint(module.blp)
    return app
