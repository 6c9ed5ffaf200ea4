"""The KnowledgeBase core as a library: options of search that the pages use (neighbours, facets
before the tag filters), each against what separate calls give."""
from __future__ import annotations

from index import Filters, SearchRequest
from index.whoosh.postings_cache import POSTING_BYTES
from kb.core import KnowledgeBase
from kb.settings import Settings


def test_search_with_neighbours_gives_what_each_passage_lookup_gives(sample_home):
    kb = KnowledgeBase(sample_home)
    response = kb.search(SearchRequest(q="", sort="document", limit=100), neighbours=True)  # every passage
    assert len(response.hits) == response.total >= 5
    for hit in response.hits:
        context = kb.get_passage(hit["id"])
        assert (hit["previous"], hit["next"]) == (context["previous"], context["next"])
    assert response.hits[0]["previous"] is None and response.hits[-1]["next"] is None


def test_facets_before_tag_filters_count_the_query_without_them(sample_home):
    kb = KnowledgeBase(sample_home)
    unfiltered = kb.search(SearchRequest(q="health"))
    tag = next(iter(unfiltered.facets["tags"]))
    filtered = SearchRequest(q="health", filters=Filters(any_tags=(tag,)))
    assert kb.search(filtered).facets != unfiltered.facets or unfiltered.total == kb.search(filtered).total
    wider = kb.search(filtered, facets_before_tag_filters=True)
    assert wider.facets == unfiltered.facets and wider.total == kb.search(filtered).total


def test_title_only_records_are_one_passage_searchable_and_counted(tmp_path):
    refs = tmp_path / "refs.jsonl"
    refs.write_text('{"_id": "1", "title": "Preliminary Report-International Algebraic Language", "text": ""}\n'
                    '{"_id": "2", "title": "Extraction of Roots by Repeated Subtractions for Digital Computers"}\n'
                    '{"_id": "3", "title": "Sorting", "text": "Sorting networks compare and exchange."}\n',
                    encoding="utf-8")
    kb = KnowledgeBase(tmp_path / "kb")
    report = kb.ingest_paths([refs])
    assert report.documents == 3 and not report.refused
    assert kb.stats()["documents"] == 3 and kb.stats()["passages"] == 3
    hits = kb.search(SearchRequest(q="algebraic language", group_by="document")).hits
    assert [h["document_id"] for h in hits] == ["1"] and hits[0]["text"] == \
        "Preliminary Report-International Algebraic Language"
    assert [h["document_id"] for h in kb.search(SearchRequest(q="title:roots")).hits] == ["2"]


def test_the_postings_cache_is_the_size_the_setting_says(tmp_path):
    kb = KnowledgeBase(Settings.from_env(home=tmp_path / "kb", postings_cache="13MB"))
    assert kb.index.postings.max_postings == 13 * 1024 ** 2 // POSTING_BYTES
