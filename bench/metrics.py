"""Ranking metrics with trec_eval's definitions, and the test-collection layout they run on.

A collection is a folder of ``corpus.jsonl`` (``{"_id", "title", "text"}``), ``queries.jsonl``
(``{"_id", "text"}``) and ``qrels.tsv`` (optional header, then ``query-id \\t doc-id \\t score``;
score > 0 is relevant, and the score is the graded gain). Only queries with at least one relevant
document are evaluated, as BEIR and trec_eval's ``-c``-less default over judged queries do.
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Collection:
    path: Path
    queries: list[tuple[str, str]]          # (query id, text), judged queries only
    qrels: dict[str, dict[str, int]]        # query id -> {doc id: gain}

    @property
    def corpus(self) -> Path:
        return self.path / "corpus.jsonl"


def load_collection(path: str | Path) -> Collection:
    path = Path(path)
    qrels: dict[str, dict[str, int]] = {}
    with open(path / "qrels.tsv", encoding="utf-8") as f:
        for n, line in enumerate(f):
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 3 or (n == 0 and not _is_number(parts[2])):
                continue  # the header line, or a blank one
            qrels.setdefault(parts[0], {})[parts[1]] = int(float(parts[2]))
    queries = []
    with open(path / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                record = json.loads(line)
                qid = str(record["_id"])
                if any(g > 0 for g in qrels.get(qid, {}).values()):
                    queries.append((qid, record["text"]))
    return Collection(path=path, queries=queries, qrels=qrels)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    """nDCG@k, trec_eval's ``ndcg_cut``: gain / log2(rank + 1), ideal from all judged gains."""
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if gains.get(d, 0) > 0)
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], gains: dict[str, int], k: int = 100) -> float:
    """Recall@k, trec_eval's ``recall``: relevant documents in the top k over all relevant ones."""
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: dict[str, list[str]], collection: Collection) -> dict[str, float]:
    """Mean nDCG@10 and Recall@100 over the judged queries (a query with no answer counts 0)."""
    ndcg, recall = [], []
    for qid, _ in collection.queries:
        ranked = _unique(run.get(qid, []))
        ndcg.append(ndcg_at(ranked, collection.qrels[qid], 10))
        recall.append(recall_at(ranked, collection.qrels[qid], 100))
    return {"ndcg@10": statistics.fmean(ndcg) if ndcg else 0.0,
            "recall@100": statistics.fmean(recall) if recall else 0.0}


def _unique(ranked: list[str]) -> list[str]:
    """A document counts once, at its first rank (trec_eval sees a run as a set of doc ids)."""
    return list(dict.fromkeys(ranked))


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]
