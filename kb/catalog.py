"""The citation of every document, read from the index once per index version: what makes a hit
citable alone (``document: {id, title, authors, date, url, doi, publisher, source}`` and its
``page``), what the metadata filters (author, date, source) select documents by, and what the
year and author facets count. Kept above the engines, so both answer the same."""
from __future__ import annotations

import dataclasses
import threading

from index import Filters, IndexError_

from .citation import cited, page_span
from .facets import FacetTable
from .metadata_filters import MetadataFilters, facts


class Catalog:
    """``{document id: citation}`` of the index, rebuilt when the index version changes."""

    def __init__(self, index):
        self.index = index
        self._lock = threading.Lock()
        self._version: str | None = None
        self._docs: dict[str, dict] = {}
        self._pages: dict[str, list[int]] = {}
        self._summaries: dict[str, dict] = {}
        self._facts: dict[str, tuple] = {}
        self._facet_table = FacetTable({})

    def documents(self, strict: bool = False) -> dict[str, dict]:
        """The citations; when the engine cannot list every document (a shard down), the last
        complete reading, or an error when ``strict`` (filters need the whole truth)."""
        try:
            return self._read()
        except IndexError_:
            if strict:
                raise
            return self._docs

    def _read(self) -> dict[str, dict]:
        version = self.index.version()
        if version != self._version:
            with self._lock:
                if version != self._version:
                    docs, pages, summaries, known, counted = {}, {}, {}, {}, {}
                    for doc in self._all():
                        docs[doc["id"]] = cited(doc)
                        summaries[doc["id"]] = doc
                        known[doc["id"]] = facts(docs[doc["id"]])
                        year = docs[doc["id"]]["date"][:4]
                        counted[doc["id"]] = (year if year.isdigit() else "", tuple(docs[doc["id"]]["authors"]))
                        if doc.get("page_starts"):
                            pages[doc["id"]] = doc["page_starts"]
                    self._docs, self._pages, self._summaries, self._facts = docs, pages, summaries, known
                    self._facet_table = FacetTable(counted)   # (year, authors) of each document
                    self._version = version
        return self._docs

    def _all(self):
        return self.index.list_documents(0, None)[1]   # one pass: paging would re-read the list each time

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
        """Ids of the documents that pass the filters."""
        self.documents(strict=True)
        test, known = filters.predicate(), self._facts
        return sorted(doc_id for doc_id, doc_facts in known.items() if test(doc_facts))

    def listed(self, filters: MetadataFilters, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        """(total, the page of document summaries that pass the filters), by id as the index lists them."""
        ids = self.select(filters)
        page = ids[offset: None if limit is None else offset + limit]
        return len(ids), [dict(self._summaries[i]) for i in page]

    def cite_all(self, passages, keep_title: bool = False):
        """``cite`` each passage against one reading of the catalog."""
        docs, pages = self.documents(), self._pages
        for passage in passages:
            yield self.cite(passage, keep_title, docs, pages)

    def cite(self, passage: dict, keep_title: bool = False, docs: dict | None = None,
             pages: dict | None = None) -> dict:
        """A passage (hit, export line) with ``document`` and, where the document has pages, ``page``
        (and ``page_end`` when it runs onto the next page); ``document_title`` out unless ``keep_title``
        (export lines keep it)."""
        if docs is None:
            docs, pages = self.documents(), self._pages
        doc_id = passage["document_id"]
        title = passage.get("document_title", "") if keep_title else passage.pop("document_title", "")
        doc = docs.get(doc_id) or {"id": doc_id, "title": title, "authors": [],
                                   "date": "", "url": "", "doi": "", "publisher": "", "source": ""}
        passage["document"] = dict(doc)
        page, page_end = page_span((pages or {}).get(doc_id), passage.get("start") or 0, passage.get("end") or 0)
        if page is not None:
            passage["page"] = page
            if page_end is not None:
                passage["page_end"] = page_end
        return passage

    def facets(self, per_document: dict[str, int]) -> dict[str, dict[str, int]]:
        """``year`` and ``author`` facets from the passage count of each matching document."""
        self.documents()
        return self._facet_table.facets(per_document)
