"""The Flask app in-process: response shapes, arguments, and errors that are always JSON."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ERROR_KEYS = {"code", "status", "message", "errors"}


def assert_error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert body["code"] == code and body["status"] and body["message"]
    assert set(body) <= ERROR_KEYS
    return body


def test_search_answer_has_the_documented_shape(client):
    body = client.get("/api/v1/search?q=public+health").get_json()
    assert set(body) >= {"query", "total", "offset", "limit", "hits", "facets", "took_ms"}
    hit = body["hits"][0]
    assert set(hit) >= {"id", "score", "document", "section", "ordinal", "start", "end", "text",
                        "snippet", "tags", "keywords"}
    assert hit["document"] == {"id": "science-diplomacy",
                               "title": "Build science diplomacy with Chinese characteristics", "authors": [],
                               "date": "", "url": "", "doi": "", "publisher": "", "source": hit["document"]["source"]}
    assert hit["document"]["source"].endswith("science-diplomacy.txt")


def test_pagination_is_consistent(client):
    everything = client.get("/api/v1/search?q=science&limit=100").get_json()
    pages = [client.get(f"/api/v1/search?q=science&limit=2&offset={o}").get_json()
             for o in range(0, everything["total"], 2)]
    assert [h["id"] for p in pages for h in p["hits"]] == [h["id"] for h in everything["hits"]]
    assert all(p["total"] == everything["total"] for p in pages)


def test_highlight_false_and_sort_by_document(client):
    body = client.get("/api/v1/search?q=science&highlight=false&sort=document&limit=100").get_json()
    assert all("snippet" not in h for h in body["hits"])
    assert [h["ordinal"] for h in body["hits"]] == sorted(h["ordinal"] for h in body["hits"])


def test_similar_passages_exclude_the_passage_itself(client):
    body = client.get("/api/v1/passages/science-diplomacy:1/similar?limit=3").get_json()
    assert 0 < len(body["hits"]) <= 3
    assert "science-diplomacy:1" not in [h["id"] for h in body["hits"]]
    assert_error(client.get("/api/v1/passages/nope:1/similar"), 404)


def test_suggest_completes_and_corrects(client):
    body = client.get("/api/v1/suggest?q=diplom").get_json()
    assert body["completions"][0]["text"] == "diplomacy" and body["completions"][0]["hits"] > 0
    fixed = client.get("/api/v1/suggest?q=diplomcy").get_json()
    assert fixed["did_you_mean"]["text"] == "diplomacy" and fixed["did_you_mean"]["hits"] > 0


def test_health_and_stats(client):
    assert client.get("/api/v1/health").get_json() == {"status": "ok", "semantic": "off"}
    stats = client.get("/api/v1/stats").get_json()
    assert stats["documents"] == 1 and stats["passages"] > 0 and stats["kb_version"]


def test_openapi_lists_every_route(client, app):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = set(spec["paths"])
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.replace("<path:", "{").replace("<", "{").replace(">", "}")
            assert path in documented, path
    assert "Error" in spec["components"]["schemas"]


@pytest.mark.parametrize("url,code", [
    ("/api/v1/unknown", 404),
    ("/nothing/here", 404),
    ("/api/v1/passages/science-diplomacy:0", 404),
    ("/api/v1/passages/..%2F..%2Fetc%2Fpasswd:1", 404),
    ("/api/v1/documents/..%2Fsecret", 404),
    ("/api/v1/search?limit=101", 422),
    ("/api/v1/search?offset=-1", 422),
    ("/api/v1/search?group_by=tag", 422),
    ("/api/v1/search?highlight=maybe", 422),
    ("/api/v1/search?syntax=query&q=" + "x" * 1001, 400),
    ("/api/v1/search?q=%22open&syntax=query", 400),
    ("/api/v1/search?q=a+AND&syntax=query", 400),
    ("/api/v1/search?q=*a*b*c*&syntax=query", 400),
    ("/api/v1/search?q=nosuch:field&syntax=query", 400),
    ("/api/v1/search?syntax=regex", 422),
    ("/api/v1/suggest", 422),
])
def test_every_get_error_is_json(client, url, code):
    assert_error(client.get(url), code)


# POST /api/v1/search is a search with its arguments in a JSON body (tests/api/test_parameters.py)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_wrong_methods_are_json_405(client, method):
    assert_error(getattr(client, method)("/api/v1/export"), 405)


def test_search_by_post_takes_a_json_body_and_its_errors_are_like_get(client):
    r = client.post("/api/v1/search", json={"q": "science", "limit": 2})
    assert r.status_code == 200 and len(r.get_json()["hits"]) == 2
    assert_error(client.post("/api/v1/search", json={"q": "x", "limit": 0}), 422)


def test_unexpected_errors_are_json_500_without_a_trace(app, monkeypatch):
    def broken():
        raise RuntimeError("/secret/path exploded")
    monkeypatch.setattr("api.search.get_kb", broken)
    body = assert_error(app.test_client().get("/api/v1/search?q=x"), 500)
    assert "secret" not in str(body) and "Traceback" not in str(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=80))
def test_no_query_string_is_a_server_error(client, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code in (200, 400, 422), (q, response.get_data(as_text=True))
    assert response.is_json


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.lists(st.sampled_from(['"', "(", ")", "AND", "OR", "NOT", "-", "+", "*", "~", ":", "tags:",
                                    "title:", "health", "science", "covid-19", "\\", "^", "[", "]", "{", "}",
                                    "/", "TO", "'", "~2"]), max_size=12).map(" ".join))
def test_no_syntax_soup_is_a_server_error(client, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code in (200, 400, 422), (q, response.get_data(as_text=True))


def test_a_passage_answers_its_citation(client):
    """What the search page links each hit to: the passage's document as one entry, the passage as note."""
    ris = client.get("/api/v1/passages/science-diplomacy:2?format=ris")
    assert ris.status_code == 200 and ris.content_type == "application/x-research-info-systems"
    text = ris.get_data(as_text=True)
    assert text.startswith("TY  - ") and text.count("ER  - ") == 1 and "science-diplomacy:2" in text
    csl = client.get("/api/v1/passages/science-diplomacy:2",
                     headers={"Accept": "application/vnd.citationstyles.csl+json"})
    [item] = csl.get_json(force=True)
    assert item["title"].startswith("Build science diplomacy") and "[science-diplomacy:2]" in item["note"]
    assert client.get("/api/v1/passages/science-diplomacy:2").get_json()["id"] == "science-diplomacy:2"
    assert client.get("/api/v1/passages/science-diplomacy:99?format=bibtex").status_code == 404
    assert client.get("/api/v1/passages/science-diplomacy:2?format=csv").status_code == 422


def test_fields_narrows_hits_and_export_lines(client):
    full = client.get("/api/v1/search?q=health&limit=3").get_json()
    narrow = client.get("/api/v1/search?q=health&limit=3&fields=text,document&fields=score").get_json()
    assert len(full["hits"]) >= 2 and [list(h) for h in narrow["hits"]] == [["id", "document", "text", "score"]] * len(
        full["hits"])
    assert narrow["hits"] == [{k: h[k] for k in ("id", "document", "text", "score")} for h in full["hits"]]
    assert narrow["total"] == full["total"] and narrow["facets"] == full["facets"]   # only the hits narrow
    posted = client.post("/api/v1/search", json={"q": "health", "limit": 3, "fields": ["snippet"]}).get_json()
    assert posted["hits"] == [{"id": h["id"], "snippet": h["snippet"]} for h in full["hits"]]
    lines = client.get("/api/v1/search?q=health&limit=3&fields=id&format=jsonl").get_data(as_text=True)
    assert [json.loads(line) for line in lines.splitlines()] == [{"id": h["id"]} for h in full["hits"]]
    export = [json.loads(line) for line in client.get("/api/v1/export?fields=document_title,tags")
              .get_data(as_text=True).splitlines()]
    whole = [json.loads(line) for line in client.get("/api/v1/export").get_data(as_text=True).splitlines()]
    assert export == [{"id": p["id"], "tags": p["tags"], "document_title": p["document_title"]} for p in whole]
    assert client.get("/api/v1/export?format=json&fields=text").get_json()["passages"][0] == \
        {"id": whole[0]["id"], "text": whole[0]["text"]}


def test_an_unknown_field_is_a_422_that_lists_the_fields(client):
    r = client.get("/api/v1/search?q=health&fields=text,txet")
    body = r.get_json()
    assert r.status_code == 422 and body["code"] == 422 and body["status"] == "Unprocessable Entity"
    [said] = body["errors"]["query"]["fields"]["0"]
    assert said.startswith("unknown field 'txet'; fields: id, document, document_id,") and "snippet" in said
    r = client.post("/api/v1/search", json={"q": "health", "fields": ["nope"]})
    assert r.status_code == 422 and "unknown field 'nope'" in r.get_json()["errors"]["json"]["fields"]["0"][0]
    r = client.get("/api/v1/export?fields=score")   # a hit's field, not an export line's
    assert r.status_code == 422 and "evidence" in r.get_json()["errors"]["query"]["fields"]["0"][0]
    r = client.get("/api/v1/search?q=health&fields=text&format=csv")
    assert r.status_code == 400 and r.get_json()["message"] == \
        "fields narrows JSON and JSON Lines answers; csv has its own columns"
    assert r.get_json()["errors"] == {"query": {"fields": [r.get_json()["message"]]}}
    assert client.get("/api/v1/export?fields=%20id%20,,text,").status_code == 200   # blanks ignored
