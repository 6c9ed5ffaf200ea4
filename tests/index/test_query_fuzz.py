"""Hypothesis-generated queries for the query parser and the search behind it: a query is built
(or refused with QueryError, whose message is one line) and then runs; no other exception, ever."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.base import Filters, QueryError, SearchRequest
from index.whoosh.engine import WhooshIndex

TOKENS = ['"', "(", ")", "AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "-", "+", "*", "?", "~", "~2", "~9", "/3", ":",
          "tags:", "title:", "section:", "document:", "content:", "nosuch:", "public", "health", "covid-19",
          "diplom*", "vaccin?", "\\", "^", "^2", "[", "]", "{", "}", "TO", "'", "U.S.", "China's", "''", "\x00",
          "%", "&", "|", "!", "=", "<", ">", "http://x.org/a", "1e9", "-1", "ǅ", "ﬁ", "\u0301", "\u202e", "\ufeff",
          "a" * 300, "*a*b*c*", "a*b*", "#", ",", ";", "$", "@"]
soup = st.lists(st.sampled_from(TOKENS), max_size=16).flatmap(
    lambda toks: st.lists(st.sampled_from(["", " ", "  "]), min_size=len(toks), max_size=len(toks)).map(
        lambda seps: "".join(t + s for t, s in zip(toks, seps))))
QUERIES = st.one_of(st.text(max_size=120), soup, st.text(alphabet=st.characters(codec="utf-8"), max_size=40))


def doc(doc_id, title):
    return {"id": doc_id, "title": title, "text": "text", "source": "", "tags": [], "metadata": {},
            "ingested_at": ""}


def passage(doc_id, n, text, tags=()):
    return {"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": "Notes", "text": text,
            "start": 0, "end": len(text), "tags": list(tags), "keywords": [], "evidence": []}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = WhooshIndex(tmp_path_factory.mktemp("fuzz") / "index", lock_timeout=1)
    index.replace_documents([
        (doc("a", "Public health"), [passage("a", 1, "Public health programs and vaccine trials.", ["public-health"]),
                                     passage("a", 2, "The COVID-19 pandemic and U.S. diplomacy.", ["covid-19"])]),
        (doc("b", "China's science"), [passage("b", 1, "China's science diplomacy in the Indo-Pacific.")]),
    ])
    return index


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(q=QUERIES)
def test_the_parser_builds_or_raises_query_error_only(ix, q):
    try:
        ix.queries.build(q, ix.searcher().reader())
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)


@FUZZ
@given(q=QUERIES, group=st.booleans(), sort=st.sampled_from(["relevance", "document"]),
       tags=st.lists(st.sampled_from(["public-health", "covid-19", "nope", ""]), max_size=3))
def test_any_query_searches_or_is_refused_cleanly(ix, q, group, sort, tags):
    request = SearchRequest(q=q, filters=Filters(tags=tuple(tags)), limit=5,
                            group_by="document" if group else None, sort=sort)
    try:
        response = ix.search(request)
    except QueryError:
        return
    assert response.total >= len(response.hits)
    for hit in response.hits:
        assert "<" not in hit.get("snippet", "").replace("<mark>", "").replace("</mark>", "")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=QUERIES)
def test_suggest_never_fails(ix, q):
    out = ix.suggest(q)
    assert set(out) == {"completions", "did_you_mean"}
