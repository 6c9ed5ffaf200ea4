"""BM25 with the statistics of the passages alone.

Whoosh's BM25F takes N and the average field length over *every* record in the index. kb keeps a
stored-only record per document beside its passages (and deleted records linger until a merge),
so Whoosh would halve the average passage length (every passage looks twice as long as it is,
and length normalisation overshoots) and inflate N. Its idf is also Whoosh's own
``log(N / (df + 1)) + 1`` rather than BM25's. This model uses the textbook (Lucene/Anserini)
formula over the passages only:

    idf = ln(1 + (N - df + 0.5) / (df + 0.5))
    tf part = tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl))

with N the number of passages and avgdl the field's total length over N.
"""
from __future__ import annotations

from math import log

from whoosh import scoring


class PassageBM25(scoring.WeightingModel):
    """Okapi BM25 (k1, b) whose collection statistics count passages only."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, kind_field: str = "kind", passage_kind: str = "p"):
        self.k1 = k1
        self.b = b
        self.kind = (kind_field, passage_kind)

    def supports_block_quality(self):
        return True

    def passage_count(self, searcher) -> int:
        parent = searcher.get_parent()
        key = ("passage_count",)
        cache = parent.__dict__.setdefault("_kb_stats", {})
        if key not in cache:
            cache[key] = parent.reader().doc_frequency(*self.kind) or parent.doc_count_all() or 1
        return cache[key]

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        n = self.passage_count(parent)
        df = parent.doc_frequency(fieldname, text)
        return log(1 + (n - df + 0.5) / (df + 0.5))

    def avg_length(self, searcher, fieldname) -> float:
        parent = searcher.get_parent()
        return (parent.field_length(fieldname) / self.passage_count(parent)) or 1.0

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return PassageBM25Scorer(searcher, fieldname, text, self)


class PassageBM25Scorer(scoring.WeightLengthScorer):
    def __init__(self, searcher, fieldname, text, model: PassageBM25):
        parent = searcher.get_parent()
        self.idf = parent.idf(fieldname, text)   # the searcher caches model.idf()
        self.avgfl = model.avg_length(searcher, fieldname)
        self.k1, self.b = model.k1, model.b
        self.setup(searcher, fieldname, text)

    def _score(self, weight, length):
        norm = self.k1 * ((1 - self.b) + self.b * length / self.avgfl)
        return self.idf * weight * (self.k1 + 1) / (weight + norm)
