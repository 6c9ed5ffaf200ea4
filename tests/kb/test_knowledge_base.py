"""The KnowledgeBase core as a library: options of search that the pages use (neighbours, facets
before the tag filters), each against what separate calls give."""
from __future__ import annotations

from index import Filters, SearchRequest
from kb.core import KnowledgeBase


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
