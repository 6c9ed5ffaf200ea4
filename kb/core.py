"""The ``KnowledgeBase`` facade: the one core that the CLI and the HTTP API both call."""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Callable, Iterable, Iterator

from index.base import Filters, SearchIndex, SearchRequest, SearchResponse
from index.factory import open_index
from index.querying import QueryLimits, free_text

from . import embedding
from .embedding import SemanticUnavailable
from .ingest import PREPARE, REFUSED, IngestReport, ingest_items, task_chars
from .keywords import keywords
from .models import Document, Passage, now_iso, valid_document_id
from .pipeline import Preparer, default_workers
from .readers import ReadError, ReadResult, iter_paths, read_bytes, read_path
from .split import SplitOptions, split_text
from .tagging import Tagger, Taxonomy, default_taxonomy_path

DEFAULT_HOME = "kb-data"
SAMPLE_PATH = Path(__file__).parent / "data" / "science-diplomacy.txt"
SEARCH_MODES = ("lexical", "semantic", "hybrid")
# Normalised score fusion beat reciprocal rank fusion on SciFact, 0.726 to 0.706 nDCG@10 (README),
# with nothing fitted to it: equal weights, min-max within each ranking.
DEFAULT_FUSION = "normalized"
log = logging.getLogger("kb")


DOCUMENT_FIELDS = ("id", "title", "text", "source", "tags", "metadata")


# Commit sizes of a bulk ingest. Each Whoosh commit writes a segment and pays for every distinct
# term in it; past 20 or so segments Whoosh merges them. Measured on 2 cores: 1,000 documents /
# 2,000 passages gave 195 passages/s on 20k synthetic passages (merging), 5,000 / 5,000 gave
# 452/s, and 10,000 slowed down again (the 256 MB posting pool spilled to disk); SciFact: 279/s.
BATCH_DOCUMENTS = 5000
BATCH_PASSAGES = 5000
DEFAULT_QUERY_TIME_LIMIT = 5.0
DEFAULT_MAX_EXPANSIONS = 500


def query_limits(time_limit: float | None = None, max_expansions: int | None = None,
                 env=os.environ) -> QueryLimits:
    """Query limits from arguments, else ``KB_QUERY_TIME_LIMIT`` (seconds, 0: none) and
    ``KB_MAX_EXPANSIONS`` (words a prefix*, wild*card or fuzzy~ term may stand for)."""
    if time_limit is None:
        time_limit = float(env.get("KB_QUERY_TIME_LIMIT") or DEFAULT_QUERY_TIME_LIMIT)
    if max_expansions is None:
        max_expansions = int(env.get("KB_MAX_EXPANSIONS") or DEFAULT_MAX_EXPANSIONS)
    return QueryLimits(max_expansions=max_expansions, time_limit=time_limit or None)


class InvalidDocument(ValueError):
    """A document that cannot be ingested (no text, a bad id); the message says which field."""


class KnowledgeBase:
    """Ingest, search, get, delete, rebuild: everything kb does, in one place."""

    def __init__(self, home: str | os.PathLike | None = None, taxonomy: str | os.PathLike | None = None,
                 split_options: SplitOptions | None = None, index: SearchIndex | None = None,
                 lock_timeout: float = 10.0, batch_size: int = BATCH_DOCUMENTS, backend: str | None = None,
                 nodes: str | None = None, limits: QueryLimits | None = None, semantic: bool | None = None,
                 embedder: embedding.Embedder | None = None, batch_passages: int = BATCH_PASSAGES,
                 workers: int | None = None):
        self.home = Path(home or os.environ.get("KB_HOME") or DEFAULT_HOME)
        self.taxonomy_path = Path(taxonomy or os.environ.get("KB_TAXONOMY") or default_taxonomy_path())
        self.split_options = split_options or SplitOptions()
        self.batch_size = batch_size          # a commit after this many documents
        self.batch_passages = batch_passages  # ... or this many passages, whichever comes first
        self.workers = default_workers() if workers is None else workers
        # semantic: embeddings computed at ingest and used by search (see kb.embedding)
        self._semantic_off = ""   # why not, when the engine is the reason
        self.semantic = embedding.enabled() if semantic is None else semantic
        if self.semantic and not embedding.installed():
            raise SemanticUnavailable(embedding.why_unavailable())
        self.index = index or open_index(self.home / "index", backend=backend, nodes=nodes,
                                         lock_timeout=lock_timeout, limits=limits or query_limits(),
                                         vector_model=embedding.MODEL_NAME if self.semantic else None)
        if self.semantic and getattr(self.index, "vector_model", None) is None:
            self.semantic = False   # an engine without vector support (the sphinx backend)
            self._semantic_off = "semantic search needs the whoosh backend"
        self.embed_on_ingest = self.semantic
        self.embedder = (embedder or embedding.Embedder()) if self.semantic else None
        self.default_mode = self._configured_mode()
        self._taxonomy: Taxonomy | None = None
        self._tagger: Tagger | None = None
        self._suggester = None

    def why_not_semantic(self) -> str:
        return self._semantic_off or embedding.why_unavailable()

    def _configured_mode(self) -> str:
        mode = os.environ.get("KB_SEARCH_MODE", "lexical").strip().lower() or "lexical"
        if mode not in SEARCH_MODES:
            raise ValueError(f"KB_SEARCH_MODE={mode}: expected one of {', '.join(SEARCH_MODES)}")
        if mode != "lexical" and not self.semantic:
            log.warning("KB_SEARCH_MODE=%s ignored: %s", mode, self.why_not_semantic())
            return "lexical"
        return mode

    # ------------------------------------------------------------------ taxonomy

    @property
    def taxonomy(self) -> Taxonomy:
        if self._taxonomy is None:
            self._taxonomy = Taxonomy.load(self.taxonomy_path)
        return self._taxonomy

    @property
    def tagger(self) -> Tagger:
        if self._tagger is None:
            self._tagger = Tagger(self.taxonomy)
        return self._tagger

    # ------------------------------------------------------------------ ingest

    def prepare(self, doc: Document, sections=None) -> list[Passage]:
        """Split a document into passages and tag them (no index write)."""
        passages = split_text(doc.text, doc.id, doc.title, self.split_options, sections=sections)
        inherited = [t for t in doc.tags if t]
        for p in passages:
            tags, evidence = self.tagger.tag(p.text)
            p.tags = sorted(set(tags) | set(inherited))
            p.evidence = evidence
            p.keywords = keywords(p.text)
        return passages

    @staticmethod
    def validate(doc: Document) -> Document:
        if not isinstance(doc.text, str) or not doc.text.strip():
            raise InvalidDocument("text: the document has no text")
        if not valid_document_id(doc.id):
            raise InvalidDocument(f"id: '{doc.id[:80]}' is not a valid document id "
                                  "(letters, digits, '.', '_', '-'; at most 200)")
        doc.title = (doc.title or "").strip() or doc.text.strip().splitlines()[0][:200]
        doc.tags = sorted({str(t).strip() for t in doc.tags if str(t).strip()})
        doc.ingested_at = doc.ingested_at or now_iso()
        return doc

    def ingest(self, items: Iterable[ReadResult | ReadError | Document], extra_tags: Iterable[str] = (),
               progress: Callable[[IngestReport], None] | None = None,
               workers: int | None = None) -> IngestReport:
        """Split, tag and index documents; commits every ``batch_size`` documents or
        ``batch_passages`` passages, so a crash loses at most the current batch (a few seconds
        of work; a Whoosh commit costs a segment, so fewer, larger ones index faster). Bad items
        are reported, the rest still land.

        ``workers`` processes split and tag while this one writes (default: ``self.workers``;
        0: all in-process); results and reports keep the input order either way."""
        return ingest_items(self, items, extra_tags, progress, self.workers if workers is None else workers)

    def _prepare_task(self, task) -> object:
        """A pipeline task: refusals pass through, a document becomes (record, passage dicts)."""
        kind, payload = task
        if kind == REFUSED:
            return payload
        doc, sections = payload.document, payload.sections
        passages = self.prepare(doc, sections)
        record = doc.to_dict()
        if sections is not None:  # even [], which turns heading detection off
            record["sections"] = [list(s) for s in sections]
        return record, [p.to_dict() for p in passages]

    def read_paths(self, paths: Iterable[str | os.PathLike]) -> Iterator[ReadResult | ReadError]:
        """Every document in these files and folders, and a ReadError for each that fails."""
        for path in iter_paths(paths):
            try:
                yield from read_path(path)
            except ReadError as exc:
                yield ReadError(f"{path}: {exc}")

    def ingest_paths(self, paths, extra_tags=(), progress=None) -> IngestReport:
        return self.ingest(self.read_paths(paths), extra_tags, progress)

    def ingest_bytes(self, data: bytes, filename: str = "", content_type: str = "",
                     title: str | None = None, doc_id: str | None = None, tags=()) -> IngestReport:
        return self.ingest(read_bytes(data, filename, content_type, title=title, doc_id=doc_id), tags)

    def add_document(self, doc: Document) -> IngestReport:
        """Ingest one document given as data (HTTP JSON); raises InvalidDocument when it is bad,
        its message starting with the field at fault (``text: ...``)."""
        report = self.ingest([doc])
        if report.refused:
            reason = report.refused[0][1]
            field_name = reason.partition(":")[0]
            raise InvalidDocument(reason if field_name in DOCUMENT_FIELDS else f"text: {reason}")
        return report

    def exists(self, document_id: str) -> bool:
        return valid_document_id(document_id) and self.index.get_document(document_id) is not None

    def ensure_sample(self) -> bool:
        """On an empty knowledge base, ingest the bundled sample; True if it did."""
        if self.index.stats()["documents"]:
            return False
        self.ingest_paths([SAMPLE_PATH])
        return True

    # ------------------------------------------------------------------ embeddings

    @property
    def suggester(self):
        if self._suggester is None:
            from .tag_suggestions import TagSuggester
            self._suggester = TagSuggester(self.embedder, self.taxonomy)
        return self._suggester

    def embed(self, items: list[tuple[dict, list[dict]]], progress: Callable[[int], None] | None = None) -> None:
        """Give every passage of these (document, passages) records its vector, and passages that
        no taxonomy phrase matched their ``suggested_tags``."""
        pairs = [(doc, p) for doc, passages in items for p in passages]
        texts = [embedding.passage_text(doc.get("title", ""), p.get("section", ""), p["text"]) for doc, p in pairs]
        vectors = self.embedder.encode(texts, progress)
        untagged = [i for i, (_, p) in enumerate(pairs) if not p.get("evidence")]
        suggestions = self.suggester.suggest(vectors[untagged]) if untagged else []
        for (_, p), vector in zip(pairs, vectors):
            p["vector"] = vector
        for i, suggested in zip(untagged, suggestions):
            pairs[i][1]["suggested_tags"] = suggested

    def _embedded_batches(self, items, progress=None):
        """The same (document, passages) records, embedded ``batch_size`` documents at a time."""
        chunk = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= self.batch_size:
                self.embed(chunk, progress)
                yield from chunk
                chunk = []
        if chunk:
            self.embed(chunk, progress)
            yield from chunk

    def with_query_vector(self, request: SearchRequest) -> SearchRequest:
        """Resolve the mode and, for semantic and hybrid, embed the query's words."""
        mode = request.mode or self.default_mode
        if mode not in SEARCH_MODES:
            raise SemanticUnavailable(f"unknown search mode '{mode}': expected one of {', '.join(SEARCH_MODES)}")
        if mode == "lexical":
            return dataclasses.replace(request, mode=mode, vector=None)
        request = dataclasses.replace(request, fusion=request.fusion or DEFAULT_FUSION)
        if not self.semantic:
            raise SemanticUnavailable(f"mode={mode}: {self.why_not_semantic()}")
        if not self.index.embedded_count():
            raise SemanticUnavailable(f"mode={mode}: no passage has an embedding yet; run kb rebuild "
                                      "(with the semantic extra installed) to embed them")
        # the words to embed: in words syntax the query as typed, else without its operators
        text = request.q.strip() if request.syntax == "words" else free_text(request.q)
        vector = self.embedder.encode_query(text) if text else None
        return dataclasses.replace(request, mode=mode, vector=vector)

    # ------------------------------------------------------------------ reading

    def search(self, request: SearchRequest) -> SearchResponse:
        response = self.index.search(self.with_query_vector(request))
        for hit in response.hits:
            hit["document"] = {"id": hit["document_id"], "title": hit.pop("document_title", "")}
        return response

    def get_passage(self, passage_id: str) -> dict | None:
        passage = self.index.passage_with_neighbours(passage_id)
        if passage is None:
            return None
        passage["document"] = {"id": passage["document_id"], "title": passage.pop("document_title", "")}
        return passage

    def get_document(self, document_id: str) -> dict | None:
        return self.index.document_with_passages(document_id)

    def list_documents(self, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        return self.index.list_documents(offset, limit)

    def delete(self, document_id: str) -> bool:
        return self.index.delete_document(document_id)

    def similar(self, passage_id: str, limit: int = 10, filters: Filters = Filters()) -> list[dict] | None:
        hits = (self.index.similar(passage_id, limit, filters, semantic=True) if self.semantic
                else self.index.similar(passage_id, limit, filters))
        for hit in hits or []:
            hit["document"] = {"id": hit["document_id"], "title": hit.pop("document_title", "")}
        return hits

    def suggest(self, q: str, limit: int = 5) -> dict:
        return self.index.suggest(q, limit)

    def tags(self) -> list[dict]:
        """Every taxonomy topic and every tag in use, with passage counts."""
        counts = self.index.tag_counts()
        out = []
        for topic in self.taxonomy.to_list():
            out.append({**topic, "count": counts.get(topic["tag"], 0)})
        known = {t["tag"] for t in out}
        for tag, count in counts.items():
            if tag not in known:
                out.append({"tag": tag, "label": tag, "description": "", "broader": [], "count": count})
        return out

    def stats(self) -> dict:
        stats = self.index.stats()
        stats["taxonomy"] = {"name": self.taxonomy.name, "version": self.taxonomy.version,
                             "topics": len(self.taxonomy.topics)}
        return stats

    def export(self, filters: Filters = Filters()) -> Iterator[dict]:
        return self.index.iter_passages(filters)

    def export_documents(self) -> Iterator[dict]:
        """Every stored document whole (JSON Lines of these is what ``kb ingest`` reads back)."""
        return self.index.iter_documents()

    def version(self) -> str:
        return self.index.version()

    # ------------------------------------------------------------------ rebuild

    def rebuild(self, progress=None, batch_size: int | None = None) -> int:
        """Re-split and re-tag every stored document into a new index, then switch to it."""
        documents = list(self.index.iter_documents())
        self.tagger  # built before any fork, so that workers inherit it
        tasks = ((PREPARE, ReadResult(document=Document.from_dict(data), sections=_stored_sections(data)))
                 for data in documents)

        def items():
            for _task, ok, outcome in Preparer(self._prepare_task, self.workers, weigh=task_chars).map(tasks):
                if not ok:
                    raise outcome
                yield outcome

        records = self._embedded_batches(items()) if self.embed_on_ingest else items()
        return self.index.rebuild(records, batch=batch_size or self.batch_size, progress=progress)


def _stored_sections(data: dict):
    sections = data.get("sections")
    return [tuple(s) for s in sections] if sections is not None else None
