"""Snippets: phrase-aware marks, escaping, at most three fragments, ellipses where text is cut."""
from __future__ import annotations

import pytest

from index.base import SearchRequest
from index.querying import QueryBuilder
from index.schema import make_schema
from index.text.highlight import Highlighter, match_plan
from index.whoosh.engine import WhooshIndex

SCHEMA = make_schema()
BUILDER = QueryBuilder(SCHEMA)


@pytest.fixture(scope="module")
def snippet():
    highlighter = Highlighter(SCHEMA["content"].analyzer)
    return lambda text, q: highlighter.snippet(text, match_plan(BUILDER.build(q, syntax="query")))


TEXT = ("Public health programs ran for years. The health of the public improved slowly, "
        "and public trust in health workers grew.")


def test_a_phrase_marks_only_its_occurrences(snippet):
    out = snippet(TEXT, '"public health"')
    assert out.count("<mark>") == 2 and "<mark>Public</mark> <mark>health</mark> programs" in out


def test_every_matched_word_is_marked(snippet):
    out = snippet(TEXT, "public health")
    assert "<mark>Public</mark> <mark>health</mark>" in out and "<mark>health</mark> of the <mark>public</mark>" in out


def test_proximity_marks_the_words_in_reach(snippet):
    out = snippet(TEXT, '"health improved"~4')
    assert "<mark>health</mark> of the public <mark>improved</mark>" in out
    assert "<mark>Public" not in out


def test_negated_words_are_not_marked(snippet):
    out = snippet(TEXT, "programs -health")
    assert "<mark>programs</mark>" in out and "<mark>health" not in out.lower()


def test_prefix_fuzzy_and_stemmed_forms_are_marked(snippet, tmp_path):
    assert "<mark>programs</mark>" in snippet(TEXT, "program")
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([({"id": "d", "title": "", "text": TEXT, "source": "", "tags": [], "metadata": {},
                            "ingested_at": ""},
                           [{"id": "d:1", "document_id": "d", "ordinal": 1, "section": "", "text": TEXT,
                             "start": 0, "end": len(TEXT), "tags": [], "keywords": [], "evidence": []}])])
    assert "<mark>improved</mark>" in ix.search(SearchRequest(q="improv*")).hits[0]["snippet"]
    assert "<mark>workers</mark>" in ix.search(SearchRequest(q="wrkers~")).hits[0]["snippet"]


def test_html_is_escaped_and_cut_text_gets_an_ellipsis(snippet):
    text = "<p>" + "filler words here " * 40 + "the vaccine & <b>trial</b> " + "more filler text " * 40
    out = snippet(text, "vaccine trial")
    assert out.startswith("…") and out.endswith("…")
    assert "<mark>vaccine</mark> &amp; &lt;b&gt;<mark>trial</mark>&lt;/b&gt;" in out
    assert "<p>" not in out and "<b>" not in out


def test_at_most_three_fragments_best_first_in_text_order(snippet):
    parts = [f"section {i} talks about zebra and lion" if i in (1, 5, 9) else f"section {i} talks about zebra"
             for i in range(12)]
    text = (" " + "padding " * 30).join(parts)
    out = snippet(text, "zebra lion")
    assert out.count(" … ") == 2                      # three fragments
    assert out.count("<mark>lion</mark>") == 3         # the fragments with both words won
    assert out.index("section 1 ") < out.index("section 5 ") < out.index("section 9 ")


def test_no_match_gives_the_lead_of_the_passage(snippet):
    assert snippet(TEXT, "tags:covid-19") == TEXT
    long = "word " * 200
    assert snippet(long, "tags:x").endswith("…") and len(snippet(long, "tags:x")) < 300
