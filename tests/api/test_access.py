"""Who may read and write, in-process over the real app and a real index: tokens (bearer and basic),
loopback-only writes without a token, cross-site refusals, and headers every answer carries."""
from __future__ import annotations

import base64

import pytest

from api import create_app
from api.auth import token_matches

WRITE = "write-token-0123456789"
READ = "read-token-0123456789"


@pytest.fixture
def locked(kb_home):
    return create_app({"TESTING": True, "KB_HOME": str(kb_home), "KB_API_TOKEN": WRITE,
                       "KB_READ_TOKEN": READ}).test_client()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_read_token_guards_reads_but_not_health_docs_or_spec(locked):
    for path in ("/api/v1/search?q=science", "/api/v1/tags", "/api/v1/export", "/api/v1/documents", "/",
                 "/passage/science-diplomacy:1"):
        r = locked.get(path)
        assert r.status_code == 401 and r.is_json, path
        assert locked.get(path, headers=bearer(READ)).status_code == 200, path
        assert locked.get(path, headers=bearer(WRITE)).status_code == 200, path  # the write token reads too
        assert locked.get(path, headers=bearer("nope")).status_code == 401, path
    for path in ("/api/v1/health", "/docs", "/openapi.json", "/static/kb.css"):
        assert locked.get(path).status_code == 200, path
    page = locked.get("/")
    assert page.headers["WWW-Authenticate"].startswith("Basic")  # a browser asks for it
    basic = base64.b64encode(f"me:{READ}".encode()).decode()
    assert locked.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200


def test_a_search_by_post_is_a_read(locked):
    assert locked.post("/api/v1/search", json={"q": "science"}).status_code == 401
    assert locked.post("/api/v1/search", json={"q": "science"}, headers=bearer(READ)).status_code == 200


def test_the_read_token_does_not_write(locked):
    r = locked.post("/api/v1/documents", json={"title": "t", "text": "Some text about vaccines."},
                    headers=bearer(READ))
    assert r.status_code == 401
    ok = locked.post("/api/v1/documents", json={"title": "t", "text": "Some text about vaccines."},
                     headers=bearer(WRITE))
    assert ok.status_code == 201


def test_without_token_writes_only_from_loopback_and_same_site(writable_app):
    client = writable_app.test_client()
    doc = {"title": "Loopback note", "text": "Vaccines reached the clinic."}
    remote = client.post("/api/v1/documents", json=doc, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert remote.status_code == 403 and "loopback" in remote.get_json()["message"]
    ipv6 = client.post("/api/v1/documents", json=doc, environ_base={"REMOTE_ADDR": "::1"})
    assert ipv6.status_code == 201
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        r = client.post("/api/v1/documents", json=doc, headers=headers)
        assert r.status_code == 403, headers
    same = client.post("/api/v1/documents", json=doc, headers={"Origin": "http://localhost"})
    assert same.status_code == 201
    assert client.delete("/api/v1/documents/nope", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 403


def test_routing_errors_come_before_auth(locked):
    assert locked.post("/api/v1/export").status_code == 405
    assert locked.put("/api/v1/search").status_code == 405
    assert locked.post("/api/v1/nowhere").status_code == 404


def test_token_comparison():
    assert token_matches("abc", ("abc",)) and token_matches("abc", ("x", "abc"))
    assert not token_matches("abd", ("abc",)) and not token_matches(None, ("abc",)) and not token_matches("", ("",))
    assert token_matches("é", ("é",))


def test_every_answer_carries_the_safety_headers(client):
    for path in ("/", "/docs", "/api/v1/search?q=x", "/api/v1/nope"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


@pytest.mark.parametrize("size,expected", [("25MB", 25 * 1024 ** 2), ("500k", 500 * 1024), ("2048", 2048),
                                           ("1.5 GB", int(1.5 * 1024 ** 3))])
def test_parse_size(size, expected):
    from kb.settings import parse_size
    assert parse_size(size) == expected


def test_body_limit_is_configurable(kb_home):
    small = create_app({"TESTING": True, "KB_HOME": str(kb_home), "MAX_CONTENT_LENGTH": 2048}).test_client()
    r = small.post("/api/v1/documents", json={"title": "t", "text": "x " * 2000})
    assert r.status_code == 413 and "2.0 KB" in r.get_json()["message"]
    assert small.post("/api/v1/documents", json={"title": "t", "text": "Vaccines reached clinics."}).status_code == 201
