"""HTTP writes under abuse: hostile bodies get a 4xx and write nothing, an HTTP writer that cannot get the index
lock in time gets a 503 with Retry-After, a CLI and an HTTP writer at once both land or one is
told cleanly to retry, and the HTML pages carry security headers and escape passage text."""
from __future__ import annotations

import json
import shutil
import threading
import time

import pytest
import requests

from helpers.servers import LiveServer
from helpers.trials import FORBIDDEN_IN_ERRORS, HTML_TEXT, TOKEN, KbProcess, abstracts, snapshot
from index.storage import write_lock

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def post(server, body=None, raw: bytes | None = None, content_type="application/json"):
    headers = {**AUTH, "Content-Type": content_type}
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(server.url + "/api/v1/documents", data=data, headers=headers, timeout=60)


def assert_clean(response, codes):
    assert response.status_code in codes, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["code"] == response.status_code and error["message"]
    assert set(error) <= {"code", "status", "message", "errors"}
    for marker in FORBIDDEN_IN_ERRORS:
        assert marker not in response.text, marker
    return error


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"{}" + b"}" * depth


HOSTILE_BODIES = [
    ("oversized", None, b'{"title": "big", "text": "' + b"word " * 500_000 + b'"}', {413}),
    ("malformed", None, b'{"title": "x", "text": ', {400}),
    ("not utf-8", None, b'{"title": "\xff\xfe", "text": "vaccines"}', {400, 422}),
    ("deep array", None, b"[" * 100_000 + b"]" * 100_000, {400, 422}),
    ("deep metadata", None, b'{"title": "x", "text": "y", "metadata": ' + nested(5000) + b"}",
     {400, 422}),
    ("wrong types", {"title": 5, "text": ["a", "b"]}, None, {422}),
    ("null text", {"title": "x", "text": None}, None, {422}),
    ("blank text and title", {"title": " ", "text": "   \n "}, None, {422}),
    ("unknown field", {"title": "x", "text": "vaccines", "bogus": 1}, None, {422}),
    ("path id", {"id": "../../etc/passwd", "title": "x", "text": "vaccines"}, None, {422}),
    ("NUL id", {"id": "a\x00b", "title": "x", "text": "vaccines"}, None, {422}),
    ("not an object", [1, 2, 3], None, {400, 422}),
    ("tags not strings", {"title": "x", "text": "vaccines", "tags": [{"a": 1}]}, None, {422}),
]


def test_hostile_bodies_get_a_4xx_and_write_nothing(kb_home):
    server = LiveServer(kb_home, env={"KB_API_TOKEN": TOKEN, "KB_MAX_BODY": str(1024 * 1024)})
    try:
        before = requests.get(server.url + "/api/v1/stats", timeout=30).json()
        for name, body, raw, codes in HOSTILE_BODIES:
            assert_clean(post(server, body, raw), codes)
            assert requests.get(server.url + "/api/v1/health", timeout=10).status_code == 200, name
        after = requests.get(server.url + "/api/v1/stats", timeout=30).json()
        assert (after["documents"], after["passages"]) == (before["documents"], before["passages"])
        good = post(server, {"id": "fine", "title": "Fine", "text": "Vaccines reached rural clinics."})
        assert good.status_code == 201, good.text
    finally:
        server.stop()
    assert TOKEN not in server.log.read_text()


def test_an_http_write_that_cannot_get_the_lock_is_a_clean_503(kb_home):
    server = LiveServer(kb_home, env={"KB_API_TOKEN": TOKEN, "KB_HTTP_LOCK_TIMEOUT": "0.5"})
    try:
        with write_lock(kb_home / "index", timeout=1):
            started = time.monotonic()
            busy = post(server, {"id": "late", "title": "Late", "text": "Vaccines arrived late."})
            assert time.monotonic() - started < 20          # never hangs
            assert_clean(busy, {503})
            assert busy.headers["Retry-After"].isdigit()
            search = requests.get(server.url + "/api/v1/search", params={"q": "health"}, timeout=30)
            assert search.status_code == 200                 # reads go on meanwhile
        again = post(server, {"id": "late", "title": "Late", "text": "Vaccines arrived late."})
        assert again.status_code == 201, again.text
        assert requests.get(server.url + "/api/v1/documents/late", timeout=30).status_code == 200
    finally:
        server.stop()


@pytest.mark.slow
def test_cli_and_http_writers_at_once_both_land_or_get_a_clean_503(kb_home, tmp_path):
    corpus = tmp_path / "cli.jsonl"
    cli_ids = abstracts(corpus, 2500, 60)
    server = LiveServer(kb_home, env={"KB_API_TOKEN": TOKEN, "KB_HTTP_LOCK_TIMEOUT": "1"})
    answers = {}
    try:
        writer = KbProcess("ingest", corpus, "--home", kb_home, "--batch-size", 6)

        def http_writer():
            n = 0
            while writer.alive() or n < 5:
                doc_id = f"http-{n}"
                answers[doc_id] = post(server, {"id": doc_id, "title": f"HTTP note {n}",
                                                "text": f"HTTP note {n} on vaccine trials in clinics."})
                n += 1

        thread = threading.Thread(target=http_writer)
        thread.start()
        thread.join(timeout=600)
        assert writer.finish() == 0, writer.stderr
    finally:
        server.stop()
    for doc_id, response in answers.items():
        assert response.status_code in (201, 503), (doc_id, response.status_code, response.text[:200])
        if response.status_code == 503:
            assert_clean(response, {503})
            assert response.headers["Retry-After"].isdigit()
    landed = {d for d, r in answers.items() if r.status_code == 201}
    snap = snapshot(kb_home)
    assert set(cli_ids) <= set(snap["docs"]) and landed <= set(snap["docs"])
    assert not snap["orphans"] and all(snap["docs"][d] == [1] for d in landed)
    print(f"HTTP writes during a CLI ingest: {len(landed)} landed, {len(answers) - len(landed)} got 503")


def test_html_pages_escape_passage_text_and_carry_security_headers(sample_home, tmp_path):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    from kb.core import KnowledgeBase
    from kb.models import Document
    KnowledgeBase(home).ingest([Document(id="markup", title="Zebra markup test", text=HTML_TEXT)])
    server = LiveServer(home)
    try:
        for path in ("/", "/docs"):
            page = requests.get(server.url + path, params={"q": "alert zebra"}, timeout=30)
            assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
            assert page.headers["Content-Security-Policy"] and page.headers["X-Content-Type-Options"] == "nosniff"
        page = requests.get(server.url + "/", params={"q": "alert zebra"}, timeout=30).text
        assert "zebra" in page.lower()
        assert '<script>alert("zebra")' not in page and "<img src=x onerror" not in page
    finally:
        server.stop()
