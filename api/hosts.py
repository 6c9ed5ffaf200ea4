"""Which ``Host`` kb believes. A request's Host is the client's word: after a DNS rebinding it is the
attacker's name, and reflected into ``Location``, ``Link`` or ``next`` it sends readers elsewhere.
So (WSGI middleware, before Flask builds any URL):

* ``KB_PUBLIC_URL`` set: every URL kb builds starts with it, whatever the Host said;
* else a Host that is a loopback address, ``localhost``, an IP literal or the ``--host`` given is
  kept; any other name is replaced by the address kb serves on.

The Host as sent stays in the environ (``kb.given_host``): writes without a token are accepted only
when it names this machine (``local_name``, used by api.auth)."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

GIVEN_HOST = "kb.given_host"
WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def hostname(host: str) -> str:
    """``evil.example:5000`` → ``evil.example``; ``[::1]:80`` → ``::1`` ('' when unreadable)."""
    try:
        return (urlsplit("//" + host).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _ip(name: str):
    try:
        return ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return None


def local_name(host: str, settings) -> bool:
    """The Host names this machine: a loopback literal, ``localhost``, or the address ``--host``
    gave (a name an attacker's DNS can point here is none of these)."""
    name = hostname(host).lower()
    ip = _ip(name)
    if ip is not None and (getattr(ip, "ipv4_mapped", None) or ip).is_loopback:
        return True
    if name == "localhost":
        return True
    bound = settings.host.strip("[]").lower()
    return bool(name) and bound not in WILDCARDS and name == bound


def trusted_for_links(host: str, settings) -> bool:
    """A Host kb may repeat in the URLs it builds: this machine's names, or any IP literal."""
    return local_name(host, settings) or _ip(hostname(host)) is not None


class HostGuard:
    """WSGI middleware: the Host Flask sees is KB_PUBLIC_URL's, the client's when trusted, or kb's own."""

    def __init__(self, wsgi_app, settings):
        self.wsgi_app = wsgi_app
        self.settings = settings
        public = urlsplit(settings.public_url) if settings.public_url else None
        self.public = public

    def __call__(self, environ, start_response):
        given = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        environ[GIVEN_HOST] = given
        if self.public is not None:
            environ["HTTP_HOST"] = self.public.netloc
            environ["wsgi.url_scheme"] = self.public.scheme
            environ["SCRIPT_NAME"] = self.public.path.rstrip("/") + environ.get("SCRIPT_NAME", "")
        elif not trusted_for_links(given, self.settings):
            environ["HTTP_HOST"] = self.own_host(environ)
        return self.wsgi_app(environ, start_response)

    def own_host(self, environ) -> str:
        bound = self.settings.host
        # the port kb serves on: gunicorn derives SERVER_PORT from the very Host being replaced
        port = str(self.settings.port) if self.settings.port else environ.get("SERVER_PORT", "")
        name = "127.0.0.1" if bound.strip("[]") in WILDCARDS else bound
        name = f"[{name.strip('[]')}]" if ":" in name else name
        return name if port in ("80", "") else f"{name}:{port}"
