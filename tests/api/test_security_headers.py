"""Security headers (api/security.py): every answer, JSON, error or page, says nosniff and carries a
Content-Security-Policy under which no script runs and no other site may frame kb; a view that
sets its own policy keeps it."""
from __future__ import annotations

import pytest

from api import create_app


def policy(header: str) -> dict[str, str]:
    return {d.split()[0]: d.partition(" ")[2] for d in (p.strip() for p in header.split(";")) if d}


@pytest.mark.parametrize("url", ["/", "/docs", "/?q=public+health", "/api/v1/search?q=health", "/api/v1/nope",
                                 "/openapi.json", "/api/v1/passages/science-diplomacy:1", "/api/v1/search?q=%22"])
def test_every_answer_carries_the_headers(client, url):
    response = client.get(url)
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    csp = policy(response.headers["Content-Security-Policy"])
    script = csp.get("script-src", csp.get("default-src", ""))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script, csp
    assert csp["frame-ancestors"] == "'none'" and csp.get("object-src", csp["default-src"]) in ("'none'", "'self'")


def test_html_pages_are_html_with_the_policy(client):
    for url in ("/", "/docs"):
        page = client.get(url)
        assert page.status_code == 200 and page.mimetype == "text/html", url
        assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Referrer-Policy"] == "no-referrer"


def test_a_view_that_sets_its_own_policy_keeps_it(sample_home):
    app = create_app({"TESTING": True, "KB_HOME": str(sample_home)})
    app.add_url_rule("/own-csp", "own_csp",
                     lambda: ("<p>page</p>", 200, {"Content-Security-Policy": "default-src 'none'"}))
    assert app.test_client().get("/own-csp").headers["Content-Security-Policy"] == "default-src 'none'"
