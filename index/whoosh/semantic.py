"""What the Whoosh index does with passage embeddings: store them with each batch, rank by them
(``mode=semantic|hybrid``), find similar passages by them, count them.

A mixin of ``WhooshIndex``, inert while ``vector_model`` is None (embeddings off or the
``semantic`` extra absent).
"""
from __future__ import annotations

from pathlib import Path

from ..base import Unsupported
from ..vectors.store import VectorStore, fingerprint
from . import collect, hybrid

VECTORS_DIR = "vectors"


class VectorSupport:
    vector_model: str | None = None

    def _vectors_at(self, directory: Path):
        """One store object per index directory, so that its loaded table is kept between queries."""
        path = Path(directory) / VECTORS_DIR
        stores = self.__dict__.setdefault("_vector_stores", {})
        if path not in stores:
            stores.clear()   # the live directory changed (a rebuild): the old store is done with
            stores[path] = VectorStore(path)
        return stores[path]

    # ------------------------------------------------------------------ writing

    def _write_vectors(self, directory: Path, items) -> None:
        """Store the vectors that come with a batch, before its Whoosh commit (see index.vectors)."""
        if not self.vector_model:
            return
        ids, keys, vectors = [], [], []
        for doc, passages in items:
            for p in passages:
                if p.get("vector") is not None:
                    ids.append(p["id"])
                    keys.append(fingerprint(doc.get("title", ""), p.get("section", ""), p["text"]))
                    vectors.append(p["vector"])
        if ids:
            self._vectors_at(directory).add(ids, keys, vectors, self.vector_model)

    def _compact_vectors(self, ix, directory: Path) -> None:
        """After a commit: fold many small segments into one of live vectors only."""
        if not self.vector_model:
            return
        store = self._vectors_at(directory)
        if store.needs_compaction():
            with ix.searcher() as s:
                store.compact(hybrid.live_fingerprints(s, collect.SearcherCache(s)), self.vector_model)

    # ------------------------------------------------------------------ reading

    def _embedded(self, cache=None):
        cache = cache or self._view()
        return hybrid.embedded(cache.searcher, cache, self._vectors_at(cache.values["dir"]), self.vector_model)

    def embedded_count(self) -> int:
        """How many live passages have a current vector (0 while embeddings are off)."""
        return len(self._embedded()) if self.vector_model else 0

    def _semantic_rank(self, cache, q, allowed, request, deadline=None):
        if not self.vector_model:
            raise Unsupported("embeddings are off for this index")
        emb = self._embedded(cache)
        return hybrid.rank(cache.searcher, cache, q, allowed, emb, request.vector, request.mode,
                           request.fusion or "normalized", request.group_by == "document", deadline)

    def _similar_by_vector(self, cache, docnum: int, limit: int, allowed: set[int]):
        """(docnum, cosine) of the passages nearest this one, or None when it has no vector."""
        if not self.vector_model:
            return None
        emb = self._embedded(cache)
        row = emb.position.get(docnum)
        if row is None:
            return None
        return hybrid.similarities(emb, emb.matrix[row], allowed)[:limit]

    def _vector_stats(self, cache) -> dict:
        if not self.vector_model:
            return {}
        return {"embedded": len(self._embedded(cache)),
                "vectors_bytes": self._vectors_at(cache.values["dir"]).nbytes(), "vector_model": self.vector_model}
