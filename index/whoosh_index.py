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
from typing import Iterable, Iterator

from whoosh import index as whoosh_index
from whoosh import query, scoring, sorting
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.analysis import SimpleAnalyzer

from . import storage
from .analysis import text_analyzer
from .base import Filters, SearchIndex, SearchRequest, SearchResponse
from .highlight import Highlighter
from .querying import QueryBuilder, QueryLimits

PASSAGE_FIELDS = ("id", "document_id", "ordinal", "section", "text", "start", "end",
                  "tags", "keywords", "evidence")


def make_schema() -> Schema:
    analyzer = text_analyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        document_id=ID(stored=True, sortable=True),
        ordinal=NUMERIC(int, stored=True, sortable=True),
        title=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        section=TEXT(analyzer=analyzer, stored=True, multitoken_query="phrase"),
        content=TEXT(analyzer=analyzer, multitoken_query="phrase"),
        spell=TEXT(analyzer=SimpleAnalyzer(), phrase=False),
        text=STORED(),
        tags=KEYWORD(stored=True, commas=True, scorable=False, lowercase=False),
        keywords=STORED(),
        evidence=STORED(),
        start=STORED(),
        end=STORED(),
        data=STORED(),
    )


PASSAGES = query.Term("kind", "p")
DOCUMENTS = query.Term("kind", "d")


class WhooshIndex(SearchIndex):
    def __init__(self, home: str | Path, lock_timeout: float = 10.0, limits: QueryLimits | None = None,
                 k1: float = 1.2, b: float = 0.75):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.lock_timeout = lock_timeout
        self.schema = make_schema()
        self.weighting = scoring.BM25F(B=b, K1=k1)
        self.queries = QueryBuilder(self.schema, limits)
        self.highlighter = Highlighter(self.schema["content"].analyzer)
        self._lock = threading.RLock()
        self._ix = None
        self._searcher = None
        self._stamp = None
        self._cache: dict = {}

    # ------------------------------------------------------------------ opening

    def _open_index(self, path: Path):
        if whoosh_index.exists_in(path):
            return whoosh_index.open_dir(path)
        return whoosh_index.create_in(path, self.schema)

    def _index(self):
        stamp = storage.pointer_stamp(self.home)
        if self._ix is None or stamp != self._stamp:
            with self._lock:
                if self._ix is None or stamp != self._stamp:
                    path = storage.live_dir(self.home)
                    self._ix = self._open_index(path)
                    self._dir = path
                    self._stamp = storage.pointer_stamp(self.home)
                    self._searcher = None
        return self._ix

    def searcher(self):
        """The process's searcher, refreshed when the index has changed since it was opened."""
        ix = self._index()
        s = self._searcher
        if s is None or not s.up_to_date():
            with self._lock:
                s = self._searcher
                if s is None or not s.up_to_date():
                    s = ix.searcher(weighting=self.weighting)
                    self._searcher = s
                    self._cache = {}
        return s

    def version(self) -> str:
        self._index()
        return f"{self._dir.name}.{self._ix.latest_generation()}"

    def close(self) -> None:
        with self._lock:
            self._searcher = None
            self._ix = None

    # ------------------------------------------------------------------ writing

    def replace_documents(self, items: Iterable[tuple[dict, list[dict]]]) -> int:
        items = list(items)
        if not items:
            return 0
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._index()
            self._write(ix, items)
        return len(items)

    def _write(self, ix, items) -> None:
        writer = ix.writer(timeout=self.lock_timeout, limitmb=256)
        try:
            for doc, passages in items:
                writer.delete_by_term("document_id", doc["id"])
                writer.add_document(**_document_record(doc))
                for p in passages:
                    writer.add_document(**_passage_record(doc, p))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def delete_document(self, document_id: str) -> bool:
        with storage.write_lock(self.home, self.lock_timeout):
            ix = self._index()
            with ix.searcher() as s:
                if s.document_number(id=document_id) is None:
                    return False
            writer = ix.writer(timeout=self.lock_timeout)
            writer.delete_by_term("document_id", document_id)
            writer.commit()
        return True

    def rebuild(self, items: Iterable[tuple[dict, list[dict]]], batch: int = 500,
                progress=None) -> int:
        """Write every document into a new index directory, then switch to it atomically."""
        count = 0
        with storage.write_lock(self.home, self.lock_timeout):
            path = storage.new_dir(self.home)
            ix = whoosh_index.create_in(path, self.schema)
            chunk = []
            for item in items:
                chunk.append(item)
                if len(chunk) >= batch:
                    self._write(ix, chunk)
                    count += len(chunk)
                    if progress:
                        progress(len(chunk))
                    chunk = []
            if chunk:
                self._write(ix, chunk)
                count += len(chunk)
                if progress:
                    progress(len(chunk))
            storage.switch_to(self.home, path.name)
            storage.remove_stale_dirs(self.home, keep=path.name)
        return count

    # ------------------------------------------------------------------ searching

    def _filter(self, filters: Filters):
        parts = [PASSAGES]
        parts += [query.Term("tags", t) for t in filters.tags]
        if filters.any_tags:
            parts.append(query.Or([query.Term("tags", t) for t in filters.any_tags]))
        if filters.documents:
            parts.append(query.Or([query.Term("document_id", d) for d in filters.documents]))
        return query.And(parts) if len(parts) > 1 else parts[0]

    @staticmethod
    def _mask(filters: Filters):
        if not filters.not_tags:
            return None
        return query.Or([query.Term("tags", t) for t in filters.not_tags])

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        s = self.searcher()
        q = self.queries.build(request.q, s.reader())
        groups = {}
        if request.facets:
            groups["tags"] = sorting.FieldFacet("tags", allow_overlap=True, maptype=sorting.Count)
        grouped = request.group_by == "document"
        if grouped:
            groups["document_id"] = sorting.FieldFacet("document_id", maptype=sorting.Count)
        kwargs = dict(filter=self._filter(request.filters), mask=self._mask(request.filters),
                      limit=request.offset + request.limit, groupedby=groups or None)
        if grouped:
            kwargs.update(collapse="document_id", collapse_limit=1)
        if request.sort == "document":
            kwargs["sortedby"] = [sorting.FieldFacet("document_id"), sorting.FieldFacet("ordinal")]
        results = s.search(q, **kwargs)
        if grouped:
            total = len(results.groups("document_id"))
        else:
            total = len(results)
        facets = {"tags": _sorted_counts(results.groups("tags"))} if request.facets else {}
        terms = _highlight_terms(q, s.reader()) if request.highlight else frozenset()
        hits = []
        for hit in results[request.offset: request.offset + request.limit]:
            record = _passage_from_stored(hit.fields())
            record["score"] = round(hit.score, 4) if hit.score is not None else None
            record["document_title"] = hit.get("title", "")
            if request.highlight:
                record["snippet"] = self.highlighter.snippet(record["text"], terms)
            hits.append(record)
        took = (time.perf_counter() - started) * 1000
        return SearchResponse(total=total, hits=hits, facets=facets, took_ms=round(took, 2))

    # ------------------------------------------------------------------ lookups

    def get_passage(self, passage_id: str) -> dict | None:
        s = self.searcher()
        fields = s.document(id=passage_id)
        if not fields or fields.get("kind") != "p":
            return None
        record = _passage_from_stored(fields)
        record["document_title"] = fields.get("title", "")
        return record

    def get_document(self, document_id: str) -> dict | None:
        fields = self.searcher().document(id=document_id)
        if not fields or fields.get("kind") != "d":
            return None
        return json.loads(fields["data"])

    def passages_of(self, document_id: str) -> list[dict]:
        s = self.searcher()
        q = query.And([PASSAGES, query.Term("document_id", document_id)])
        docnums = sorted(s.docs_for_query(q))
        records = [_passage_from_stored(s.stored_fields(n)) for n in docnums]
        return sorted(records, key=lambda r: r["ordinal"])

    def _passage_counts(self) -> dict[str, int]:
        s = self.searcher()
        counts = self._cache.get("passage_counts")
        if counts is None:
            facet = sorting.FieldFacet("document_id", maptype=sorting.Count)
            results = s.search(PASSAGES, groupedby={"d": facet}, limit=1)
            counts = dict(results.groups("d"))
            self._cache["passage_counts"] = counts
        return counts

    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        s = self.searcher()
        counts = self._passage_counts()
        docnums = list(s.docs_for_query(DOCUMENTS))
        ids = sorted((s.stored_fields(n)["id"], n) for n in docnums)
        page = ids[offset: None if limit is None else offset + limit]
        out = []
        for doc_id, n in page:
            data = json.loads(s.stored_fields(n)["data"])
            data.pop("text", None)
            data["passages"] = counts.get(doc_id, 0)
            out.append(data)
        return len(ids), out

    def iter_documents(self) -> Iterator[dict]:
        s = self.searcher()
        records = [json.loads(s.stored_fields(n)["data"]) for n in s.docs_for_query(DOCUMENTS)]
        yield from sorted(records, key=lambda d: d["id"])

    def iter_passages(self, filters: Filters = Filters()) -> Iterator[dict]:
        s = self.searcher()
        results = s.search(query.Every(), filter=self._filter(filters), mask=self._mask(filters),
                           limit=None,
                           sortedby=[sorting.FieldFacet("document_id"), sorting.FieldFacet("ordinal")])
        for hit in results:
            record = _passage_from_stored(hit.fields())
            record["document_title"] = hit.get("title", "")
            yield record

    def tag_counts(self) -> dict[str, int]:
        counts = self._cache.get("tag_counts")
        if counts is None:
            facet = sorting.FieldFacet("tags", allow_overlap=True, maptype=sorting.Count)
            results = self.searcher().search(PASSAGES, groupedby={"t": facet}, limit=1)
            counts = _sorted_counts(results.groups("t"))
            self._cache["tag_counts"] = counts
        return counts

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters()) -> list[dict] | None:
        s = self.searcher()
        docnum = s.document_number(id=passage_id)
        if docnum is None or s.stored_fields(docnum).get("kind") != "p":
            return None
        fields = s.stored_fields(docnum)
        text = " ".join([fields.get("title", ""), fields.get("section", ""), fields["text"]])
        excluded = set(filters.not_tags)
        results = s.more_like(docnum, "content", text=text, top=limit + 1, numterms=15,
                              filter=self._filter(filters))
        results = [h for h in results if h["id"] != passage_id
                   and not excluded.intersection((h.get("tags") or "").split(","))][:limit]
        out = []
        for hit in results:
            record = _passage_from_stored(hit.fields())
            record["score"] = round(hit.score, 4)
            record["document_title"] = hit.get("title", "")
            out.append(record)
        return out

    def suggest(self, q: str, limit: int = 5) -> dict:
        s = self.searcher()
        reader = s.reader()
        words = q.strip().lower().split()
        out = {"completions": [], "did_you_mean": None}
        if not words:
            return out
        last = words[-1]
        if q[-1:].isspace() is False and last.isalnum():
            candidates = []
            for btext in reader.expand_prefix("spell", last):
                word = btext.decode("utf-8") if isinstance(btext, bytes) else btext
                candidates.append((reader.doc_frequency("spell", word), word))
                if len(candidates) >= 2000:
                    break
            candidates.sort(key=lambda c: (-c[0], c[1]))
            prefix = " ".join(words[:-1])
            for freq, word in candidates[:limit]:
                out["completions"].append({"text": f"{prefix} {word}".strip(), "hits": freq})
        corrector = s.corrector("spell")
        corrected, changed = [], False
        for w in words:
            if reader.doc_frequency("spell", w) > 0 or not w.isalpha():
                corrected.append(w)
                continue
            fixes = corrector.suggest(w, limit=1, maxdist=2)
            if fixes:
                corrected.append(fixes[0])
                changed = True
            else:
                corrected.append(w)
        if changed:
            text = " ".join(corrected)
            results = s.search(self.queries.build(text, reader), filter=PASSAGES, limit=1)
            out["did_you_mean"] = {"text": text, "hits": len(results)}
        return out

    def stats(self) -> dict:
        s = self.searcher()
        counts = self._passage_counts()
        return {
            "documents": len(list(s.docs_for_query(DOCUMENTS))),
            "passages": sum(counts.values()),
            "tags": len(self.tag_counts()),
            "index_bytes": storage.dir_size(self._dir),
            "version": self.version(),
        }


# ---------------------------------------------------------------------- records

def _document_record(doc: dict) -> dict:
    return {"id": doc["id"], "kind": "d", "document_id": doc["id"], "title": doc.get("title", ""),
            "data": json.dumps(doc, ensure_ascii=False)}


def _passage_record(doc: dict, p: dict) -> dict:
    title, section, text = doc.get("title", ""), p.get("section", ""), p["text"]
    return {
        "id": p["id"], "kind": "p", "document_id": doc["id"], "ordinal": p["ordinal"],
        "title": title, "section": section,
        "content": f"{title}\n{section}\n{text}",
        "spell": f"{title}\n{section}\n{text}",
        "text": text, "tags": ",".join(p.get("tags", [])),
        "keywords": list(p.get("keywords", [])), "evidence": list(p.get("evidence", [])),
        "start": p["start"], "end": p["end"],
    }


def _passage_from_stored(fields: dict) -> dict:
    record = {name: fields.get(name) for name in PASSAGE_FIELDS}
    record["tags"] = [t for t in (fields.get("tags") or "").split(",") if t]
    record["keywords"] = list(fields.get("keywords") or [])
    record["evidence"] = list(fields.get("evidence") or [])
    record["section"] = fields.get("section") or ""
    record["words"] = len(record["text"].split())
    return record


def _sorted_counts(groups: dict) -> dict[str, int]:
    return dict(sorted(((k, v) for k, v in groups.items() if k), key=lambda kv: (-kv[1], kv[0])))


def _highlight_terms(q, reader) -> frozenset:
    terms = set()
    try:
        pairs = q.existing_terms(reader, phrases=True, expand=True)
    except Exception:
        pairs = q.iter_all_terms(phrases=True)
    for fieldname, text in pairs:
        if fieldname in ("content", "title", "section"):
            terms.add(text.decode("utf-8") if isinstance(text, bytes) else text)
    return frozenset(terms)
