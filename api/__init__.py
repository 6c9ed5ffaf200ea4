"""HTTP face of kb: ``create_app()`` builds the Flask app (flask-smorest, JSON errors, OpenAPI,
tokens, limits, caching, CORS, the search page)."""
from __future__ import annotations

import os

from flask import Flask

from kb.core import DEFAULT_MAX_EXPANSIONS, DEFAULT_QUERY_TIME_LIMIT

from . import auth, caching, kbstore, limits, security
from .errors import KbApi
from .limits import parse_size
from .openapi import SPEC_OPTIONS, complete_spec

DEFAULT_MAX_BODY = 25 * 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        API_TITLE="kb",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS=SPEC_OPTIONS,
        JSON_SORT_KEYS=False,
        KB_HOME=os.environ.get("KB_HOME", "kb-data"),
        KB_TAXONOMY=os.environ.get("KB_TAXONOMY"),
        KB_LOCK_TIMEOUT=float(os.environ.get("KB_LOCK_TIMEOUT", "5")),
        KB_API_TOKEN=os.environ.get("KB_API_TOKEN") or None,
        KB_READ_TOKEN=os.environ.get("KB_READ_TOKEN") or None,
        KB_CORS_ORIGINS=os.environ.get("KB_CORS_ORIGINS", "*"),
        KB_QUERY_TIME_LIMIT=float(os.environ.get("KB_QUERY_TIME_LIMIT") or DEFAULT_QUERY_TIME_LIMIT),
        KB_MAX_EXPANSIONS=int(os.environ.get("KB_MAX_EXPANSIONS") or DEFAULT_MAX_EXPANSIONS),
        MAX_CONTENT_LENGTH=parse_size(os.environ.get("KB_MAX_BODY") or DEFAULT_MAX_BODY),
    )
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    kbstore.init_app(app)
    # before_request hooks run in this order: who may ask, how much they may send, then 304s
    auth.init_app(app)
    limits.init_app(app)
    caching.init_app(app)
    security.init_app(app)
    api = KbApi(app)
    app.extensions["kb_api"] = api
    from . import docs, documents, pages, resources, search, system
    for module in (search, documents, resources, system, pages, docs):
        api.register_blueprint(module.blp)
    complete_spec(api)
    return app
