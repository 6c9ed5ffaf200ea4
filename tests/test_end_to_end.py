"""The whole path over real processes: `kb ingest` on the sample, `kb serve` on a loopback
port, and HTTP requests the way curl and research tools send them; every test runs against the
embedded Whoosh index and against a 2-shard, 2-mirror Sphinx cluster (``live_server``)."""
from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from helpers import KB_BIN


def search(server, **params):
    r = server.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    return r.json()


def all_passages(server):
    doc = server.get("/api/v1/documents/science-diplomacy").json()
    return doc, doc["passages"]


def test_public_health_first_hit_contains_the_phrase_with_marks(live_server):
    body = search(live_server, q="public health")
    first = body["hits"][0]
    assert "public health" in first["text"].lower()
    assert "<mark>public</mark> <mark>health</mark>" in first["snippet"].lower()
    assert body["total"] == len(search(live_server, q="public health", limit=100)["hits"])


def test_tag_filter_returns_exactly_the_tagged_passages(live_server):
    _, passages = all_passages(live_server)
    tagged = {p["id"] for p in passages if "covid-19" in p["tags"]}
    body = search(live_server, tag="covid-19", limit=100)
    assert {h["id"] for h in body["hits"]} == tagged
    assert body["total"] == len(tagged) > 0
    for hit in body["hits"]:
        assert re.search(r"covid", hit["text"], re.I)


def test_every_passage_is_clean_tagged_and_cites_the_document(live_server):
    doc, passages = all_passages(live_server)
    assert len(passages) >= 5
    for p in passages:
        assert p["tags"], p["id"]
        assert "User Login" not in p["text"] and "Register Account" not in p["text"]
        assert not p["text"].startswith("Build science diplomacy with Chinese characteristics")
        assert p["text"][0].isupper() or not p["text"][0].isalpha()
        assert " ".join(doc["text"][p["start"]:p["end"]].split()) == p["text"]


def test_phrase_and_boolean_queries(live_server):
    phrase = search(live_server, q='"science foreign policy"')
    assert phrase["total"] == 1
    assert "science foreign policy" in phrase["hits"][0]["text"]
    both = search(live_server, q="COVID AND capacity", limit=100)
    assert both["total"] >= 1
    for hit in both["hits"]:
        assert "covid" in hit["text"].lower() and "capacity" in hit["text"].lower()
    without = search(live_server, q="diplomacy NOT China", limit=100)
    for hit in without["hits"]:
        assert "china" not in hit["text"].lower()


def test_all_any_and_not_tags(live_server):
    _, passages = all_passages(live_server)
    tags_of = {p["id"]: set(p["tags"]) for p in passages}
    all_ = search(live_server, tag=["public-health", "covid-19"], limit=100)
    assert {h["id"] for h in all_["hits"]} == {i for i, t in tags_of.items() if {"public-health", "covid-19"} <= t}
    any_ = search(live_server, any_tag=["geopolitics", "covid-19"], limit=100)
    assert {h["id"] for h in any_["hits"]} == {i for i, t in tags_of.items() if t & {"geopolitics", "covid-19"}}
    not_ = search(live_server, not_tag="geopolitics", limit=100)
    assert {h["id"] for h in not_["hits"]} == {i for i, t in tags_of.items() if "geopolitics" not in t}


def test_facets_count_the_whole_filtered_set(live_server):
    body = search(live_server, q="science", tag="developing-countries", limit=1)
    assert body["facets"]["tags"]["developing-countries"] == body["total"]
    assert len(body["hits"]) == 1 < body["total"]


def test_group_by_document(live_server):
    body = search(live_server, q="science diplomacy", group_by="document")
    assert body["total"] == 1
    assert [h["document"]["id"] for h in body["hits"]] == ["science-diplomacy"]


def test_passage_and_document_lookups(live_server):
    second = live_server.get("/api/v1/passages/science-diplomacy:2").json()
    assert second["previous"] == "science-diplomacy:1"
    assert second["next"] == "science-diplomacy:3"
    assert second["document"]["id"] == "science-diplomacy"
    first = live_server.get("/api/v1/passages/science-diplomacy:1").json()
    assert first["previous"] is None
    listing = live_server.get("/api/v1/documents").json()
    assert listing["total"] == 1
    assert listing["documents"][0]["passages"] == len(all_passages(live_server)[1])
    tags = live_server.get("/api/v1/tags").json()["tags"]
    covid = next(t for t in tags if t["tag"] == "covid-19")
    assert covid["label"] == "COVID-19" and covid["count"] >= 1 and covid["description"]
    stats = live_server.get("/api/v1/stats").json()
    assert stats["documents"] == 1 and stats["passages"] >= 5 and stats["index_bytes"] > 0


@pytest.mark.parametrize("method,path,params,code", [
    ("GET", "/api/v1/nope", None, 404),
    ("GET", "/api/v1/passages/science-diplomacy:999", None, 404),
    ("GET", "/api/v1/documents/missing", None, 404),
    ("DELETE", "/api/v1/search", None, 405),
    ("GET", "/api/v1/search", {"limit": "0"}, 422),
    ("GET", "/api/v1/search", {"limit": "abc"}, 422),
    ("GET", "/api/v1/search", {"q": '"unclosed', "syntax": "query"}, 400),
    ("GET", "/api/v1/search", {"q": "(a OR b", "syntax": "query"}, 400),
    ("GET", "/api/v1/search", {"q": "AND", "syntax": "query"}, 400),
])
def test_errors_are_json_of_one_shape(live_server, method, path, params, code):
    r = live_server.request(method, path, params=params)
    assert r.status_code == code
    body = r.json()
    assert body["code"] == code and body["status"] and body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}


def test_cli_search_and_export_agree_with_http(server_home, backend_env, live_server):
    env = {**os.environ, **backend_env}
    out = subprocess.run([str(KB_BIN), "search", "public", "health", "--json", "--home", str(server_home)],
                         capture_output=True, text=True, check=True, env=env).stdout
    cli_ids = [h["id"] for h in json.loads(out)["hits"]]
    http_ids = [h["id"] for h in search(live_server, q="public health")["hits"]]
    assert cli_ids == http_ids
    lines = subprocess.run([str(KB_BIN), "export", "--home", str(server_home)],
                           capture_output=True, text=True, check=True, env=env).stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert [p["id"] for p in exported] == [p["id"] for p in all_passages(live_server)[1]]
    assert {"id", "document_id", "ordinal", "section", "start", "end", "text", "tags"} <= set(exported[0])
