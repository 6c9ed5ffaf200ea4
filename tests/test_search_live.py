"""Every query-syntax form, snippets, suggestions and more-like-this, over HTTP against a real
``kb serve`` of a knowledge base filled by the real ``kb ingest`` (tests/data/search/)."""
from __future__ import annotations

import subprocess

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import DATA, KB_BIN
from helpers.servers import LiveServer

SEARCH_DATA = DATA / "search"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("search-kb") / "kb"
    subprocess.run([str(KB_BIN), "ingest", str(SEARCH_DATA), "--home", str(home)],
                   check=True, capture_output=True, text=True)
    live = LiveServer(home, workers=1)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server):
    with requests.Session() as session:
        def search(q, expect=200, **params):
            response = session.get(server.url + "/api/v1/search", params={"q": q, **params}, timeout=30)
            assert response.status_code == expect, response.text
            assert response.headers["Content-Type"].startswith("application/json")
            return response.json()
        yield search


def passage_ids(body):
    return sorted(hit["id"] for hit in body["hits"])


def documents(body):
    return sorted({hit["document"]["id"] for hit in body["hits"]})


@pytest.mark.parametrize("q,expected", [
    ('"public health"', ["vaccines:1"]),                            # phrase: not "health of the public"
    ('"health improved"', []),
    ('"health improved"~4', ["vaccines:2"]),                        # proximity
    ("india AND observatories", ["diplomacy:1"]),
    ("ventilators OR observatories", ["diplomacy:1", "pandemic:1"]),
    ("health NOT pandemic", ["vaccines:1", "vaccines:2"]),
    ("health -pandemic", ["vaccines:1", "vaccines:2"]),
    ("(nurses OR ventilators) AND health", ["pandemic:1", "vaccines:1"]),
    ("diplomat*", ["diplomacy:2"]),                                 # prefix (diplomat, diplomats)
    ("observatorie~", ["diplomacy:1"]),                             # fuzzy: one edit
    ("tags:covid-19", ["pandemic:1"]),
    ("tag:science-diplomacy", ["diplomacy:1", "diplomacy:2"]),
    ("title:rivals", ["diplomacy:1", "diplomacy:2"]),
    ("section:outlook", ["diplomacy:2"]),
    ("COVID-19", ["pandemic:1"]),
    ("Indo-Pacific hospitals", ["pandemic:1"]),
])
def test_every_syntax_form(http, q, expected):
    body = http(q, syntax="query", limit=100)
    assert passage_ids(body) == expected
    assert body["syntax"] == "query" and body["total"] == len(expected)


def test_free_text_ranks_passages_matching_more_words_first(http):
    body = http("health programs vaccine", limit=100)
    assert body["hits"][0]["id"] == "vaccines:1"
    assert body["total"] >= 3


def test_phrase_snippets_mark_only_the_phrase(http):
    snippet = http('"public health"')["hits"][0]["snippet"]
    assert "<mark>Public</mark> <mark>health</mark> programs" in snippet
    assert "<mark>health</mark> of the <mark>public</mark>" not in snippet
    body = http('"health of the public"')
    assert passage_ids(body) == ["vaccines:2"]
    assert "<mark>health</mark> <mark>of</mark> <mark>the</mark> <mark>public</mark>" in body["hits"][0]["snippet"]


def test_snippets_mark_every_match_escape_html_and_cut_with_an_ellipsis(http):
    hit = next(h for h in http("clinics schools")["hits"] if h["id"] == "vaccines:2")
    assert "<mark>clinics</mark>" in hit["snippet"] and "<mark>schools</mark>" in hit["snippet"]
    assert "&lt;b&gt;local&lt;/b&gt;" in hit["snippet"] and "<b>" not in hit["snippet"]
    assert "&amp;" in hit["snippet"]
    assert hit["snippet"].startswith("…")                         # the passage's start was cut
    negated = http("health -pandemic")["hits"]
    assert all("pandemic" not in h["snippet"].lower() for h in negated)
    assert "snippet" not in http("clinics", highlight="false")["hits"][0]


def test_invalid_syntax_is_a_400_that_says_what_and_where_in_query_mode(http):
    for q, message in [('"open quote', "position 1"), ("health AND", "position 8"),
                       ("nosuch:field", "unknown field 'nosuch'"), ("(health", "never closed")]:
        body = http(q, expect=400, syntax="query")
        assert body["code"] == 400 and message in body["message"]


def test_auto_mode_searches_natural_text_with_stray_syntax_as_words(http):
    assert "unbalanced quote" in http('Nurses kept "records (of every village', expect=400,
                                      syntax="query")["message"]
    body = http('Nurses kept "records (of every village')   # auto, the default
    assert body["syntax"] == "words" and "unbalanced quote" in body["notice"]
    assert body["hits"][0]["id"] == "vaccines:1"
    words = http("health NOT pandemic", syntax="words", limit=100)
    assert "pandemic:1" in passage_ids(words)                      # NOT is a word here, not an operator


# CACM questions (SMART's test collection) as a user types them: sentence punctuation, not syntax
CACM_QUESTIONS = [
    "What articles exist which deal with TSS (Time Sharing System), an operating system for IBM computers?",
    "Articles on text formatting systems. Examples: t/nroff, scribe, bravo.",
    "Articles describing the relationship between data types and concurrency (e.g. what is the type of a "
    "process? when is a synchronization attempt between two processes \"type correct\"?)",
    "List all articles dealing with data types in the following languages: Pascal, CLU, Alphard, Ada.",
    "What is the type of a module? (I don't want the entire literature on Abstract Data Types here.)",
]


@pytest.mark.parametrize("q", CACM_QUESTIONS)
def test_natural_language_questions_are_answered_under_the_default_syntax(http, q):
    body = http(q)                                   # no syntax=: auto
    assert body["syntax"] == "query" and body["notice"] is None, body["notice"]
    assert http(q, syntax="query")["total"] == body["total"]   # strict mode reads it the same way


def test_sentence_punctuation_finds_what_the_words_find(http):
    asked = http("Which rivals met at a retreat: China and India?", limit=100)
    assert passage_ids(asked) == passage_ids(http("Which rivals met at a retreat China and India", limit=100))
    assert "diplomacy:1" in passage_ids(asked)


def test_limits_are_clear_400s(http):
    assert "limit in query syntax is 200" in http("x " * 201, expect=400, syntax="query")["message"]
    assert "searched as plain words" in http("x " * 201)["notice"]
    assert "too many wildcards" in http("h*e*a*l*t*h", expect=400, syntax="query")["message"]
    assert "limit in query syntax is 1000" in http("x " * 501, expect=400, syntax="query")["message"]


def test_a_long_question_is_answered_by_its_most_telling_words(server, http):
    pasted = ("Scientists from China and India met at a retreat to discuss science diplomacy. " * 40
              + " ".join(f"filler{i}" for i in range(300)))
    assert 6_000 < len(pasted) < 20_000
    body = requests.post(server.url + "/api/v1/search", json={"q": pasted, "limit": 5}, timeout=30)
    assert body.status_code == 200, body.text
    body = body.json()
    assert body["syntax"] == "words" and "most telling words" in body["notice"]
    assert body["hits"][0]["id"] == "diplomacy:1"
    medium = http(pasted[:3000])                                     # fits in a URL: GET takes it too
    assert medium["hits"][0]["id"] == "diplomacy:1"
    too_long = requests.post(server.url + "/api/v1/search", json={"q": "word " * 12_000}, timeout=30)
    assert too_long.status_code == 400 and "POST /api/v1/search" in too_long.json()["message"]
    filtered = requests.post(server.url + "/api/v1/search", json={"q": pasted, "tag": ["no-such-tag"]}, timeout=30)
    assert filtered.status_code == 200 and filtered.json()["total"] == 0


def test_group_by_document_and_sort_by_document(http):
    body = http("health", group_by="document", limit=100)
    assert body["total"] == len(body["hits"]) == len(documents(body))
    ordered = http("health diplomacy", sort="document", limit=100)["hits"]
    keys = [(h["document"]["id"], h["ordinal"]) for h in ordered]
    assert keys == sorted(keys)


def test_suggest_completes_and_corrects_with_hit_counts(server):
    body = requests.get(server.url + "/api/v1/suggest", params={"q": "health diplom"}, timeout=30).json()
    texts = [c["text"] for c in body["completions"]]
    assert texts and all(t.startswith("health diplom") for t in texts)
    assert all(c["hits"] > 0 for c in body["completions"])
    fixed = requests.get(server.url + "/api/v1/suggest", params={"q": "vacine trails"}, timeout=30).json()
    assert fixed["did_you_mean"]["text"] == "vaccine trials" and fixed["did_you_mean"]["hits"] >= 1


def test_similar_passages_exclude_itself_and_take_tag_filters(server):
    url = server.url + "/api/v1/passages/diplomacy:1/similar"
    body = requests.get(url, params={"limit": 2}, timeout=30).json()
    ids = [h["id"] for h in body["hits"]]
    assert ids and len(ids) <= 2 and "diplomacy:1" not in ids and ids[0] == "diplomacy:2"
    filtered = requests.get(url, params={"tag": "covid-19"}, timeout=30).json()
    assert all("covid-19" in h["tags"] for h in filtered["hits"])
    assert requests.get(server.url + "/api/v1/passages/nope:1/similar", timeout=30).status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60), syntax=st.sampled_from(["auto", "query", "words"]))
def test_no_query_string_is_a_server_error_over_http(server, q, syntax):
    response = requests.get(server.url + "/api/v1/search", params={"q": q, "syntax": syntax}, timeout=30)
    assert response.status_code in (200, 400, 422), (q, response.text)
    body = response.json()
    if response.status_code == 200:
        assert syntax == "query" or body["syntax"] in ("query", "words")
    else:
        assert body["message"]
