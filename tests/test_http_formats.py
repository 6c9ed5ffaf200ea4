"""Reads over real HTTP: every output format parsed back, Accept negotiation, export streaming,
pagination links, CORS, ETag/304."""
from __future__ import annotations

import csv
import io
import json

import pytest
import requests

from kb.output import CSV_COLUMNS

PUBLIC_HEALTH = {"q": "public health", "limit": 100}


def json_hits(server, **params):
    r = server.get("/api/v1/search", params={**PUBLIC_HEALTH, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_every_search_format_parses_back_to_the_same_hits(live_server):
    reference = json_hits(live_server)
    ids = [h["id"] for h in reference["hits"]]
    assert len(ids) >= 2

    text = live_server.get("/api/v1/search", params={**PUBLIC_HEALTH, "format": "text"})
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    blocks = [b for b in text.text.split("\n\n") if b.strip() and not b.startswith(f"{len(ids)} of")]
    assert [b.split()[1] for b in blocks] == ids  # "[score] id  title"
    first = reference["hits"][0]
    assert blocks[0].startswith(f"[{first['score']:.2f}] {first['id']}  {first['document']['title']}")
    assert f"tags: {', '.join(first['tags'])}" in blocks[0]
    assert "**public** **health**" in text.text.lower() and "<mark>" not in text.text
    assert text.text.rstrip().endswith(f"{len(ids)} of {reference['total']} shown")

    table = live_server.get("/api/v1/search", params={**PUBLIC_HEALTH, "format": "csv"})
    assert table.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert tuple(csv.reader(io.StringIO(table.text)).__next__()) == CSV_COLUMNS
    assert [r["id"] for r in rows] == ids
    assert rows[0]["text"] == first["text"] and rows[0]["tags"].split(";") == first["tags"]
    assert float(rows[0]["score"]) == pytest.approx(first["score"])
    assert (int(rows[0]["start"]), int(rows[0]["end"])) == (first["start"], first["end"])

    lines = live_server.get("/api/v1/search", params={**PUBLIC_HEALTH, "format": "jsonl"})
    assert lines.headers["Content-Type"] == "application/x-ndjson"
    parsed = [json.loads(line) for line in lines.text.splitlines()]
    assert [p["id"] for p in parsed] == ids and parsed[0]["snippet"] == first["snippet"]

    colored = live_server.get("/api/v1/search", params={**PUBLIC_HEALTH, "format": "text", "color": 1}).text
    assert "\x1b[1mpublic\x1b[0m" in colored.lower() and "**" not in colored


@pytest.mark.parametrize("accept,media", [
    ("text/plain", "text/plain"),
    ("text/csv", "text/csv"),
    ("application/x-ndjson", "application/x-ndjson"),
    ("application/json", "application/json"),
    ("*/*", "application/json"),
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
    ("text/csv;q=0.5, text/plain", "text/plain"),
])
def test_accept_header_picks_the_format(live_server, accept, media):
    r = live_server.get("/api/v1/search", params={"q": "science"}, headers={"Accept": accept})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(media)
    assert "Accept" in r.headers["Vary"]


def test_unacceptable_and_unknown_formats(live_server):
    r = live_server.get("/api/v1/search", params={"q": "science"}, headers={"Accept": "image/png"})
    assert r.status_code == 406 and r.json()["code"] == 406
    r = live_server.get("/api/v1/search", params={"q": "science", "format": "xml"})
    assert r.status_code == 422 and "format" in r.json()["errors"]["query"]


def test_export_streams_every_passage_in_each_format(live_server):
    document = live_server.get("/api/v1/documents/science-diplomacy").json()
    ids = [p["id"] for p in document["passages"]]
    with requests.get(live_server.url + "/api/v1/export", stream=True, timeout=30) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        assert r.headers.get("Transfer-Encoding") == "chunked"  # streamed, not buffered
        exported = [json.loads(line) for line in r.iter_lines() if line]
    assert [p["id"] for p in exported] == ids
    assert exported[0]["text"] == document["passages"][0]["text"]
    assert exported[0]["document_title"] == document["title"]

    rows = list(csv.DictReader(io.StringIO(live_server.get("/api/v1/export", params={"format": "csv"}).text)))
    assert [r["id"] for r in rows] == ids and rows[0]["document_title"] == document["title"]
    as_json = live_server.get("/api/v1/export", params={"format": "json"}).json()
    assert [p["id"] for p in as_json["passages"]] == ids and as_json["total"] == len(ids)
    text = live_server.get("/api/v1/export", headers={"Accept": "text/plain"}).text
    assert [b.split()[0] for b in text.split("\n\n") if b.strip()] == ids

    tagged = {p["id"] for p in document["passages"] if "covid-19" in p["tags"]}
    filtered = live_server.get("/api/v1/export", params={"tag": "covid-19"}).text.splitlines()
    assert {json.loads(line)["id"] for line in filtered} == tagged


def test_link_headers_and_next_urls_walk_every_page(live_server):
    everything = [h["id"] for h in json_hits(live_server, q="science")["hits"]]
    url, seen, pages = f"{live_server.url}/api/v1/search?q=science&limit=2", [], 0
    while url:
        r = requests.get(url, timeout=30)
        body = r.json()
        seen += [h["id"] for h in body["hits"]]
        assert (r.links.get("next", {}).get("url")) == body["next"]
        if pages:
            assert r.links["prev"]["url"] == body["prev"] and "offset=" in body["prev"]
        else:
            assert body["prev"] is None and "prev" not in r.links
        url, pages = body["next"], pages + 1
    assert seen == everything and pages == (len(everything) + 1) // 2
    csv_page = live_server.get("/api/v1/search", params={"q": "science", "limit": 2, "format": "csv"})
    assert "format=csv" in csv_page.links["next"]["url"] and int(csv_page.headers["X-Total-Count"]) == len(everything)
    listing = live_server.get("/api/v1/documents", params={"limit": 1})
    assert listing.json()["next"] is None and listing.json()["total"] == 1


def test_cors_for_reads_not_for_writes(live_server):
    origin = {"Origin": "https://notebook.example"}
    r = live_server.get("/api/v1/search", params={"q": "science"}, headers=origin)
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in r.headers["Access-Control-Expose-Headers"] and "Link" in r.headers["Access-Control-Expose-Headers"]
    preflight = live_server.request("OPTIONS", "/api/v1/search", headers={
        **origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "Authorization"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    write_preflight = live_server.request("OPTIONS", "/api/v1/documents", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "POST" not in write_preflight.headers.get("Access-Control-Allow-Methods", "")
    write = live_server.request("POST", "/api/v1/documents", json={"title": "x", "text": "y"}, headers=origin)
    assert write.status_code == 403 and "Access-Control-Allow-Origin" not in write.headers


def test_cors_origins_are_configurable(app):
    from api import create_app
    limited = create_app({"TESTING": True, "KB_HOME": str(app.config["KB_SETTINGS"].home),
                          "KB_CORS_ORIGINS": "https://a.example, https://b.example"}).test_client()
    allowed = limited.get("/api/v1/tags", headers={"Origin": "https://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    other = limited.get("/api/v1/tags", headers={"Origin": "https://c.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_etag_and_304_follow_the_index_version(token_server, auth):
    url = "/api/v1/search?q=diplomacy"
    first = token_server.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "no-cache"
    again = token_server.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    other_format = token_server.get(url, headers={"If-None-Match": etag, "Accept": "text/csv"})
    assert other_format.status_code == 200  # another representation, another tag
    for path in ("/api/v1/passages/science-diplomacy:1", "/api/v1/tags", "/api/v1/export", "/"):
        tag = token_server.get(path).headers["ETag"]
        assert token_server.get(path, headers={"If-None-Match": tag}).status_code == 304, path
    assert "ETag" not in token_server.get("/api/v1/health").headers

    write = token_server.request("POST", "/api/v1/documents", headers=auth,
                                 json={"title": "Etag note", "text": "Diplomacy changed the index version."})
    assert write.status_code == 201
    after = token_server.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
