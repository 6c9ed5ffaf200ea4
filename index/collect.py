"""Collecting a search: the exact set of matching passages (for ``total`` and facets), the
top-k by score (Whoosh's pruning top-k collector), and grouping by document.

Per-searcher data (which passages carry which tag, each passage's document and ordinal, the
passages a filter allows) is computed once and cached until the searcher is refreshed.

A query time limit is a monotonic ``deadline``: the exact match set raises QueryTimeout past it
(no honest total without it), the ranking stops and is marked ``partial``."""
from __future__ import annotations

import time

from whoosh import collectors, query
from whoosh.searching import TimeLimit

from .base import Filters, QueryTimeout

PASSAGES = query.Term("kind", "p")


class SearcherCache:
    """Facts about one searcher's view of the index, computed on first use (sets are never mutated)."""

    def __init__(self, searcher):
        self.searcher = searcher
        self._tag_postings: dict[str, set[int]] | None = None
        self._filters: dict[Filters, set[int]] = {}
        self._document_of: dict[int, str] | None = None
        self._ordinal_of: dict[int, int] | None = None
        self.values: dict = {}

    def docs(self, q) -> set[int]:
        return set(self.searcher.docs_for_query(q))

    @property
    def tag_postings(self) -> dict[str, set[int]]:
        if self._tag_postings is None:
            reader = self.searcher.reader()
            postings = {}
            for btext in reader.lexicon("tags"):
                tag = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                docs = self.docs(query.Term("tags", tag))
                if docs:
                    postings[tag] = docs
            self._tag_postings = postings
        return self._tag_postings

    def allowed(self, filters: Filters) -> set[int]:
        """Passages that pass the tag and document filters."""
        cached = self._filters.get(filters)
        if cached is not None:
            return cached
        docs = self.docs(PASSAGES)
        postings = self.tag_postings
        for tag in filters.tags:
            docs = docs & postings.get(tag, set())
        if filters.any_tags:
            docs = docs & set().union(*(postings.get(t, set()) for t in filters.any_tags))
        for tag in filters.not_tags:
            docs = docs - postings.get(tag, set())
        if filters.documents:
            wanted = set().union(*(self.docs(query.Term("document_id", d)) for d in filters.documents))
            docs = docs & wanted
        if len(self._filters) > 256:
            self._filters.clear()
        self._filters[filters] = docs
        return docs

    def _columns(self):
        reader = self.searcher.reader()
        self._document_of, self._ordinal_of = {}, {}
        for docnum in self.docs(PASSAGES):
            fields = reader.stored_fields(docnum)
            self._document_of[docnum] = fields["document_id"]
            self._ordinal_of[docnum] = fields["ordinal"]

    @property
    def document_of(self) -> dict[int, str]:
        if self._document_of is None:
            self._columns()
        return self._document_of

    @property
    def ordinal_of(self) -> dict[int, int]:
        if self._ordinal_of is None:
            self._columns()
        return self._ordinal_of

    def facet_counts(self, matched: set[int]) -> dict[str, int]:
        counts = {}
        for tag, docs in self.tag_postings.items():
            n = len(docs & matched) if len(docs) < len(matched) else len(matched & docs)
            if n:
                counts[tag] = n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def reading_order(self, docnums) -> list[int]:
        document_of, ordinal_of = self.document_of, self.ordinal_of
        return sorted(docnums, key=lambda d: (document_of[d], ordinal_of[d]))


class Ranked(list):
    """(docnum, score) pairs, best first; ``partial`` when the time limit cut the ranking short."""
    partial = False


class DeadlineCollector(collectors.TimeLimitCollector):
    """Whoosh's TimeLimitCollector, checking a monotonic deadline at every match instead of
    arming SIGALRM (main thread only, process-wide) or starting a timer thread per query.
    Wrap it *inside* a FilterCollector: a wrapper above one bypasses the filter."""

    def __init__(self, child, deadline: float):
        super().__init__(child, timelimit=max(deadline - time.monotonic(), 0.0), use_alarm=False)
        self.deadline = deadline

    def prepare(self, top_searcher, q, context):
        self.child.prepare(top_searcher, q, context)
        self.timedout = False

    def matches(self):
        deadline = self.deadline
        for sub_docnum in self.child.matches():
            if time.monotonic() >= deadline:
                self.timedout = True
                raise TimeLimit
            yield sub_docnum

    def collect_matches(self):
        collect = self.child.collect
        for sub_docnum in self.matches():
            collect(sub_docnum)


def matching(searcher, q, deadline: float | None = None) -> set[int]:
    """Every passage the query matches; QueryTimeout when that takes past the deadline."""
    if deadline is None:
        return set(searcher.docs_for_query(q))
    out = set()
    for n, docnum in enumerate(searcher.docs_for_query(q)):
        if not n & 255 and n and time.monotonic() >= deadline:
            raise QueryTimeout("the query ran past the time limit; make it more specific")
        out.add(docnum)
    return out


def top_scored(searcher, q, allowed: set[int], k: int, deadline: float | None = None) -> Ranked:
    """The k best (docnum, score) pairs among the allowed passages (best so far, ``partial``,
    when the deadline passes first)."""
    if not allowed:   # Whoosh reads an empty filter as no filter at all
        return Ranked()
    if deadline is None:
        return Ranked((hit.docnum, hit.score) for hit in searcher.search(q, filter=allowed, limit=k))
    collector = collectors.FilterCollector(DeadlineCollector(searcher.collector(limit=k), deadline),
                                           allow=allowed)
    try:
        searcher.search_with_collector(q, collector)
        partial = False
    except TimeLimit:
        partial = True
    ranked = Ranked((hit.docnum, hit.score) for hit in collector.results())
    ranked.partial = partial
    return ranked


def top_documents(searcher, cache: SearcherCache, q, allowed: set[int], k: int,
                  matched_count: int, deadline: float | None = None) -> Ranked:
    """The best passage of each of the k best documents (a document scores as its best passage).

    Fetches progressively more passages until k distinct documents are seen or all matches are."""
    document_of = cache.document_of
    fetch = max(k * 3, 30)
    while True:
        scored = top_scored(searcher, q, allowed, min(fetch, max(matched_count, 1)), deadline)
        best: dict[str, tuple[int, float]] = {}
        for docnum, score in scored:
            doc = document_of[docnum]
            if doc not in best:
                best[doc] = (docnum, score)
        if len(best) >= k or fetch >= matched_count or scored.partial:
            ranked = Ranked(sorted(best.values(), key=lambda ds: -ds[1])[:k])
            ranked.partial = scored.partial
            return ranked
        fetch *= 4
