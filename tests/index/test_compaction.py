"""Compaction: an index fed by small writes (or made by an older kb) is merged as a bulk load would
merge it and every segment rewritten by the streaming merge, one commit a step; searches answer
the same before and after, and a second run has nothing to do."""
from __future__ import annotations

from helpers.records import batch, live_counts, positive, recount
from index.base import SearchRequest
from index.whoosh import flat_postings, merging
from index.whoosh.engine import WhooshIndex

QUERIES = ["fisheries", "version", '"version 2"', "fisheries OR quota", "document"]


def sizes(ix: WhooshIndex) -> list[int]:
    return sorted(r.doc_count() for r, _ in ix.searcher().reader().leaf_readers())


def answers(ix: WhooshIndex, scores: bool = True) -> list:
    found = []
    for q in QUERIES:
        r = ix.search(SearchRequest(q=q, limit=100))
        found.append((r.total, sorted((h["id"], h["score"] if scores else 0) for h in r.hits)))   # ties: by docnum
    return found


def test_compaction_merges_as_a_bulk_load_would_and_rewrites_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(merging, "FACTOR", 3)
    monkeypatch.setattr(merging, "MAX_MERGED", 70)   # three segments of 30 records pass it, two do not
    ix = WhooshIndex(tmp_path / "kb")
    for n in range(5):
        ix.replace_documents(batch(n * 10, 10))       # single commits: the whole tier or nothing
    ix.replace_documents(batch(0, 5, version=2))      # deletions in the first segment
    assert sizes(ix) == [15, 15, 30, 30, 30, 30]        # live records
    before = answers(ix, scores=False)
    steps = []
    counts = ix.compact(steps.append)
    # 15 + 15 + 30 (all three fit under the cap), then 30 + 30; the last 30 rewritten alone
    assert counts == {"segments_before": 6, "segments_after": 3, "merged": 2, "rewritten": 1}
    assert steps[-1] == counts and len(steps) == 3
    assert sizes(ix) == [30, 60, 60]
    assert ix.searcher().reader().doc_count_all() == 150   # the deleted records dropped
    ix_ = ix._index()
    assert all(flat_postings.written(ix_.storage, seg) for seg in ix_._segments())
    assert answers(ix, scores=False) == before     # the same hits (their scores: without the deleted records)
    assert positive(live_counts(ix).passages) == positive(recount(ix).passages)   # the word list kept
    assert ix.compact() == {"segments_before": 3, "segments_after": 3, "merged": 0, "rewritten": 0}


def test_compaction_keeps_every_score_where_nothing_was_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(merging, "FACTOR", 3)
    monkeypatch.setattr(merging, "MAX_MERGED", 70)
    ix = WhooshIndex(tmp_path / "kb")
    for n in range(4):
        ix.replace_documents(batch(n * 10, 10))
    before = answers(ix)
    assert ix.compact()["segments_after"] == 2
    assert answers(ix) == before   # bit for bit


def test_an_empty_index_has_nothing_to_compact(tmp_path):
    ix = WhooshIndex(tmp_path / "kb")
    ix.replace_documents(batch(0, 1))
    ix.delete_document("d0")
    assert ix.compact()["merged"] == 0
