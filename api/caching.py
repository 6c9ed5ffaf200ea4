"""ETags from the index version: every GET of the data carries one, and a client that sends it back in
``If-None-Match`` gets a 304 without the work being done again. Any commit changes the version, so
no answer is ever stale; the ``Accept`` header and kb's own version are part of the tag because they
change the representation."""
from __future__ import annotations

import hashlib

from flask import Response, g, request

from .kbstore import get_kb
from .system import kb_version

UNCACHED = ("/api/v1/health", "/api/v1/jobs/")   # a job's state changes without a commit


def init_app(app) -> None:
    app.before_request(answer_not_modified)
    app.after_request(tag_response)


def cacheable() -> bool:
    path = request.path
    return (request.method in ("GET", "HEAD") and request.routing_exception is None
            and (path.startswith("/api/v1/") or path == "/" or path.startswith("/passage/"))
            and not path.startswith(UNCACHED))


def current_etag() -> str:
    seed = "|".join((get_kb().version(), kb_version(), request.headers.get("Accept", "")))
    return hashlib.sha1(seed.encode("utf-8")).hexdigest()[:20]


def answer_not_modified():
    if not cacheable():
        return None
    g.etag = current_etag()
    if request.if_none_match.contains_weak(g.etag):
        response = Response(status=304)
        _headers(response, g.etag)
        return response
    return None


def tag_response(response: Response) -> Response:
    etag = g.get("etag")
    if etag and response.status_code == 200:
        _headers(response, etag)
    return response


def _headers(response: Response, etag: str) -> None:
    response.set_etag(etag, weak=True)
    response.headers["Cache-Control"] = "no-cache"  # keep it, but ask again (a 304 is cheap)
    response.vary.add("Accept")
