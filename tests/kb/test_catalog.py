"""The catalog reads what a request needs and no more: a search cites its hits by reading the
documents on its page (not every document), the facets and filters read every document's card
once per index version, and a commit is seen at once (no citation, facet or filter left stale)."""
from __future__ import annotations

import pytest

from kb.core import KnowledgeBase
from kb.metadata_filters import MetadataFilters
from kb.models import Document

DOCUMENTS = 40


class Counting:
    """The real index, with a count of the documents the catalog asked it for."""

    def __init__(self, index):
        self.index, self.asked, self.passes = index, [], 0
        self.summaries_of, self.iter_cards_of = index.summaries, index.iter_cards
        index.summaries, index.iter_cards = self.summaries, self.iter_cards

    def summaries(self, ids):
        ids = list(ids)
        self.asked.extend(ids)
        return self.summaries_of(ids)

    def iter_cards(self):
        self.passes += 1
        return self.iter_cards_of()


def _document(i: int, authors=None) -> Document:
    return Document(id=f"doc-{i:02d}", title=f"Report {i}",
                    text=f"Fisheries report {i}. The coastal fisheries of region {i} were surveyed in spring.",
                    authors=authors or [f"Author {i % 4}"], date=f"{2000 + i % 5}-06-01")


@pytest.fixture
def kb(tmp_path) -> KnowledgeBase:
    kb = KnowledgeBase(tmp_path / "kb")
    kb.ingest([_document(i) for i in range(DOCUMENTS)])
    return kb


def test_a_search_reads_only_the_documents_it_cites(kb):
    counting = Counting(kb.index)
    response = kb.search("fisheries", limit=5)
    cited = {hit["document"]["id"] for hit in response.hits}
    assert len(cited) == 5 and all(hit["document"]["authors"] for hit in response.hits)
    assert set(counting.asked) == cited                      # the page's documents, not all 40
    assert sum(response.facets["year"].values()) == response.total == DOCUMENTS
    kb.search("fisheries", limit=5)
    assert len(counting.asked) == 5 and counting.passes == 1   # the second search read nothing again


def test_a_commit_is_seen_by_citations_facets_and_filters(kb):
    assert kb.search("region 7", limit=1).hits[0]["document"]["authors"] == ["Author 3"]
    by_new = MetadataFilters(authors=("Zora Neale",))
    assert kb.catalog.select(by_new) == []
    kb.update_document("doc-07", authors=["Zora Neale"])
    response = kb.search("region 7", limit=1)
    assert response.hits[0]["document"]["authors"] == ["Zora Neale"]
    assert response.facets["author"]["Zora Neale"] == 1
    assert kb.catalog.select(by_new) == ["doc-07"]
    total, listed = kb.list_documents(metadata=by_new)
    assert total == 1 and listed[0]["id"] == "doc-07" and listed[0]["passages"] >= 1


def test_citations_kept_are_bounded(tmp_path):
    kb = KnowledgeBase(tmp_path / "kb")
    kb.ingest([_document(i) for i in range(DOCUMENTS)])
    kb.catalog._citations_kept = 8
    kb.search("fisheries", limit=DOCUMENTS)
    assert len(kb.catalog._citations) == 8


