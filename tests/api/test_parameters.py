"""What a client asks is what it gets: an unknown query parameter is a 400 that names it (with the
closest known one), a tag no passage has gets a notice, and a long document list goes in the body
of POST /api/v1/search."""
from __future__ import annotations

import pytest


def assert_400(response, message):
    body = response.get_json()
    assert response.status_code == 400 and body["code"] == 400, body
    assert body["message"] == message, body
    return body


@pytest.mark.parametrize("url, message", [
    ("/api/v1/search?q=health&limt=5", "unknown parameter 'limt'; did you mean 'limit'?"),
    ("/api/v1/search?tags=covid-19", "unknown parameter 'tags'; did you mean 'tag'?"),
    ("/api/v1/export?tga=covid-19", "unknown parameter 'tga'; did you mean 'tag'?"),
    ("/api/v1/documents?ofset=2", "unknown parameter 'ofset'; did you mean 'offset'?"),
    ("/api/v1/suggest?q=dipl&limits=2", "unknown parameter 'limits'; did you mean 'limit'?"),
    ("/api/v1/passages/science-diplomacy:1/similar?limt=2", "unknown parameter 'limt'; did you mean 'limit'?"),
    ("/api/v1/stats?verbose=1", "unknown parameter 'verbose' (this endpoint takes none)"),
    ("/api/v1/passages/science-diplomacy:1?x=1", "unknown parameter 'x' (this endpoint takes: format)"),
])
def test_unknown_parameters_are_400s_that_name_them(client, url, message):
    body = assert_400(client.get(url), message)
    assert list(body["errors"]["query"]) == [message.split("'")[1]]


def test_every_unknown_parameter_is_named_and_known_ones_still_work(client):
    body = assert_400(client.get("/api/v1/search?q=x&limt=1&zzzzzz=2"),
                      "unknown parameter 'limt'; did you mean 'limit'?; unknown parameter 'zzzzzz' (this "
                      "endpoint takes: any_tag, author, color, date_from, date_to, document, fields, format, fusion, "
                      "group_by, highlight, limit, mode, not_tag, offset, q, sort, source, syntax, tag)")
    assert set(body["errors"]["query"]) == {"limt", "zzzzzz"}
    assert client.get("/api/v1/search?q=health&limit=1&offset=1&tag=public-health").status_code == 200


def test_writes_check_their_parameters_too(writable_app):
    client = writable_app.test_client()
    r = client.post("/api/v1/documents?titel=Notes", data="# Notes\n\nSome text.", content_type="text/markdown")
    assert_400(r, "unknown parameter 'titel'; did you mean 'title'?")
    r = client.post("/api/v1/documents?title=Notes&tag=field", data="# Notes\n\nSome field text.",
                    content_type="text/markdown")
    assert r.status_code == 201 and "field" in r.get_json()["tags"]
    r = client.post("/api/v1/documents/bulk?tags=x", data='{"title": "a", "text": "b"}\n',
                    content_type="application/x-ndjson")
    assert_400(r, "unknown parameter 'tags'; did you mean 'tag'?")


def test_the_html_pages_are_not_api_and_keep_their_own_parameters(client):
    assert client.get("/?q=health&utm_source=mail").status_code == 200


def test_a_tag_no_passage_has_gets_a_notice(client):
    body = client.get("/api/v1/search?tag=nosuch").get_json()
    assert body["total"] == 0 and body["notice"] == "no passage has the tag 'nosuch'"
    body = client.get("/api/v1/search?q=health&any_tag=covid-19&any_tag=covid19&not_tag=zzz").get_json()
    assert body["total"] >= 1 and body["notice"] == "no passage has the tags 'covid19', 'zzz'"
    assert client.get("/api/v1/search?tag=covid-19").get_json()["notice"] is None


def test_the_cli_says_the_notice_too(run_kb, sample_home):
    result = run_kb("search", "--tag", "nosuch", "health", home=sample_home)
    assert result.exit_code == 0 and "kb: note: no passage has the tag 'nosuch'" in result.stderr


def test_a_long_document_list_goes_in_a_post_body(client):
    many = [f"doc-{i}" for i in range(3000)] + ["science-diplomacy"]
    r = client.post("/api/v1/search", json={"q": "health", "document": many, "limit": 2})
    body = r.get_json()
    assert r.status_code == 200 and body["total"] >= 2 and len(body["hits"]) == 2
    assert body["next"] is None and all(h["document"]["id"] == "science-diplomacy" for h in body["hits"])
    get = client.get("/api/v1/search?q=health&limit=2&document=science-diplomacy").get_json()
    assert [h["id"] for h in get["hits"]] == [h["id"] for h in body["hits"]] and get["total"] == body["total"]
    assert client.post("/api/v1/search", json={"q": "health", "document": many * 4}).status_code == 422
    refused = client.post("/api/v1/search", json={"q": "health", "limt": 2})
    assert refused.status_code == 422 and "limt" in refused.get_json()["errors"]["json"]
    csv = client.post("/api/v1/search", json={"q": "health", "format": "csv"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and csv.get_data(as_text=True).startswith("id,")


def test_a_url_takes_up_to_a_thousand_documents(client):
    query = "&".join(f"document=d{i}" for i in range(1000))
    assert client.get(f"/api/v1/search?{query}").status_code == 200
    assert client.get(f"/api/v1/search?{query}&document=x").status_code == 422
