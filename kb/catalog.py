"""Documents' citations, kept above the engines so both answer the same: what makes a hit citable
alone (``document: {id, title, authors, date, url, doi, publisher, source}`` and its ``page``),
what the metadata filters (author, date, source) select documents by, and what the year and author
facets count.

Only what a request needs is read, once per index version: the citations of the documents on a
page of hits (kept in a bounded cache), every document's year and authors for the facets (one
pass over the engine's cards, into arrays), and every document's filter facts when a metadata
filter first asks. Reading every whole document record for each of them made a worker's first
search at a million documents take 138 s (#18)."""
from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable
from itertools import islice

from index import Filters, IndexError_

from .citation import cited, cited_authors, page_span
from .facets import FacetTable
from .metadata_filters import MetadataFilters, facts

CITATIONS_KEPT = 20_000   # documents whose citation a worker keeps between requests
CITE_BATCH = 256          # passages cited against one lookup of their documents


class Catalog:
    """A knowledge base's citations, facet table and filter facts, each made when first needed
    for the index version at hand."""

    def __init__(self, index, citations_kept: int = CITATIONS_KEPT):
        self.index = index
        self._lock = threading.Lock()
        self._version: str | None = None
        self._citations: OrderedDict[str, tuple[dict, list[int] | None]] = OrderedDict()
        self._citations_kept = citations_kept
        self._facet_table: FacetTable | None = None
        self._facts: dict[str, tuple] | None = None
        self._last_table = FacetTable({})   # the last complete reading, for when a shard is down

    # -------------------------------------------------------------- versions

    def _current(self) -> None:
        """Forget what an earlier index version said (nothing, when the engine cannot say its version)."""
        try:
            version = self.index.version()
        except IndexError_:
            return
        if version != self._version:
            with self._lock:
                if version != self._version:
                    self._citations = OrderedDict()
                    self._facet_table = self._facts = None
                    self._version = version

    # -------------------------------------------------------------- citations

    def cite_all(self, passages: Iterable[dict], keep_title: bool = False):
        """``cite`` each passage, looking up the documents of a batch of them at once."""
        passages = iter(passages)
        while batch := list(islice(passages, CITE_BATCH)):
            known = self._cited({p["document_id"] for p in batch})
            for passage in batch:
                yield self._cite(passage, keep_title, known)

    def cite(self, passage: dict, keep_title: bool = False) -> dict:
        """A passage (hit, export line) with ``document`` and, where the document has pages, ``page``
        (and ``page_end`` when it runs onto the next page); ``document_title`` out unless ``keep_title``
        (export lines keep it)."""
        return self._cite(passage, keep_title, self._cited({passage["document_id"]}))

    def _cite(self, passage: dict, keep_title: bool, known: dict) -> dict:
        doc_id = passage["document_id"]
        title = passage.get("document_title", "") if keep_title else passage.pop("document_title", "")
        doc, pages = known.get(doc_id) or ({"id": doc_id, "title": title, "authors": [], "date": "",
                                            "url": "", "doi": "", "publisher": "", "source": ""}, None)
        passage["document"] = dict(doc)
        page, page_end = page_span(pages, passage.get("start") or 0, passage.get("end") or 0)
        if page is not None:
            passage["page"] = page
            if page_end is not None:
                passage["page_end"] = page_end
        return passage

    def _cited(self, doc_ids: set[str]) -> dict[str, tuple[dict, list[int] | None]]:
        """(citation, page starts) of those of the documents that exist, from the cache or the index."""
        self._current()
        with self._lock:
            citations = self._citations
            known = {d: citations[d] for d in doc_ids if d in citations}
            for d in known:
                citations.move_to_end(d)
        missing = doc_ids - known.keys()
        if missing:
            try:
                found = self.index.summaries(sorted(missing))
            except IndexError_:   # a shard down: the hits are cited by their titles alone
                return known
            read = {d: (cited(doc), doc.get("page_starts") or None) for d, doc in found.items()}
            known.update(read)
            with self._lock:
                if citations is self._citations:   # not a newer version's cache
                    citations.update(read)
                    while len(citations) > self._citations_kept:
                        citations.popitem(last=False)
        return known

    # -------------------------------------------------------------- facets

    def facets(self, per_document) -> dict[str, dict[str, int]]:
        """``year`` and ``author`` facets from the passage count of each matching document (the last
        complete table when the engine cannot list every document: a shard down)."""
        try:
            table = self._table()
        except IndexError_:
            table = self._last_table
        return table.facets(per_document)

    def _table(self) -> FacetTable:
        table = self._once_per_version("_facet_table", self._make_table)
        self._last_table = table
        return table

    def _make_table(self) -> FacetTable:
        counted = {}
        for doc in self.index.iter_cards():
            date = doc.get("date") or ""
            counted[doc["id"]] = (date[:4] if date[:4].isdigit() else "", tuple(cited_authors(doc)))
        return FacetTable(counted)   # (year, authors) of each document

    def _once_per_version(self, name: str, make):
        """The attribute ``name`` for the index version at hand, made by ``make`` when missing (and
        kept unless the version changed meanwhile)."""
        self._current()
        value = getattr(self, name)
        if value is None:
            with self._lock:
                version = self._version
            value = make()
            with self._lock:
                if version == self._version:
                    setattr(self, name, value)
        return value

    # -------------------------------------------------------------- metadata filters

    def narrow(self, filters: Filters, metadata: MetadataFilters) -> Filters | None:
        """The filters with the documents the metadata filters pass (intersected with any given);
        None when none pass."""
        if not metadata:
            return filters
        chosen = self.select(metadata)
        if filters.documents:
            wanted = set(filters.documents)
            chosen = [d for d in chosen if d in wanted]
        return dataclasses.replace(filters, documents=tuple(chosen)) if chosen else None

    def select(self, filters: MetadataFilters) -> list[str]:
        """Ids of the documents that pass the filters (an error when the engine cannot list them all)."""
        test = filters.predicate()
        return sorted(doc_id for doc_id, doc_facts in self._all_facts().items() if test(doc_facts))

    def _all_facts(self) -> dict[str, tuple]:
        return self._once_per_version(
            "_facts", lambda: {doc["id"]: facts(cited(doc)) for doc in self.index.iter_cards()})

    def listed(self, filters: MetadataFilters, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        """(total, the page of document summaries that pass the filters), by id as the index lists them."""
        ids = self.select(filters)
        page = ids[offset: None if limit is None else offset + limit]
        found = self.index.summaries(page)
        return len(ids), [found[i] for i in page if i in found]
