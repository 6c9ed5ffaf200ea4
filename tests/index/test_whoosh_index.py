"""The Whoosh engine on its own: round trips, replacement, filters, facets, grouping, errors."""
from __future__ import annotations

import pytest

from index.base import Filters, IndexBusy, QueryError, SearchRequest
from index.storage import write_lock
from index.whoosh.engine import WhooshIndex


def doc(doc_id, title="A title", text="text"):
    return {"id": doc_id, "title": title, "text": text, "source": "", "tags": [], "metadata": {},
            "ingested_at": ""}


def passage(doc_id, n, text, tags=(), section=""):
    return {"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": section,
            "text": text, "start": 0, "end": len(text), "tags": list(tags), "keywords": [],
            "evidence": []}


@pytest.fixture
def ix(tmp_path):
    index = WhooshIndex(tmp_path / "index", lock_timeout=0.5)
    index.replace_documents([
        (doc("a", "Doc A"), [
            passage("a", 1, "Public health programs and vaccine trials.", ["public-health"]),
            passage("a", 2, "The COVID-19 pandemic changed public health.", ["covid-19", "public-health"]),
            passage("a", 3, "Nothing about health here, only diplomacy.", [], section="Notes")]),
        (doc("b", "Doc B"), [
            passage("b", 1, "Competition in the Indo-Pacific region.", ["geopolitics"]),
            passage("b", 2, "China's science diplomacy and U.S. policy.", ["geopolitics", "science-diplomacy"])]),
    ])
    return index


def ids(response):
    return [h["id"] for h in response.hits]


def test_round_trip_of_documents_and_passages(ix):
    assert ix.get_document("a")["title"] == "Doc A"
    assert [p["ordinal"] for p in ix.passages_of("a")] == [1, 2, 3]
    p = ix.get_passage("b:2")
    assert p["tags"] == ["geopolitics", "science-diplomacy"] and p["document_title"] == "Doc B"
    assert ix.get_passage("a") is None and ix.get_document("a:1") is None
    total, docs = ix.list_documents()
    assert total == 2 and [d["passages"] for d in docs] == [3, 2]
    assert ix.stats()["passages"] == 5


def test_reingest_replaces_all_passages_in_one_commit(ix):
    ix.replace_documents([(doc("a", "Doc A v2"), [passage("a", 1, "Only one passage now.")])])
    assert [p["id"] for p in ix.passages_of("a")] == ["a:1"]
    assert ix.search(SearchRequest(q="vaccine")).total == 0
    assert ix.stats()["passages"] == 3


def test_delete_removes_document_and_passages(ix):
    assert ix.delete_document("a") is True
    assert ix.delete_document("a") is False
    assert ix.get_document("a") is None and ix.passages_of("a") == []
    assert ix.search(SearchRequest(q="health")).total == 0


def test_stemming_possessives_hyphens_and_abbreviations(ix):
    assert ids(ix.search(SearchRequest(q="vaccines"))) == ["a:1"]
    assert ids(ix.search(SearchRequest(q="china"))) == ["b:2"]
    assert ids(ix.search(SearchRequest(q="COVID-19"))) == ["a:2"]
    assert ids(ix.search(SearchRequest(q="indo-pacific"))) == ["b:1"]
    assert ids(ix.search(SearchRequest(q="U.S."))) == ["b:2"]


def test_filters_and_facets_over_the_whole_filtered_set(ix):
    r = ix.search(SearchRequest(q="health", filters=Filters(tags=("public-health",)), limit=1))
    assert r.total == 2 and len(r.hits) == 1
    assert r.facets["tags"] == {"public-health": 2, "covid-19": 1}
    not_health = ix.search(SearchRequest(filters=Filters(not_tags=("public-health",)), limit=10))
    assert ids(not_health) == ["a:3", "b:1", "b:2"]
    assert ix.search(SearchRequest(filters=Filters(any_tags=("covid-19", "science-diplomacy")))).total == 2
    assert ix.search(SearchRequest(filters=Filters(documents=("b",)))).total == 2
    assert ix.search(SearchRequest(filters=Filters(tags=("no-such-tag",)))).total == 0


def test_group_by_document_counts_documents(ix):
    r = ix.search(SearchRequest(q="health diplomacy", group_by="document"))
    assert r.total == 2
    assert sorted(h["document_id"] for h in r.hits) == ["a", "b"]


def test_passages_per_document_are_counted_from_their_runs(ix):
    """kb writes a document's passages together, so counting runs of matches gives what a count
    over every document gives (the way taken when passages of a document stand apart)."""
    ix.replace_documents([(doc("c", "Doc C"), [passage("c", n, f"Passage {n} on health.") for n in (1, 2, 3)])])
    ix.replace_documents([(doc("a", "Doc A v2"), [passage("a", n, f"Health again, {n}.") for n in (1, 2)])])
    view = ix._current_view()
    passages = view.passages
    assert view.document_of and view._runs
    subsets = [passages, passages[::2], passages[1:], passages[:1], passages[:0], passages[[0, 2, 3, 5]]]
    for matched in subsets:
        by_runs = dict(view.document_counts(matched))
        view._runs = False
        by_count = dict(view.document_counts(matched))
        view._runs = True
        assert by_runs == by_count
        assert by_runs == {d: sum(view.document_of[p] == d for p in matched.tolist()) for d in by_runs}
    assert dict(view.document_counts(passages)) == {"a": 2, "b": 2, "c": 3}
    assert dict(view.document_counts(passages[::-1].tolist())) == {"a": 2, "b": 2, "c": 3}   # any order


def test_a_document_card_is_read_beside_its_first_passage(ix):
    """Citations read the record kb writes just before a document's passages; one that is not
    there (no passages, or another record) is looked up by id as before."""
    from index.whoosh import cards
    ix.replace_documents([(doc("c", "Doc C"), [passage("c", 1, "One passage.")]), (doc("e", "Empty"), [])])
    ix.replace_documents([(doc("a", "Doc A v2"), [passage("a", 1, "Again.")])])
    view = ix._current_view()
    assert [cards._card_before_passages(view, d)["title"] for d in "abc"] == ["Doc A v2", "Doc B", "Doc C"]
    assert cards._card_before_passages(view, "e") is None and cards._card_before_passages(view, "zz") is None
    found = ix.summaries(["a", "b", "c", "e", "zz"])
    assert {d: (s["title"], s["passages"]) for d, s in found.items()} == {
        "a": ("Doc A v2", 1), "b": ("Doc B", 2), "c": ("Doc C", 1), "e": ("Empty", 0)}
    ix.update_passages(["b:1", "b:2"], lambda p: {**p, "tags": ["edited"]})   # passages written alone
    ix.update_passages(["c:1"], lambda p: {**p, "tags": ["edited"]})
    assert cards._card_before_passages(ix._current_view(), "c") is None
    found = ix.summaries(["a", "b", "c"])
    assert {d: (s["title"], s["passages"]) for d, s in found.items()} == {
        "a": ("Doc A v2", 1), "b": ("Doc B", 2), "c": ("Doc C", 1)}
    view = ix._current_view()
    view._first_passage[:] = view._first_passage[::-1]   # each guess now lands on another record
    assert cards._card_before_passages(view, "a") is None
    assert ix.summaries(["a", "c"]).keys() == {"a", "c"}


def test_snippets_mark_matches_and_escape_html(tmp_path):
    index = WhooshIndex(tmp_path / "ix")
    index.replace_documents([(doc("h"), [passage("h", 1, "A <script>alert(1)</script> about vaccines & health.")])])
    snippet = index.search(SearchRequest(q="vaccines")).hits[0]["snippet"]
    assert "<mark>vaccines</mark>" in snippet
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "snippet" not in index.search(SearchRequest(q="vaccines", highlight=False)).hits[0]


@pytest.mark.parametrize("bad", ['"open', "(a OR b", "a OR b)", "AND", "a AND", "OR a", "*ealth",
                                 "h*e*a*l*t*h", "nosuchfield:x", "x" * 2000])
def test_bad_queries_raise_query_error(ix, bad):
    with pytest.raises(QueryError):
        ix.search(SearchRequest(q=bad, syntax="query"))


def test_writers_serialize_through_the_lock(ix):
    with write_lock(ix.home, timeout=1):
        with pytest.raises(IndexBusy):
            ix.replace_documents([(doc("c"), [passage("c", 1, "blocked")])])
    ix.replace_documents([(doc("c"), [passage("c", 1, "not blocked")])])
    assert ix.get_passage("c:1")["text"] == "not blocked"


def test_a_second_handle_sees_commits(ix, tmp_path):
    reader = WhooshIndex(ix.home)
    assert reader.search(SearchRequest(q="vaccine")).total == 1
    ix.replace_documents([(doc("d"), [passage("d", 1, "Another vaccine study.")])])
    assert reader.search(SearchRequest(q="vaccine")).total == 2


def test_similar_and_suggest(ix):
    similar = ix.similar("a:1")
    assert similar and similar[0]["id"] == "a:2" and all(h["id"] != "a:1" for h in similar)
    assert ix.similar("zz:1") is None
    assert ix.suggest("diplom")["completions"][0]["text"] == "diplomacy"
    assert ix.suggest("diplomcy")["did_you_mean"]["text"] == "diplomacy"


def test_a_filter_that_allows_nothing_finds_nothing(ix):
    nothing = Filters(tags=("no-such-tag",))
    for group_by in (None, "document"):
        response = ix.search(SearchRequest(q="health", filters=nothing, group_by=group_by))
        assert response.total == 0 and response.hits == []
    assert ix.similar("a:1", filters=nothing) == []


def test_whooshs_own_lock_held_elsewhere_is_index_busy(ix):
    from whoosh import index as whoosh_index
    ix.search(SearchRequest(q="health"))
    foreign = whoosh_index.open_dir(ix._dir).writer()   # a writer that skipped kb's lock
    try:
        with pytest.raises(IndexBusy):
            ix.replace_documents([(doc("c", "Doc C"), [passage("c", 1, "Blocked.")])])
    finally:
        foreign.cancel()
    assert ix.replace_documents([(doc("c", "Doc C"), [passage("c", 1, "Landed.")])]) == 1
