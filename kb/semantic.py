"""Embeddings in one knowledge base: whether they are on (and why not), passage vectors and tag
suggestions at ingest, the search mode and the query's vector at search time."""
from __future__ import annotations

import dataclasses
import logging
from typing import Callable, Iterable, Iterator

from index import SearchIndex, SearchRequest, free_text

from . import embedding
from .embedding import Embedder, SemanticUnavailable
from .settings import SEARCH_MODES, Settings
from .tagging import Taxonomy

# Normalised score fusion beats reciprocal rank fusion on SciFact and CACM (0.7345 to 0.7166 and
# 0.5515 to 0.5209 nDCG@10, bench/RELEVANCE.md) with nothing fitted to either: equal weights, each
# ranking scaled over the whole candidate set (index.whoosh.hybrid.fused_rankings).
DEFAULT_FUSION = "normalized"
log = logging.getLogger("kb")

Record = tuple[dict, list[dict]]


def wanted(settings: Settings) -> bool:
    """Whether this knowledge base computes embeddings (before its index is opened: the index
    stores vectors only when they are)."""
    return embedding.enabled(settings.semantic)


class Semantics:
    def __init__(self, settings: Settings, index: SearchIndex, taxonomy: Callable[[], Taxonomy],
                 embedder: Embedder | None = None):
        self.setting = settings.semantic
        self.on = wanted(settings)
        self._off_reason = ""   # why not, when the engine is the reason
        if self.on and index.vector_model is None:
            self.on = False     # an engine without vector support (the sphinx backend)
            self._off_reason = "semantic search needs the whoosh backend"
        self.embed_on_ingest = self.on
        self.embedder = (embedder or Embedder()) if self.on else None
        self.index = index
        self._taxonomy = taxonomy
        self._suggester = None
        self.default_mode = self._default_mode(settings.search_mode)

    def why_not(self) -> str:
        return self._off_reason or embedding.why_unavailable(self.setting)

    def _default_mode(self, mode: str) -> str:
        if mode != "lexical" and not self.on:
            log.warning("KB_SEARCH_MODE=%s ignored: %s", mode, self.why_not())
            return "lexical"
        return mode

    # ------------------------------------------------------------------ ingest

    @property
    def suggester(self):
        if self._suggester is None:
            from .tagging.suggestions import TagSuggester
            self._suggester = TagSuggester(self.embedder, self._taxonomy())
        return self._suggester

    def forget_topics(self) -> None:
        """The taxonomy changed: suggest its topics from now on."""
        self._suggester = None

    def embed(self, items: list[Record], progress: Callable[[int], None] | None = None) -> None:
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

    def embedded_batches(self, items: Iterable[Record], batch: int,
                         progress: Callable[[int], None] | None = None) -> Iterator[Record]:
        """The same records, embedded ``batch`` documents at a time."""
        chunk: list[Record] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= batch:
                self.embed(chunk, progress)
                yield from chunk
                chunk = []
        if chunk:
            self.embed(chunk, progress)
            yield from chunk

    # ------------------------------------------------------------------ search

    def with_query_vector(self, request: SearchRequest) -> SearchRequest:
        """Resolve the mode and, for semantic and hybrid, embed the query's words."""
        mode = request.mode or self.default_mode
        if mode not in SEARCH_MODES:
            raise SemanticUnavailable(f"unknown search mode '{mode}': expected one of {', '.join(SEARCH_MODES)}")
        if mode == "lexical":
            return dataclasses.replace(request, mode=mode, vector=None)
        request = dataclasses.replace(request, fusion=request.fusion or DEFAULT_FUSION)
        if not self.on:
            raise SemanticUnavailable(f"mode={mode}: {self.why_not()}")
        if not self.index.embedded_count():
            raise SemanticUnavailable(f"mode={mode}: no passage has an embedding yet; run kb rebuild "
                                      "(with the semantic extra installed) to embed them")
        # the words to embed: in words syntax the query as typed, else without its operators
        text = request.q.strip() if request.syntax == "words" else free_text(request.q)
        vector = self.embedder.encode_query(text) if text else None
        return dataclasses.replace(request, mode=mode, vector=vector)
