"""Parity: the same HTTP requests over the embedded Whoosh index and over a 2-shard, 2-mirror
Sphinx cluster (both filled with the sample by `kb ingest`) give the same answers, up to the
order of equally relevant hits and the scores themselves. Where Sphinx cannot answer (fuzzy
terms) it says so with a 501, never with a wrong result."""
from __future__ import annotations

import html
import re

import pytest

MARK = re.compile(r"<mark>(.*?)</mark>")

QUERIES = ["public health", "science diplomacy", '"science foreign policy"', '"the united states"~3',
           "COVID AND capacity", "diplomacy NOT China", "diplomacy -China", "science AND NOT (china OR us)",
           "(china OR india) AND science", "+china health", "NOT china", "diplom*", "diplo?acy",
           "tags:public-health", "tags:covid-19 OR vaccine", "title:diplomacy", "section:retreat",
           "document:science-diplomacy", "China's", "U.S.", "COVID-19", "Indo-Pacific", "the", "zzzz"]
FILTERS = [{}, {"tag": "developing-countries"}, {"tag": ["public-health", "covid-19"]},
           {"any_tag": ["geopolitics", "covid-19"]}, {"not_tag": "geopolitics"},
           {"document": "science-diplomacy"}, {"document": "missing"}, {"tag": "no-such-tag"}]


def search(server, **params):
    r = server.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def both(whoosh_server, sphinx_server, **params):
    a, b = search(whoosh_server, **params), search(sphinx_server, **params)
    assert b["partial"] is False and a["partial"] is False
    return a, b


def ids(body):
    return [h["id"] for h in body["hits"]]


def assert_ranked(body):
    scores = [h["score"] for h in body["hits"]]
    assert scores == sorted(scores, reverse=True), scores


@pytest.mark.parametrize("q", QUERIES)
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "&".join(f"{k}={v}" for k, v in f.items()) or "none")
def test_same_total_hits_and_facets(whoosh_server, sphinx_server, q, filters):
    a, b = both(whoosh_server, sphinx_server, q=q, limit=100, **filters)
    assert a["total"] == b["total"]
    assert set(ids(a)) == set(ids(b))
    assert a["facets"] == b["facets"]
    assert_ranked(a)
    assert_ranked(b)


@pytest.mark.parametrize("q", ["", "science", "diplomacy NOT China", "tags:public-health"])
def test_reading_order_and_pagination_are_identical(whoosh_server, sphinx_server, q):
    full_a, full_b = both(whoosh_server, sphinx_server, q=q, sort="document", limit=100)
    assert ids(full_a) == ids(full_b)
    assert all(h["score"] is None for h in full_b["hits"])
    for offset, limit in [(0, 2), (2, 3), (5, 10), (50, 5)]:
        a, b = both(whoosh_server, sphinx_server, q=q, sort="document", offset=offset, limit=limit)
        assert ids(a) == ids(b) == ids(full_a)[offset:offset + limit]
        assert a["total"] == b["total"] == full_a["total"]


@pytest.mark.parametrize("q", ["public health", "science", "", "diplomacy NOT China"])
@pytest.mark.parametrize("sort", ["relevance", "document"])
def test_group_by_document(whoosh_server, sphinx_server, q, sort):
    a, b = both(whoosh_server, sphinx_server, q=q, group_by="document", sort=sort)
    assert a["total"] == b["total"]
    assert [h["document"]["id"] for h in a["hits"]] == [h["document"]["id"] for h in b["hits"]]
    assert a["facets"] == b["facets"]
    if sort == "document" or not q:
        assert ids(a) == ids(b)  # the first passage of each document in reading order


def test_relevance_pages_partition_the_ranking(sphinx_server):
    full = search(sphinx_server, q="science diplomacy china", limit=100)
    pages = [search(sphinx_server, q="science diplomacy china", offset=o, limit=2) for o in range(0, full["total"], 2)]
    assert [i for page in pages for i in ids(page)] == ids(full)
    assert all(page["total"] == full["total"] for page in pages)


@pytest.mark.parametrize("q", ["public health", '"science foreign policy"', "COVID-19", "China's",
                               "diplomacy NOT China"])
def test_snippets_mark_the_same_words_in_the_same_format(whoosh_server, sphinx_server, q):
    a, b = both(whoosh_server, sphinx_server, q=q, limit=100)
    for hit_a, hit_b in zip(sorted(a["hits"], key=lambda h: h["id"]), sorted(b["hits"], key=lambda h: h["id"])):
        words_a = {w.lower() for w in MARK.findall(hit_a["snippet"])}
        words_b = {w.lower() for w in MARK.findall(hit_b["snippet"])}
        assert bool(words_a) == bool(words_b), (hit_b["id"], words_a, words_b)  # none: matched in the title
        assert words_b <= words_a | {w.lower() for w in re.findall(r"\w+", q)}, (hit_b["id"], words_a, words_b)
        assert "<" not in MARK.sub("", hit_b["snippet"])  # everything else escaped
        plain = html.unescape(re.sub(r"</?mark>", "", hit_b["snippet"]))
        for fragment in plain.split("…"):
            assert " ".join(fragment.split()) in " ".join(hit_b["text"].split())


def test_no_highlight_and_browse_snippets_agree(whoosh_server, sphinx_server):
    a, b = both(whoosh_server, sphinx_server, tag="covid-19", limit=100)
    assert [h["snippet"] for h in a["hits"]] == [h["snippet"] for h in b["hits"]]
    a, b = both(whoosh_server, sphinx_server, q="science", highlight="false")
    assert all("snippet" not in h for h in a["hits"] + b["hits"])


@pytest.mark.parametrize("path", ["/api/v1/passages/science-diplomacy:1", "/api/v1/passages/science-diplomacy:4",
                                  "/api/v1/passages/science-diplomacy:999", "/api/v1/documents/missing",
                                  "/api/v1/passages/nothing-here:1", "/api/v1/tags"])
def test_lookups_are_identical(whoosh_server, sphinx_server, path):
    a, b = whoosh_server.get(path), sphinx_server.get(path)
    assert a.status_code == b.status_code
    a, b = a.json(), b.json()
    for answer in (a, b):   # when each knowledge base stored its taxonomy differs, as ingested_at does
        answer.get("taxonomy", {}).pop("stored_at", None)
    assert a == b


def test_documents_and_stats_agree(whoosh_server, sphinx_server):
    a = whoosh_server.get("/api/v1/documents/science-diplomacy").json()
    b = sphinx_server.get("/api/v1/documents/science-diplomacy").json()
    assert {k: v for k, v in a.items() if k != "ingested_at"} == {k: v for k, v in b.items() if k != "ingested_at"}
    a, b = whoosh_server.get("/api/v1/documents").json(), sphinx_server.get("/api/v1/documents").json()
    for doc in a["documents"] + b["documents"]:
        doc.pop("ingested_at")
    for answer in (a, b):   # the time of each answer (to sync from): the two may fall a second apart
        answer.pop("as_of", None)
    assert a == b
    a, b = whoosh_server.get("/api/v1/stats").json(), sphinx_server.get("/api/v1/stats").json()
    for key in ("documents", "passages", "tags"):
        assert a[key] == b[key]
    assert b["index_bytes"] > 0 and b["version"].startswith("sphinx.")


@pytest.mark.parametrize("q", ["diplom", "scien", "public hea", "diplomcy", "public helth", "sciense diplomacy",
                               "china's", "zzzzzz", "the"])
def test_suggestions_agree(whoosh_server, sphinx_server, q):
    a = whoosh_server.get("/api/v1/suggest", params={"q": q}).json()
    b = sphinx_server.get("/api/v1/suggest", params={"q": q}).json()
    assert a == b


def test_similar_passages(whoosh_server, sphinx_server):
    for server in (whoosh_server, sphinx_server):
        hits = server.get("/api/v1/passages/science-diplomacy:3/similar", params={"limit": 3}).json()["hits"]
        assert 0 < len(hits) <= 3 and "science-diplomacy:3" not in [h["id"] for h in hits]
        tagged = server.get("/api/v1/passages/science-diplomacy:3/similar",
                            params={"tag": "developing-countries"}).json()["hits"]
        assert tagged and all("developing-countries" in h["tags"] for h in tagged)
    assert sphinx_server.get("/api/v1/passages/science-diplomacy:99/similar").status_code == 404


def test_fuzzy_terms_are_501_on_sphinx_not_a_wrong_answer(whoosh_server, sphinx_server):
    assert search(whoosh_server, q="diplomcy~")["total"] > 0
    r = sphinx_server.get("/api/v1/search", params={"q": "diplomcy~"})
    assert r.status_code == 501
    body = r.json()
    assert body["code"] == 501 and body["status"] == "Not Implemented"
    assert "fuzzy" in body["message"] and "suggest" in body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}


@pytest.mark.parametrize("q", ['"unclosed', "(a OR b", "AND", "*a*b*c*", "nofield:x", "x" * 1001])
def test_bad_queries_get_the_same_400(whoosh_server, sphinx_server, q):
    a = whoosh_server.get("/api/v1/search", params={"q": q, "syntax": "query"})
    b = sphinx_server.get("/api/v1/search", params={"q": q, "syntax": "query"})
    assert a.status_code == b.status_code
    assert a.json() == b.json()


@pytest.mark.parametrize("q", ['"unclosed science', "(science OR health", "health AND", "nofield:science"])
def test_invalid_syntax_in_auto_mode_is_searched_as_words_on_both(whoosh_server, sphinx_server, q):
    a = search(whoosh_server, q=q, syntax="auto", limit=100)
    b = search(sphinx_server, q=q, syntax="auto", limit=100)
    assert a["syntax"] == b["syntax"] == "words" and a["notice"] == b["notice"]
    assert a["total"] == b["total"] > 0


@pytest.mark.parametrize("q", ["COVID AND capacity", "public health", "diplomacy"])
def test_facets_are_whole_from_the_first_query_of_a_fresh_process(whoosh_home, sphinx_home, sphinx_cluster, q):
    # the first facet names a Sphinx process needs are looked up by tag id; that lookup once cut
    # its groups short and a facet lost a tag (covid-19, here) until some later query found it
    from index.base import SearchRequest
    from kb.core import KnowledgeBase
    from kb.settings import Settings

    request = SearchRequest(q=q, limit=100)
    embedded = KnowledgeBase(Settings.from_env(home=whoosh_home, backend="whoosh", semantic="off")).search(request)
    fresh = KnowledgeBase(Settings.from_env(home=sphinx_home, backend="sphinx", sphinx_nodes=sphinx_cluster.nodes,
                                           semantic="off"))
    assert fresh.search(request).facets == embedded.facets
    assert "covid-19" in embedded.facets["tags"]


def test_tags_that_examples_suggest_agree(private_cluster, tmp_path, monkeypatch):
    """The same hand-tagged examples suggest the same passages with the same scores on both engines
    (the examples' key terms are searched through the index interface, scored by kb)."""
    from index import Filters, SearchRequest
    from kb.core import KnowledgeBase

    examples = ("recipe-banana-bread", "recipe-apple-strudel")
    answers = []
    for env in ({"KB_BACKEND": "whoosh"}, private_cluster(shards=2, replicas=1).env):
        monkeypatch.delenv("KB_SPHINX_NODES", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        kb = KnowledgeBase(tmp_path / env["KB_BACKEND"])
        kb.ingest_paths(["tests/data/tags/trap.jsonl"])
        ids = [h["id"] for h in kb.search(SearchRequest(filters=Filters(documents=examples), limit=50)).hits]
        kb.curation.edit(ids, add=["cooking"], by="test")
        answers.append(kb.tag_suggestions("cooking", limit=100))
        kb.index.close()
    whoosh, sphinx = answers
    assert whoosh["examples"] == sphinx["examples"] == 6 and whoosh["method"] == sphinx["method"] == "words"
    assert len(whoosh["suggestions"]) >= 10
    # the scores are kb's, but each key term's passage frequency comes from the engine, whose
    # stemming differs a little: the same passages, scores within 0.05
    a, b = ({p["id"]: p["score"] for p in answer["suggestions"]} for answer in answers)
    common = a.keys() & b.keys()
    assert len(common) >= 0.9 * max(len(a), len(b)), (a, b)
    assert all(abs(a[i] - b[i]) <= 0.05 for i in common), (a, b)
    assert len(set(list(a)[:5]) & set(list(b)[:5])) >= 4, (a, b)
