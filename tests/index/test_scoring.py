"""PassageBM25: textbook BM25 over the passages, whatever else the index holds."""
from __future__ import annotations

import math

import pytest

from index.base import SearchRequest
from index.whoosh.engine import WhooshIndex


def record(doc_id, texts):
    doc = {"id": doc_id, "title": "", "text": " ".join(texts), "source": "", "tags": [], "metadata": {},
           "ingested_at": ""}
    passages = [{"id": f"{doc_id}:{n}", "document_id": doc_id, "ordinal": n, "section": "", "text": t,
                 "start": 0, "end": len(t), "tags": [], "keywords": [], "evidence": []}
                for n, t in enumerate(texts, 1)]
    return doc, passages


def bm25(tf, dl, avgdl, n, df, k1=1.2, b=0.65):
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))


def test_scores_are_textbook_bm25_over_passages(tmp_path):
    ix = WhooshIndex(tmp_path / "ix")
    ix.replace_documents([record("a", ["zebra zebra lion", "lion tiger bear wolf"]),
                          record("b", ["zebra fox", "owl owl owl owl owl owl"])])
    # content is "title\nsection\ntext" with empty title and section: lengths are the text's words
    avgdl = (3 + 4 + 2 + 6) / 4
    hits = {h["id"]: h["score"] for h in ix.search(SearchRequest(q="zebra", limit=10)).hits}
    assert hits["a:1"] == pytest.approx(bm25(2, 3, avgdl, 4, 2), rel=0.03)   # Whoosh stores lengths in a byte
    assert hits["b:1"] == pytest.approx(bm25(1, 2, avgdl, 4, 2), rel=0.03)
    assert hits["a:1"] > hits["b:1"]
    # Whoosh's own BM25F would count the 2 document records in N and halve avgdl
    assert hits["a:1"] != pytest.approx(bm25(2, 3, avgdl / 1.5, 6, 2), rel=0.03)
