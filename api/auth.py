"""Who may write and who may read.

* ``KB_API_TOKEN`` set: every write (POST, PUT, PATCH, DELETE; not POST /api/v1/search, a read) needs
  ``Authorization: Bearer <token>``.
* ``KB_READ_TOKEN`` set: reads need it (or the write token) too; health, the OpenAPI document, the docs
  page and static files stay open. Browsers may give the token as the password of HTTP Basic. Without
  a write token, writes need the read token: a server that locks its reads never leaves writes open.
* No token at all: writes are accepted only from loopback, for a ``Host`` that names this machine
  (a loopback address, ``localhost`` or the ``--host`` given: after a DNS rebinding the Host is the
  attacker's name) and never from a page of another site (a browser on this machine must not be a
  way in).

Every write is judged here, before its handler runs: an anonymous write learns nothing about which
ids exist.

Tokens are compared in constant time (``hmac.compare_digest``).
"""
from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from urllib.parse import urlsplit

from flask import current_app, request
from flask_smorest import abort

from .hosts import GIVEN_HOST, local_name

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = ("/api/v1/health", "/openapi.json", "/docs", "/static/", "/favicon.ico")
READ_POSTS = ("/api/v1/search", "/api/v1/eval")   # POSTs that only read: their arguments do not fit in a URL


def init_app(app) -> None:
    app.before_request(check_access)


def check_access():
    if request.method == "OPTIONS" or request.routing_exception is not None:
        return  # CORS preflights, and 404/405 answers, which say nothing about the data
    settings = current_app.config["KB_SETTINGS"]
    write_token, read_token = settings.api_token, settings.read_token
    if request.method in WRITE_METHODS and not (request.method == "POST" and request.path in READ_POSTS):
        if write_token:
            _require((write_token,), "writing needs the API token")
        elif read_token:
            _require((read_token,), "writing needs the read token (no write token is configured)")
        else:
            _loopback_only(settings)
    elif read_token and not request.path.startswith(OPEN_PATHS):
        _require(tuple(t for t in (read_token, write_token) if t), "reading needs a token")


def given_token() -> str | None:
    """The bearer token, or the password of HTTP Basic credentials."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


def token_matches(given: str | None, expected: tuple[str, ...]) -> bool:
    if not given:
        return False
    given_bytes = given.encode("utf-8")
    matched = False
    for token in expected:  # every token is compared, in constant time each
        matched |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    return matched


def _require(expected: tuple[str, ...], what: str) -> None:
    given = given_token()
    if token_matches(given, expected):
        return
    challenge = 'Bearer realm="kb"'
    if request.path == "/" or request.path.startswith("/passage/"):
        challenge = 'Basic realm="kb", charset="UTF-8", ' + challenge  # browsers then ask for it
    reason = "the token is wrong" if given else "send 'Authorization: Bearer <token>'"
    abort(401, message=f"{what}: {reason}", headers={"WWW-Authenticate": challenge})


def _loopback_only(settings) -> None:
    if not is_loopback(request.remote_addr):
        abort(403, message="no API token is configured, so writes are accepted only from loopback; "
                           "start kb serve with KB_API_TOKEN or --token-file to write from elsewhere")
    given = request.environ.get(GIVEN_HOST, request.host)
    if not local_name(given, settings):
        abort(403, message="no API token is configured, so writes are accepted only for a Host that names "
                           "this machine (127.0.0.1, ::1, localhost or the --host given)")
    if cross_site(given, settings):
        abort(403, message="writes from a page of another site are refused")


def is_loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def cross_site(given_host: str, settings) -> bool:
    """A browser sending a form or a fetch from another origin (CSRF against a loopback server), or
    from a page whose origin is not this machine (a rebinding page is 'same-origin' to itself)."""
    if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    return origin == "null" or netloc != given_host.lower() or not local_name(netloc, settings)
