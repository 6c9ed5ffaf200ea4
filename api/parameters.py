"""Unknown query parameters are a 400 that names them: ``limt=5`` or ``tags=covid-19`` silently
ignored would answer something the client did not ask for. The parameters an operation accepts are
the ones the OpenAPI document declares for it (one source: the schemas), read once per app."""
from __future__ import annotations

import difflib
import re

from flask import current_app, request
from flask_smorest import abort

API_PREFIX = "/api/v1/"


def init_app(app) -> None:
    app.before_request(refuse_unknown_parameters)


def declared(app) -> dict[tuple[str, str], frozenset[str]]:
    """``{(OpenAPI path, method): query parameter names}``, from the app's own OpenAPI document."""
    found = app.extensions.get("kb_query_parameters")
    if found is None:
        spec = app.extensions["kb_api"].spec.to_dict()
        found = {(path, method): frozenset(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
                 for path, item in spec["paths"].items() for method, op in item.items() if isinstance(op, dict)}
        app.extensions["kb_query_parameters"] = found
    return found


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def refuse_unknown_parameters():
    rule = request.url_rule
    if rule is None or not rule.rule.startswith(API_PREFIX) or not request.args:
        return
    allowed = declared(current_app).get((openapi_path(rule.rule), request.method.lower()))
    if allowed is None:   # HEAD and OPTIONS answer as their GET does (or CORS does)
        allowed = declared(current_app).get((openapi_path(rule.rule), "get"), frozenset())
    unknown = [name for name in dict.fromkeys(request.args) if name not in allowed]
    if unknown:
        messages = [message(name, allowed) for name in unknown]
        abort(400, message="; ".join(messages),
              errors={"query": {name[:100]: ["Unknown parameter."] for name in unknown[:20]}})


def message(name: str, allowed: frozenset[str]) -> str:
    shown = name[:100]
    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    if close:
        return f"unknown parameter '{shown}'; did you mean '{close[0]}'?"
    return f"unknown parameter '{shown}'" + (f" (this endpoint takes: {', '.join(sorted(allowed))})"
                                            if allowed else " (this endpoint takes none)")
