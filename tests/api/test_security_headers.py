"""Security headers (api/security.py): nosniff on every answer; a Content-Security-Policy, no
framing and no referrer on every HTML page, unless the page set its own."""
from __future__ import annotations

from api import create_app


def test_json_answers_say_nosniff(client):
    for url in ("/api/v1/search?q=health", "/api/v1/nope", "/openapi.json"):
        response = client.get(url)
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert "Content-Security-Policy" not in response.headers or response.mimetype != "application/json"


def test_html_pages_get_a_content_security_policy(sample_home):
    app = create_app({"TESTING": True, "KB_HOME": str(sample_home)})
    app.add_url_rule("/html-probe", "html_probe", lambda: "<p>page</p>")
    app.add_url_rule("/own-csp", "own_csp",
                     lambda: ("<p>page</p>", 200, {"Content-Security-Policy": "default-src 'none'"}))
    client = app.test_client()
    page = client.get("/html-probe")
    assert page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert client.get("/own-csp").headers["Content-Security-Policy"] == "default-src 'none'"


def test_the_policy_is_configurable(sample_home):
    app = create_app({"TESTING": True, "KB_HOME": str(sample_home), "KB_CSP": "default-src 'none'"})
    app.add_url_rule("/html-probe", "html_probe", lambda: "<p>page</p>")
    assert app.test_client().get("/html-probe").headers["Content-Security-Policy"] == "default-src 'none'"
