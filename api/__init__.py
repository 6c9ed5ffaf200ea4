"""HTTP face of kb: ``create_app()`` builds the Flask app (flask-smorest, JSON errors, OpenAPI,
tokens, limits, caching, CORS, the search page)."""
from __future__ import annotations

from flask import Flask

from kb import limits as input_limits
from kb.settings import Settings

from . import auth, caching, hosts, kbstore, limits, parameters, security
from .errors import KbApi
from .json_provider import FastJSONProvider
from .openapi import SPEC_OPTIONS, complete_spec


def create_app(test_config: dict | None = None, settings: Settings | None = None) -> Flask:
    """The app over the knowledge base ``settings`` describe (default: the environment's).
    ``test_config`` is Flask configuration; its ``KB_*`` keys change the settings of the same
    variable (``{"KB_HOME": path}``)."""
    settings = Settings.from_mapping(test_config or {}, settings)
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    app.config.update(
        API_TITLE="kb",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS=SPEC_OPTIONS,
        MAX_CONTENT_LENGTH=settings.max_body,
        KB_SETTINGS=settings,
    )
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if not k.startswith("KB_")})
    app.json.sort_keys = False
    input_limits.use(input_limits.Limits.from_settings(settings))
    app.wsgi_app = hosts.HostGuard(app.wsgi_app, settings)   # before any URL is built from the Host
    kbstore.init_app(app)
    # before_request hooks run in this order: who may ask, how much they may send, what they may ask, then 304s
    auth.init_app(app)
    limits.init_app(app)
    parameters.init_app(app)
    caching.init_app(app)
    security.init_app(app)
    api = KbApi(app)
    app.extensions["kb_api"] = api
    from . import docs, documents, jobs, pages, resources, search, system, tags
    for module in (search, documents, jobs, resources, tags, system):
        api.register_blueprint(module.blp)
    for module in (pages, docs):   # pages for people: HTML, outside the API's OpenAPI document
        app.register_blueprint(module.blp)
    complete_spec(api)
    return app
