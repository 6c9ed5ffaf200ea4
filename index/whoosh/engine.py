"""The embedded engine: a Whoosh index on disk behind the ``SearchIndex`` interface.

One index holds both kinds of record: passages (``kind=p``, searchable) and the original
documents (``kind=d``, stored only), so a document and all its passages land in one commit.
A long-lived searcher is kept per process and refreshed only when a commit (or a rebuild's
switch) has happened since it was opened.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Iterator

from whoosh import index as whoosh_index
from whoosh import query
from whoosh.index import EmptyIndexError

from .. import storage
from ..base import Filters, SearchIndex, SearchRequest, SearchResponse
from ..querying import QueryBuilder, QueryLimits
from ..schema import make_schema
from ..text.highlight import Highlighter, MatchPlan, match_plan
from ..text.memo_analyzer import MemoAnalyzer
from . import cards, collect, suggest
from .curation import CurationSupport
from .postings_cache import POSTING_BYTES, PostingsCache
from .records import (
    DOCUMENTS,
    passage_from_stored,
    read_document,
    read_passage,
    read_passages_of,
)
from .scoring import PassageBM25
from .semantic import VectorSupport
from .writing import WritingSupport

READ_RETRIES = 5


class WhooshIndex(WritingSupport, CurationSupport, VectorSupport, SearchIndex):
    def __init__(self, home: str | Path, lock_timeout: float = 10.0, limits: QueryLimits | None = None,
                 k1: float = 1.2, b: float = 0.65, vector_model: str | None = None,
                 postings_cache_bytes: int = 50 * 1024 ** 2):
        self.home = Path(home)
        self.vector_model = vector_model  # None: embeddings off (see index.semantic)
        self.home.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        self.schema = make_schema()
        self.weighting = PassageBM25(k1=k1, b=b)   # b 0.65: better than 0.75 on SciFact and CACM (bench/RELEVANCE.md)
        self.queries = QueryBuilder(self.schema, limits)
        self.highlighter = Highlighter(MemoAnalyzer(self.schema["content"].analyzer))
        self._lock = threading.RLock()
        self._ix = self._searcher = self._stamp = None
        self._cache: collect.SearcherCache | None = None
        self.postings = PostingsCache(postings_cache_bytes // POSTING_BYTES)  # shared by searchers
        self._memos: dict[str, MemoAnalyzer] = {}

    # ------------------------------------------------------------------ opening

    def _open_index(self, path: Path, locked: bool):
        if whoosh_index.exists_in(path):
            return whoosh_index.open_dir(path)
        if locked:
            return whoosh_index.create_in(path, self.schema)
        # create_in wipes TOC files: never let a reader race a writer into it
        with storage.write_lock(self.home, self.lock_timeout):
            if whoosh_index.exists_in(path):
                return whoosh_index.open_dir(path)
            return whoosh_index.create_in(path, self.schema)

    def _index(self, locked: bool = False):
        stamp = storage.pointer_stamp(self.home)
        if self._ix is None or stamp != self._stamp:
            with self._lock:
                if self._ix is None or stamp != self._stamp:
                    path = storage.live_dir(self.home)
                    self._ix, self._dir, self._stamp = self._open_index(path, locked), path, stamp
                    self._searcher = None
        return self._ix

    def searcher(self):
        """The process's searcher, refreshed when the index has changed since it was opened.

        A rebuild may switch and delete the index directory between our look at the pointer
        and the opening of the searcher: then look again (a read never fails for a switch)."""
        return self._view().searcher

    def _view(self) -> collect.SearcherCache:
        """The current searcher with its cached facts, as one consistent pair."""
        for attempt in range(READ_RETRIES):
            try:
                return self._current_view()
            except (OSError, EmptyIndexError):
                if attempt == READ_RETRIES - 1:
                    raise
                with self._lock:
                    self._ix = self._searcher = None
                time.sleep(0.01 * (attempt + 1))

    def _current_view(self) -> collect.SearcherCache:
        ix = self._index()
        cache = self._cache
        if self._searcher is None or cache is None or not cache.searcher.up_to_date():
            with self._lock:
                cache = self._cache
                if self._searcher is None or cache is None or not cache.searcher.up_to_date():
                    s = ix.searcher(weighting=self.weighting)
                    cache = collect.SearcherCache(s, self.postings)
                    cache.values["dir"] = self._dir
                    self._cache, self._searcher = cache, s
        return cache

    def version(self) -> str:
        cache = self._view()
        return f"{cache.values['dir'].name}.{cache.searcher.reader().generation()}"

    def close(self) -> None:
        with self._lock:
            self._searcher = None
            self._ix = None

    # ------------------------------------------------------------------ searching

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        limit = self.queries.limits.time_limit
        deadline = time.monotonic() + limit if limit else None
        cache = self._view()
        s = cache.searcher
        parsed = self.queries.parse(request.q, s.reader(), request.syntax)
        q = parsed.query
        browse = isinstance(q, query.Every)
        grouped = request.group_by == "document"
        want = request.offset + request.limit
        partial = False
        if request.mode in ("semantic", "hybrid") and request.vector is not None:
            matched, fused, partial = self._semantic_rank(cache, q, cache.allowed(request.filters), request,
                                                          deadline)
            total = cache.documents_count(matched) if grouped else len(matched)
            facets = cache.facets(matched) if request.facets else {}
            docnums = matched
            page = fused[request.offset:want] if request.sort != "document" else None
        else:
            matches = cache.matches(q, request.filters, deadline)  # every match, scored, in one pass
            key = (request.q, request.syntax, request.filters, grouped, request.facets)
            total, facets = cache.remembered(key, lambda: (
                cache.documents_count(matches.docnums) if grouped else len(matches),
                cache.facets(matches.docnums) if request.facets else {}))
            docnums = matches.docnums
            if browse or request.sort == "document":
                page = None
            elif grouped:
                page = collect.top_documents(cache, matches, want)[request.offset:]
            else:
                page = matches.ranked(want)[request.offset:]
        if page is None:  # reading order: by document, then ordinal
            ordered = cache.reading_order(docnums, first_per_document=grouped)
            page = [(d, None) for d in ordered[request.offset:want]]
        plan = match_plan(q, s.reader()) if request.highlight and not browse else MatchPlan()
        hits = self._hit_records(request, s, page, plan)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(total=total, hits=hits, facets=facets, took_ms=round(took, 2),
                              syntax=parsed.syntax, notice=parsed.notice, partial=partial)

    def _hit_records(self, request, s, page, plan) -> list[dict]:
        hits = []
        for docnum, score in page:
            fields = s.stored_fields(docnum)
            record = passage_from_stored(fields)
            record["score"] = round(score, 4) if score is not None else None
            record["document_title"] = fields.get("title", "")
            if request.highlight:
                record["snippet"] = self.highlighter.snippet(record["text"], plan)
            hits.append(record)
        return hits

    # ------------------------------------------------------------------ lookups

    def get_passage(self, passage_id: str) -> dict | None:
        return read_passage(self.searcher(), passage_id)

    def get_document(self, document_id: str) -> dict | None:
        return read_document(self.searcher(), document_id)

    def passages_of(self, document_id: str) -> list[dict]:
        return read_passages_of(self.searcher(), document_id)

    def document_with_passages(self, document_id: str) -> dict | None:
        s = self.searcher()   # one searcher: never the text of one version, passages of another
        doc = read_document(s, document_id)
        if doc is not None:
            doc["passages"] = read_passages_of(s, document_id)
        return doc

    def passage_with_neighbours(self, passage_id: str) -> dict | None:
        s = self.searcher()
        passage = read_passage(s, passage_id)
        if passage is not None:
            ids = {p["ordinal"]: p["id"] for p in read_passages_of(s, passage["document_id"])}
            passage["previous"] = ids.get(passage["ordinal"] - 1)
            passage["next"] = ids.get(passage["ordinal"] + 1)
        return passage

    def neighbours(self, passages: list[dict]) -> dict[str, tuple[str | None, str | None]]:
        """From the passage count of each document: ordinals run from 1 and ids are ``doc:ordinal``."""
        cache = self._view()
        out = {}
        for p in passages:
            doc, ordinal = p["document_id"], p["ordinal"]
            out[p["id"]] = (f"{doc}:{ordinal - 1}" if ordinal > 1 else None,
                            f"{doc}:{ordinal + 1}" if ordinal < cache.passage_count(doc) else None)
        return out

    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        cache = self._view()
        s = cache.searcher
        counts = cache.passage_counts()
        docnums = list(s.docs_for_query(DOCUMENTS))
        ids = sorted((fields["id"], fields) for fields in map(s.stored_fields, docnums))   # each read once
        page = ids[offset: None if limit is None else offset + limit]
        out = []
        for doc_id, fields in page:
            data = json.loads(fields["data"])
            data.pop("text", None)
            data.pop("original", None)
            data["passages"] = counts.get(doc_id, 0)
            out.append(data)
        return len(ids), out

    def summaries(self, document_ids) -> dict[str, dict]:
        return cards.summaries(self._view(), document_ids)

    def iter_cards(self) -> Iterator[dict]:
        return cards.iter_cards(self._view())

    def iter_documents(self) -> Iterator[dict]:
        s = self.searcher()
        records = [json.loads(s.stored_fields(n)["data"]) for n in s.docs_for_query(DOCUMENTS)]
        yield from sorted(records, key=lambda d: d["id"])

    def iter_passages(self, filters: Filters = Filters()) -> Iterator[dict]:
        cache = self._view()
        s = cache.searcher
        for docnum in cache.reading_order(cache.allowed(filters)):
            fields = s.stored_fields(docnum)
            record = passage_from_stored(fields)
            record["document_title"] = fields.get("title", "")
            yield record

    def tag_counts(self) -> dict[str, int]:
        cache = self._view()
        return cache.facet_counts(cache.allowed(Filters()))

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters(),
                semantic: bool = False) -> list[dict] | None:
        cache = self._view()
        s = cache.searcher
        docnum = s.document_number(id=passage_id)
        if docnum is None or s.stored_fields(docnum).get("kind") != "p":
            return None
        fields = s.stored_fields(docnum)
        text = " ".join([fields.get("title", ""), fields.get("section", ""), fields["text"]])
        allowed = cache.allowed(filters) - {docnum}
        if not allowed:   # Whoosh reads an empty filter as no filter at all
            return []
        nearest = self._similar_by_vector(cache, docnum, limit, allowed) if semantic else None
        if nearest is not None:
            return [{**passage_from_stored(s.stored_fields(d)), "score": round(score, 4),
                     "document_title": s.stored_fields(d).get("title", "")} for d, score in nearest]
        return suggest.more_like(s, docnum, text, limit, allowed)

    def suggest(self, q: str, limit: int = 5) -> dict:
        return suggest.suggest(self._view(), self.queries, q, limit)

    def stats(self) -> dict:
        cache = self._view()
        s = cache.searcher
        return {
            "documents": len(list(s.docs_for_query(DOCUMENTS))),
            "passages": len(cache.passages),
            "tags": len(cache.facet_counts(cache.allowed(Filters()))),
            "index_bytes": storage.dir_size(cache.values["dir"]),
            "version": f"{cache.values['dir'].name}.{s.reader().generation()}",
            **self._vector_stats(cache),
        }
