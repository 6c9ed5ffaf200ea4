"""Response headers that keep browsers safe, and CORS for reads (flask-cors, origins configurable by
``KB_CORS_ORIGINS``: ``*`` or a comma-separated list). Writes never get CORS headers: other sites'
pages may read the knowledge base, not change it."""
from __future__ import annotations

from flask import request
from flask_cors import CORS

READ_METHODS = ("GET", "HEAD", "OPTIONS")
# pages and the docs use only their own stylesheet; no script, no frame, no form to elsewhere
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
                "Access-Control-Expose-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                "Access-Control-Max-Age")


def init_app(app) -> None:
    # registered before CORS(app): Flask runs after_request hooks last-registered first, so this one
    # sees the headers flask-cors added and takes them off the answers to writes
    app.after_request(no_cors_for_writes)
    app.after_request(security_headers)
    origins = [o.strip() for o in app.config["KB_SETTINGS"].cors_origins.split(",") if o.strip()]
    anyone = origins == ["*"]
    CORS(app, resources={r"/api/v1/.*": {}, r"/openapi\.json": {}},
         origins="*" if anyone else origins, send_wildcard=anyone, methods=list(READ_METHODS),
         allow_headers=["Authorization", "Accept", "If-None-Match", "Content-Type"],
         expose_headers=["ETag", "Link", "X-Total-Count", "Retry-After", "Content-Disposition"],
         max_age=600, vary_header=True)


def no_cors_for_writes(response):
    if request.method not in READ_METHODS:
        for header in CORS_HEADERS:
            response.headers.pop(header, None)
    return response


def security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    return response
