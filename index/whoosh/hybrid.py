"""Semantic and hybrid ranking over one searcher: cosine similarity of stored passage vectors to
the query vector, fused with the BM25 ranking for ``hybrid``.

What counts as a match (and so ``total`` and the facets): in ``semantic`` mode every passage that
passes the filters and has a vector (every one gets a similarity); in ``hybrid`` mode those plus
the passages the words match. Negated parts of the query (``NOT x``, ``-x``) exclude in every
mode. Normalised fusion scales each ranking over the whole candidate set (``fused_rankings``); rank
fusion takes each down to ``DEPTH`` items, and candidates below both depths follow, ordered by
similarity. With ``group_by=document`` a document ranks by its best passage in
each ranking, the document rankings are fused, and the hit shown is the document's best passage
by passage-level fusion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from whoosh import query

from ..vectors import fusion
from ..vectors.store import VectorStore, fingerprint
from . import collect

DEPTH = 1000


@dataclass
class Embedded:
    """The passages of one searcher that have a current vector: docnums and their unit vectors."""

    docnums: np.ndarray
    matrix: np.ndarray
    position: dict[int, int]

    def __len__(self) -> int:
        return len(self.docnums)


def embedded(searcher, cache: collect.SearcherCache, store: VectorStore, model: str) -> Embedded:
    """Match live passages to stored vectors by id and content fingerprint (cached per searcher
    and per set of segments)."""
    table = store.load(model)
    key = ("embedded", model, table.generation)
    found = cache.values.get(key)
    if found is not None:
        return found
    reader = searcher.reader()
    docnums, rows = [], []
    for docnum in sorted(cache.docs(collect.PASSAGES)):
        fields = reader.stored_fields(docnum)
        row = table.lookup(fields["id"], fingerprint(fields.get("title", ""), fields.get("section", ""),
                                                     fields.get("text", "")))
        if row is not None:
            docnums.append(docnum)
            rows.append(row)
    matrix = table.matrix[rows] if rows else np.zeros((0, table.matrix.shape[1] if table.matrix.ndim == 2 else 0),
                                                      np.float32)
    result = Embedded(np.asarray(docnums, dtype=np.int64), np.ascontiguousarray(matrix),
                      {d: i for i, d in enumerate(docnums)})
    cache.values = {k: v for k, v in cache.values.items() if not (isinstance(k, tuple) and k[:1] == ("embedded",))}
    cache.values[key] = result
    return result


def live_fingerprints(searcher, cache: collect.SearcherCache) -> dict[str, str]:
    """id → fingerprint of every live passage (what compaction keeps)."""
    reader = searcher.reader()
    out = {}
    for docnum in cache.docs(collect.PASSAGES):
        f = reader.stored_fields(docnum)
        out[f["id"]] = fingerprint(f.get("title", ""), f.get("section", ""), f.get("text", ""))
    return out


def excluded(q, cache: collect.SearcherCache) -> set[int]:
    """Passages the query's top-level negations rule out: ``a -b`` and ``a NOT b`` (parsed as
    AndNot(a, b)), ``a AND NOT b`` (And([a, Not(b)])), ``NOT b``."""
    if isinstance(q, query.AndNot):
        return cache.docs(q.b) | excluded(q.a, cache)
    if isinstance(q, query.Not):
        return cache.docs(q.query)
    if isinstance(q, query.And):
        return set().union(*(cache.docs(c.query) for c in q.subqueries if isinstance(c, query.Not)))
    return set()


def similarities(emb: Embedded, vector, allowed: set[int]) -> list[tuple[int, float]]:
    """(docnum, cosine) for every allowed embedded passage, best first."""
    if not len(emb):
        return []
    position = emb.position
    idx = np.fromiter((position[d] for d in allowed if d in position), dtype=np.int64)
    if not len(idx):
        return []
    q = np.asarray(vector, dtype=np.float32).reshape(-1)
    if q.shape[0] != emb.matrix.shape[1]:
        raise ValueError(f"query vector has {q.shape[0]} dimensions, stored vectors {emb.matrix.shape[1]}")
    scores = emb.matrix[idx] @ q
    order = np.lexsort((emb.docnums[idx], -scores))
    docnums = emb.docnums[idx][order].tolist()
    return list(zip(docnums, scores[order].astype(float).tolist()))


def by_document(ranking, document_of) -> list[tuple[str, float]]:
    """A passage ranking collapsed to documents: each document at its best passage."""
    seen, out = set(), []
    for docnum, score in ranking:
        doc = document_of[docnum]
        if doc not in seen:
            seen.add(doc)
            out.append((doc, score))
    return out


def fused_rankings(lexical, dense, method: str) -> tuple[list, list]:
    """The rankings that take part in the fusion, and the floor of each (its lowest score over the
    whole candidate set). Normalised fusion scales BM25 from 0 (a passage the words do not match)
    and the vectors from the lowest cosine of every allowed passage: min-max within a top-k cut set
    the scale by whatever score sat at the cut. It takes the vectors' top DEPTH and, below it, the
    passages the words matched (the others would fuse below every one of those). Reciprocal rank
    fusion takes each ranking down to DEPTH."""
    if method == "normalized" and dense:
        words = {d for d, _ in lexical}
        vectors = dense[:DEPTH] + [pair for pair in dense[DEPTH:] if pair[0] in words]
        pairs = [(lexical, 0.0), (vectors, dense[-1][1])]
    else:
        pairs = [(lexical, 0.0 if method == "normalized" else None), (dense[:DEPTH], None)]
    pairs = [(r, floor) for r, floor in pairs if r]
    return [r for r, _ in pairs], [floor for _, floor in pairs]


def rank(searcher, cache, q, allowed: set[int], emb: Embedded, vector, mode: str, method: str,
         grouped: bool, deadline: float | None = None) -> tuple[set[int], list[tuple[int, float]], bool]:
    """(the matching passages, the ranked hits: passages, or each document's best passage, whether
    the lexical ranking was cut short by the time limit)."""
    allowed = allowed - excluded(q, cache)
    dense = similarities(emb, vector, allowed)
    candidates = {d for d, _ in dense}
    lexical: list[tuple[int, float]] = []
    partial = False
    if mode == "hybrid" and not isinstance(q, query.Every) and q is not query.NullQuery:
        matched = collect.matching(searcher, q, deadline) & allowed
        candidates |= matched
        if matched:
            lexical = collect.top_scored(searcher, q, allowed, min(len(matched), DEPTH), deadline)
            partial = getattr(lexical, "partial", False)
    rankings, floors = fused_rankings(lexical, dense, method)
    if mode == "hybrid":
        passage_scores = fusion.fuse(rankings, method, floors)
        ranked = fusion.ordered(passage_scores)
        ranked += [(d, 0.0) for d, _ in dense if d not in passage_scores]   # below both depths
        ranked += sorted((d, 0.0) for d in candidates - {d for d, _ in ranked})
    else:
        ranked = dense   # best first already
    if not grouped:
        return candidates, ranked, partial
    document_of = cache.document_of
    best, first = {}, {}
    for i, (docnum, score) in enumerate(ranked):
        doc = document_of[docnum]
        if doc not in best:
            best[doc], first[doc] = (docnum, score), i
    if mode != "hybrid":
        return candidates, list(best.values()), partial   # already best first
    doc_scores = fusion.fuse([by_document(r, document_of) for r in rankings], method, floors)
    order = sorted(best, key=lambda doc: (-doc_scores.get(doc, 0.0), first[doc]))
    return candidates, [(best[doc][0], doc_scores.get(doc, 0.0)) for doc in order], partial
