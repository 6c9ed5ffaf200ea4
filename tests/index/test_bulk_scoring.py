"""Bulk scoring changes speed, not results: every match, score and rank equals what Whoosh's own
collectors give (the search path before bulk scoring), on generated abstracts split over several
segments with deletions, for every query shape kb parses, with and without filters."""
from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import searching
from whoosh.reading import SegmentReader

from bench import synthetic
from index.base import Filters, SearchRequest
from index.whoosh import collect, merging
from index.whoosh.engine import WhooshIndex
from index.whoosh.flat_postings import FlatPostings
from index.whoosh.posting_arrays import positions_in, sum_shape, union_ids
from index.whoosh.postings_cache import ENTRY_OVERHEAD, PostingsCache

TAGS = ["alpha", "beta", "gamma", "delta"]

QUERIES = [
    "cancer", "cell", "blood pressure", "gene expression in mice", "insulin resistance obesity",
    '"cell line"', '"type 2 diabetes"', "cancer AND cells", "cancer OR tumour", "(cancer OR tumor) AND mice",
    "canc*", "tumr~", "tags:alpha", "tags:beta cancer", "title:cancer cells", "COVID-19 vaccine",
    "T-cell responses", "cells cells cells blood", "the of and", "zzzunknownword", "protein zzzunknownword",
    "p53 mutations", "1 2000 in UK", "alpha-synuclein aggregation", "title:brain AND tags:gamma",
    "cancer canc*", "tumr~ cells blood", '"cell line" cancer mice', "A~B", "title:cancer OR section:cells",
    "(cancer AND cells) OR blood pressure",
]
NEGATIONS = ["cancer -cells", "cancer NOT tumor", "patients NOT (cancer OR diabetes)", "risk -the"]
FILTERS = [Filters(), Filters(tags=("alpha",)), Filters(not_tags=("beta",)),
           Filters(any_tags=("gamma", "delta"), not_tags=("alpha",))]


def abstracts(limit: int) -> list[dict]:
    """Generated abstracts (bench/synthetic.py: words of scientific abstracts, Zipf-distributed)."""
    return list(synthetic.documents(limit, min_words=60, max_words=300, seed=5))


def claims(limit: int) -> list[str]:
    """Claim-length queries: generated sentences of 8 to 24 words, full stops blanked."""
    docs = synthetic.documents(limit, min_words=8, max_words=24, seed=99)
    return [doc["text"].split(". ")[0].rstrip(".") for doc in docs]


def item(record: dict) -> tuple[dict, list[dict]]:
    doc = {"id": f"d{record['_id']}", "title": record["title"], "text": record["text"], "source": "",
           "tags": [], "metadata": {}, "ingested_at": ""}
    words = record["text"].split()
    passages = []
    for n, start in enumerate(range(0, max(len(words), 1), 90), 1):
        text = " ".join(words[start:start + 90]) or record["title"]
        tags = [t for i, t in enumerate(TAGS) if (zlib.crc32(f"{doc['id']}{n}".encode()) >> i) % 3 == 0]
        passages.append({"id": f"{doc['id']}:{n}", "document_id": doc["id"], "ordinal": n, "section": "",
                         "text": text, "start": 0, "end": len(text), "tags": tags, "keywords": [],
                         "evidence": []})
    return doc, passages


@pytest.fixture(scope="module", params=["written", "merged"])
def index(request, tmp_path_factory):
    """Several segments (small commits), deletions (a removed and a replaced document). "merged":
    segments of three commits merged as the tiered policy merges them (``segment_merge``), so most
    postings are read from the flat lists it writes (``flat_postings``) rather than Whoosh's blocks."""
    ix = WhooshIndex(tmp_path_factory.mktemp("bulk") / "index")
    items = [item(r) for r in abstracts(240)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(merging, "FACTOR", 3 if request.param == "merged" else merging.FACTOR)
        for i in range(0, len(items), 40):
            ix.replace_documents(items[i:i + 40])
    ix.delete_document(items[3][0]["id"])
    ix.replace_documents([items[50]])
    s = ix.searcher()
    assert len(s.leaf_searchers()) > 1 and s.reader().has_deletions()
    flat = [FlatPostings.open(leaf) for leaf, _ in s.reader().leaf_readers()]
    assert any(f is not None and len(f._starts) for f in flat) == (request.param == "merged")
    return ix


@pytest.fixture(params=["small-segments", "large-segments"])
def sizes(request, monkeypatch):
    """Whoosh ORs the terms of a segment over 5,000 documents by a weighted tree of unions and
    preloads them below that: pretending every segment is large exercises the tree."""
    if request.param == "large-segments":
        real = searching.Searcher.doc_count_all
        monkeypatch.setattr(searching.Searcher, "doc_count_all", lambda self: real(self) + 100_000)
    return request.param


def reference(ix, q, filters: Filters):
    """What Whoosh's collectors give: all matches ranked, and the total."""
    s, cache = ix.searcher(), ix._cache
    allowed = cache.allowed(filters)
    ranked = [(hit.docnum, hit.score) for hit in s.search(q, filter=allowed, limit=None)]
    total = len(set(s.docs_for_query(q)) & allowed)
    return ranked, total


def bulk(ix, q, filters: Filters):
    ix.searcher()
    return ix._cache.matches(q, filters)


def test_matches_scores_and_ranks_equal_whooshs(index, sizes):
    s = index.searcher()
    checked = 0
    for text in QUERIES + claims(60):
        q = index.queries.build(text, s.reader())
        for filters in FILTERS:
            ranked, total = reference(index, q, filters)
            matches = bulk(index, q, filters)
            assert len(matches) == total == len(ranked), (text, filters)
            assert matches.ranked() == ranked, (text, filters)  # same docnums, same float scores, same order
            assert matches.ranked(10) == collect.top_scored(s, q, index._cache.allowed(filters), 10)
            checked += bool(total)
    assert checked > 200


def test_negations_exclude_every_passage_with_the_word(index, sizes):
    """Whoosh's AndNotMatcher lets the first match of a segment through when the excluded term
    occurred earlier in it; bulk scoring excludes it. Everything else is as Whoosh scores it."""
    s = index.searcher()
    for text in NEGATIONS:
        q = index.queries.build(text, s.reader())
        positive, negative = q.a, q.b
        ranked, _ = reference(index, q, Filters())
        excluded = set(s.docs_for_query(negative))
        expected = [(d, score) for d, score in ranked if d not in excluded]
        assert bulk(index, q, Filters()).ranked() == expected, text
        assert set(s.docs_for_query(positive)) - excluded == {d for d, _ in expected}


def test_search_answers_are_unchanged(index, sizes):
    """The whole answer: hits (ids, scores, order), exact total and facets, grouped or not."""
    s = index.searcher()
    for text in ["cancer", "blood pressure", "gene expression in mice", '"cell line"', "tags:alpha cancer"]:
        q = index.queries.build(text, s.reader())
        for filters in FILTERS[:2]:
            ranked, total = reference(index, q, filters)
            response = index.search(SearchRequest(q=text, filters=filters, limit=10, offset=5))
            assert response.total == total
            assert [(h["id"], h["score"]) for h in response.hits] == [
                (s.stored_fields(d)["id"], round(score, 4)) for d, score in ranked[5:15]]
            matched = {d for d, _ in ranked}
            assert response.facets["tags"] == index._cache.facet_counts(matched)
            assert sum(response.facets["tags"].values()) == sum(
                len(set(s.docs_for_query(index.queries.build(f"tags:{t}"))) & matched) for t in TAGS)
            grouped = index.search(SearchRequest(q=text, filters=filters, limit=5, group_by="document"))
            best = {}
            for d, score in ranked:
                best.setdefault(index._cache.document_of[d], (d, score))
            assert grouped.total == len(best)
            assert [h["id"] for h in grouped.hits] == [s.stored_fields(d)["id"] for d, _ in list(best.values())[:5]]


def test_postings_cache_gives_the_same_scores(index):
    s = index.searcher()
    q = index.queries.build("cancer cells blood pressure mice", s.reader())
    first = bulk(index, q, Filters()).ranked()
    assert index.postings.hits or index.postings.misses
    hits = index.postings.hits
    assert bulk(index, q, Filters()).ranked() == first
    assert index.postings.hits > hits


@given(st.lists(st.sets(st.integers(0, 5000) | st.integers(0, 3 << 20), max_size=400), max_size=5))
def test_union_ids_is_the_sorted_union_dense_or_sparse(sets):
    arrays = [np.array(sorted(s), dtype=np.int64) for s in sets]
    union = union_ids(arrays)
    assert union.tolist() == sorted(set().union(*sets)) and union.dtype == np.int64
    where = positions_in(union)
    for a in arrays:
        assert where(a).tolist() == [union.tolist().index(d) for d in a.tolist()]


def test_entries_of_one_posting_count_for_what_they_hold():
    """A filter on thousands of documents puts an entry per id: each costs far more than its posting."""
    cache = PostingsCache(max_postings=10_000)
    one = (np.array([1]), np.array([1.0]), np.array([1], dtype=np.uint8))
    for i in range(10_000):
        cache.put(("segment", "document_id", str(i)), one)
    assert len(cache._entries) == 10_000 // (1 + ENTRY_OVERHEAD)


def test_a_term_is_looked_up_once_per_segment(index, sizes, monkeypatch):
    """Is it there, its size for an OR's tree, where its list starts: one lookup of its term info,
    none when the same searcher is asked again."""
    looked_up = []
    real = SegmentReader.term_info
    monkeypatch.setattr(SegmentReader, "term_info",
                        lambda self, f, t: looked_up.append((self.segment().segment_id(), f, t)) or real(self, f, t))
    for name in ("__contains__", "doc_frequency"):
        monkeypatch.setattr(SegmentReader, name, lambda *a, _n=name: pytest.fail(f"{_n} looked the term up again"))
    s = index.searcher()
    q = index.queries.build("protein expression levels zzzunknownword", s.reader())
    first = bulk(index, q, Filters()).ranked()
    assert first and len(looked_up) == len(set(looked_up))
    looked_up.clear()
    assert bulk(index, q, Filters()).ranked() == first and looked_up == []


@st.composite
def union_trees(draw):
    """A union tree of up to six parts (each docnums and their scores), of any shape."""
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        ids = sorted(draw(st.sets(st.integers(0, 40), max_size=30)))
        scores = draw(st.lists(st.floats(0.01, 50).map(lambda x: x / 3 + 0.1), min_size=len(ids), max_size=len(ids)))
        parts.append((np.array(ids, dtype=np.int64), np.array(scores)))

    def tree(leaves):
        if len(leaves) == 1:
            return leaves[0]
        cut = draw(st.integers(1, len(leaves) - 1))
        return (tree(leaves[:cut]), tree(leaves[cut:]))
    return tree(list(range(len(parts)))), parts


def _tree_sum(shape, parts) -> dict:
    """Each node adds its children's scores, an absent child adding 0.0: Whoosh's unions."""
    if not isinstance(shape, tuple):
        return dict(zip(parts[shape][0].tolist(), parts[shape][1].tolist()))
    a, b = _tree_sum(shape[0], parts), _tree_sum(shape[1], parts)
    return {d: a.get(d, 0.0) + b.get(d, 0.0) for d in sorted(a.keys() | b.keys())}


@given(union_trees())
def test_union_sums_are_formed_in_the_trees_order(tree):
    shape, parts = tree
    ids, scores = sum_shape(shape, parts)
    assert dict(zip(ids.tolist(), scores.tolist())) == _tree_sum(shape, parts)
    assert ids.tolist() == sorted(_tree_sum(shape, parts))
