"""Collecting a search: every matching passage with its score in one pass (``total`` is exact,
facets cover the whole result set), the top-k by score, and grouping by document.

Per-searcher data (which passages carry which tag, each passage's document and ordinal, the
passages a filter allows, recent totals and facets) is computed once and cached until the
searcher is refreshed, i.e. until a commit lands.

A query time limit is a monotonic ``deadline``: past it, a query with a large match set is
answered by QueryTimeout (no honest total without the whole set); a small set is finished."""
from __future__ import annotations

import bisect
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np
from whoosh import collectors, query
from whoosh.searching import TimeLimit

from ..base import DocumentCounts, Filters, QueryTimeout
from . import column_arrays
from .bulk_scoring import BulkScorer
from .postings_cache import PostingsCache

PASSAGES = query.Term("kind", "p")
TIMEOUT_MATCHES = 256  # past the deadline, a query matching this many passages times out


class Matches:
    """The passages a query matched (docnums ascending) and their scores (None when browsing)."""

    def __init__(self, docnums: np.ndarray, scores: np.ndarray | None):
        self.docnums = docnums
        self.scores = scores

    def __len__(self) -> int:
        return len(self.docnums)

    def ranked(self, k: int | None = None) -> list[tuple[int, float]]:
        """The k best (docnum, score) pairs, best first; equal scores in docnum order, as
        Whoosh's top-k collector orders them."""
        docnums, scores = self.docnums, self.scores
        n = len(docnums)
        if k is not None and k < n:
            if k <= 0:
                return []
            kth = np.partition(scores, n - k)[n - k]  # the k-th best score
            keep = np.flatnonzero(scores >= kth)       # everything tied with it too
            docnums, scores = docnums[keep], scores[keep]
        order = np.lexsort((docnums, -scores))[:k]
        return list(zip(docnums[order].tolist(), scores[order].tolist()))


class SearcherCache:
    """Facts about one searcher's view of the index, computed on first use and kept while the
    searcher lives (the results memo is locked: threads may share a searcher)."""

    def __init__(self, searcher, postings: PostingsCache | None = None, max_results: int = 512):
        self.searcher = searcher
        self.scorer = BulkScorer(searcher, postings)
        self.doc_count = searcher.reader().doc_count_all()
        self._tag_postings: dict[str, np.ndarray] | None = None
        self._passages: np.ndarray | None = None
        self._filters: dict[Filters, np.ndarray] = {}
        self._filter_sets: dict[Filters, set[int]] = {}
        self._filter_masks: dict[Filters, np.ndarray] = {}
        self._document_of: DocumentOf | None = None       # a passage's docnum -> its document's id
        self._document_names: list[str] = []              # the document ids, sorted
        self._passage_counts = np.empty(0, dtype=np.int64)  # passages per document, as the names
        self._runs = False   # each document's passages stand together in docnum order
        self._first_passage = np.empty(0, dtype=np.int64)  # each document's first passage, as the names
        self._reading_rank: np.ndarray | None = None
        self._results: OrderedDict = OrderedDict()
        self._results_lock = threading.Lock()
        self._max_results = max_results
        self.values: dict = {}

    # -------------------------------------------------------------- sets of passages

    def docs(self, q) -> set[int]:
        return set(self.searcher.docs_for_query(q))

    def term_docnums(self, fieldname: str, text: str) -> np.ndarray:
        """Docnums (ascending) of the live documents holding a term."""
        return self.scorer.term_docnums(fieldname, text)

    @property
    def passages(self) -> np.ndarray:
        if self._passages is None:
            self._passages = self.term_docnums("kind", "p")
        return self._passages

    @property
    def tag_postings(self) -> dict[str, np.ndarray]:
        if self._tag_postings is None:
            postings = {}
            for btext in self.searcher.reader().lexicon("tags"):
                tag = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                docs = self.term_docnums("tags", tag)
                if len(docs):
                    postings[tag] = docs
            self._tag_postings = postings
        return self._tag_postings

    def allowed_docnums(self, filters: Filters) -> np.ndarray:
        """Passages that pass the tag and document filters (docnums ascending)."""
        cached = self._filters.get(filters)
        if cached is not None:
            return cached
        docs = self.passages
        postings = self.tag_postings
        empty = docs[:0]
        for tag in filters.tags:
            docs = np.intersect1d(docs, postings.get(tag, empty), assume_unique=True)
        if filters.any_tags:
            docs = np.intersect1d(docs, _union(postings.get(t, empty) for t in filters.any_tags),
                                  assume_unique=True)
        for tag in filters.not_tags:
            docs = np.setdiff1d(docs, postings.get(tag, empty), assume_unique=True)
        if filters.documents:
            wanted = _union(self.term_docnums("document_id", d) for d in filters.documents)
            docs = np.intersect1d(docs, wanted, assume_unique=True)
        if len(self._filters) > 256:
            self._filters.clear()
            self._filter_sets.clear()
            self._filter_masks.clear()
        self._filters[filters] = docs
        return docs

    def allowed(self, filters: Filters) -> set[int]:
        """The same passages as a set (for Whoosh's ``filter=``)."""
        cached = self._filter_sets.get(filters)
        if cached is None:
            cached = self._filter_sets[filters] = set(self.allowed_docnums(filters).tolist())
        return cached

    # -------------------------------------------------------------- matching

    def matches(self, q, filters: Filters, deadline: float | None = None) -> Matches:
        """Every allowed passage ``q`` matches, with its score; browsing (no words) has no scores."""
        allowed = self.allowed_docnums(filters)
        if isinstance(q, query.Every):
            return Matches(allowed, None)
        docnums, scores = self.scorer.matches(q, deadline)
        if deadline is not None and len(docnums) >= TIMEOUT_MATCHES and time.monotonic() >= deadline:
            raise QueryTimeout("the query ran past the time limit; make it more specific")
        keep = self._allowed_mask(filters, allowed)[docnums]   # np.isin sorted both: 8 ms at a million
        return Matches(docnums[keep], scores[keep])

    def _allowed_mask(self, filters: Filters, allowed: np.ndarray) -> np.ndarray:
        mask = self._filter_masks.get(filters)
        if mask is None:
            if len(self._filter_masks) >= 16:   # a byte per document each
                self._filter_masks.clear()
            mask = np.zeros(self.doc_count, dtype=bool)
            mask[allowed] = True
            self._filter_masks[filters] = mask
        return mask

    def remembered(self, key, compute):
        """A small per-searcher memo (totals and facets of recent queries)."""
        with self._results_lock:
            value = self._results.get(key)
            if value is not None:
                self._results.move_to_end(key)
                return value
        value = compute()
        with self._results_lock:
            self._results[key] = value
            if len(self._results) > self._max_results:
                self._results.popitem(last=False)
        return value

    # -------------------------------------------------------------- columns

    def _columns(self):
        """Each passage's document, as a code into the sorted document ids, from the column (numpy;
        the reading order, which also needs the ordinals, is made when first asked for)."""
        passages = self.passages
        ids = column_arrays.var_bytes(self.searcher.reader(), "document_id", passages)
        code: dict[bytes, int] = {}
        first_seen = np.fromiter((code.setdefault(i, len(code)) for i in ids), dtype=np.int64, count=len(ids))
        seen = list(code)
        order = sorted(range(len(seen)), key=seen.__getitem__)   # UTF-8 sorts as the text does
        sorted_code = np.empty(len(seen), dtype=np.int64)
        sorted_code[order] = np.arange(len(seen))
        document_code = np.full(self.doc_count, -1, dtype=np.int32)   # -1: no passage; int32: half the reading
        document_code[passages] = sorted_code[first_seen]
        self._document_names = [seen[i].decode("utf-8") for i in order]
        self._passage_counts = np.bincount(document_code[passages], minlength=len(seen))
        self._runs = len(first_seen) == 0 or 1 + np.count_nonzero(np.diff(first_seen)) == len(seen)
        # codes are handed out in docnum order, so a code met first is above every code before it
        first = np.concatenate((first_seen[:1] >= 0, first_seen[1:] > np.maximum.accumulate(first_seen)[:-1]))
        self._first_passage = np.empty(len(seen), dtype=np.int64)
        self._first_passage[sorted_code] = passages[first]
        self._document_of = DocumentOf(self._document_names, document_code)

    @property
    def document_of(self) -> DocumentOf:
        """The document id of a passage's docnum (a mapping)."""
        if self._document_of is None:
            self._columns()
        return self._document_of

    def passage_count(self, document_id: str) -> int:
        """How many passages a document has in this view of the index."""
        names = self.document_of.names
        i = bisect.bisect_left(names, document_id)
        return int(self._passage_counts[i]) if i < len(names) and names[i] == document_id else 0

    def first_passage(self, document_id: str) -> int | None:
        """The docnum of a document's first passage (kb writes the document's record just before)."""
        names = self.document_of.names
        i = bisect.bisect_left(names, document_id)
        return int(self._first_passage[i]) if i < len(names) and names[i] == document_id else None

    def passage_counts(self) -> dict[str, int]:
        names = self.document_of.names
        return dict(zip(names, self._passage_counts.tolist()))

    def documents_count(self, docnums) -> int:
        """How many documents the passages ``docnums`` come from."""
        return len(self.document_counts(docnums))

    def facets(self, matched) -> dict[str, dict[str, int]]:
        """Passages per tag, and per document (the year and author facets are counted from these)."""
        return {"tags": self.facet_counts(matched), "documents": self.document_counts(matched)}

    def document_counts(self, matched) -> DocumentCounts:
        """Matching passages per document (what the year and author facets are counted from)."""
        docnums = matched if isinstance(matched, np.ndarray) else np.fromiter(matched, dtype=np.int64)
        if len(docnums) > 1 and not (docnums[1:] > docnums[:-1]).all():
            docnums = np.unique(docnums)
        codes = np.take(self.document_of.codes, docnums)   # np.take: a third faster than indexing
        codes = codes[codes >= 0]
        if self._runs:   # as kb writes: a document's passages in one run, so count the runs
            starts = np.flatnonzero(np.concatenate((codes[:1] >= 0, codes[1:] != codes[:-1])))
            return DocumentCounts(self._document_names, codes[starts], np.diff(starts, append=len(codes)))
        counts = np.bincount(codes, minlength=len(self._document_names))   # two passes over every document
        present = np.flatnonzero(counts)
        return DocumentCounts(self._document_names, present, counts[present])

    def facet_counts(self, matched) -> dict[str, int]:
        docnums = matched if isinstance(matched, np.ndarray) else np.fromiter(matched, dtype=np.int64)
        mask = np.zeros(self.doc_count, dtype=bool)
        mask[docnums] = True
        counts = {}
        for tag, docs in self.tag_postings.items():
            n = int(np.count_nonzero(mask[docs]))
            if n:
                counts[tag] = n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def reading_order(self, docnums, first_per_document: bool = False) -> list[int]:
        """Passages by document id, then ordinal (only each document's first, when asked)."""
        if self._reading_rank is None:
            self._reading_rank = self._rank_in_reading_order()
        docnums = docnums if isinstance(docnums, np.ndarray) else np.fromiter(docnums, dtype=np.int64)
        ordered = docnums[np.argsort(self._reading_rank[docnums], kind="stable")]
        if first_per_document and len(ordered):
            codes = self.document_of.codes[ordered]
            ordered = ordered[np.concatenate(([True], codes[1:] != codes[:-1]))]
        return ordered.tolist()

    def _rank_in_reading_order(self) -> np.ndarray:
        passages = self.passages
        reader = self.searcher.reader()
        ordinals = column_arrays.numeric_sortable(reader, "ordinal", self.searcher.schema["ordinal"])
        order = np.lexsort((ordinals[passages], self.document_of.codes[passages]))
        rank = np.zeros(self.doc_count, dtype=np.int64)
        rank[passages[order]] = np.arange(len(order))
        return rank


class DocumentOf(Mapping):
    """``{passage docnum: document id}`` over the per-docnum code into the sorted ids (a dict of a
    million passages cost a first search seconds and each worker ~100 MB)."""

    def __init__(self, names: list[str], codes: np.ndarray):
        self.names, self.codes = names, codes

    def __getitem__(self, docnum: int) -> str:
        code = int(self.codes[docnum]) if 0 <= docnum < len(self.codes) else -1
        if code < 0:
            raise KeyError(docnum)
        return self.names[code]

    def __iter__(self):
        return iter(np.flatnonzero(self.codes >= 0).tolist())

    def __len__(self) -> int:
        return int(np.count_nonzero(self.codes >= 0))


def _union(arrays) -> np.ndarray:
    arrays = list(arrays)
    return np.unique(np.concatenate(arrays)) if arrays else np.empty(0, dtype=np.int64)


def matching(searcher, q, deadline: float | None = None) -> set[int]:
    """Every document the query matches, by Whoosh's own matchers (semantic and hybrid ranking
    use it); QueryTimeout when that takes past the deadline."""
    if deadline is None:
        return set(searcher.docs_for_query(q))
    out = set()
    for n, docnum in enumerate(searcher.docs_for_query(q)):
        if not n & 255 and n and time.monotonic() >= deadline:
            raise QueryTimeout("the query ran past the time limit; make it more specific")
        out.add(docnum)
    return out


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


def top_scored(searcher, q, allowed: set[int], k: int, deadline: float | None = None) -> Ranked:
    """The k best (docnum, score) pairs among the allowed passages by Whoosh's own collectors
    (best so far, ``partial``, when the deadline passes first): the reference bulk scoring is
    tested against."""
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


def top_documents(cache: SearcherCache, matches: Matches, k: int) -> list[tuple[int, float]]:
    """The best passage of each of the k best documents (a document scores as its best passage).

    Ranks progressively more passages until k distinct documents are seen or all matches are."""
    document_of = cache.document_of
    fetch = max(k * 3, 30)
    while True:
        best: dict[str, tuple[int, float]] = {}
        for docnum, score in matches.ranked(fetch):
            doc = document_of[docnum]
            if doc not in best:
                best[doc] = (docnum, score)
                if len(best) >= k:
                    return list(best.values())
        if fetch >= len(matches):
            return list(best.values())
        fetch *= 4
