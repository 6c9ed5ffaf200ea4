"""kb's ranking metrics (kb.evaluation, which bench/relevance.py reports through the API) agree with
trec_eval (pytrec_eval), and the relevance benchmark runs end to end (real ``kb ingest``, real
``kb serve``, HTTP) on a small collection."""
from __future__ import annotations

import random
import subprocess
import sys

import pytest
import pytrec_eval

from helpers import DATA, ROOT
from kb import evaluation

MINI = DATA / "minicollection"


def trec(qrels, run):
    scored = {q: {d: float(len(ds) - i) for i, d in enumerate(ds)} for q, ds in run.items()}
    out = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"}).evaluate(scored)
    return out


def test_metrics_agree_with_trec_eval_on_random_runs():
    rng = random.Random(4)
    docs = [f"d{i}" for i in range(300)]
    for _ in range(50):
        qrels = {f"q{n}": {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 25))}
                 for n in range(5)}
        qrels = {q: g for q, g in qrels.items() if any(v > 0 for v in g.values())}
        run = {q: rng.sample(docs, rng.randint(1, 150)) for q in qrels}
        expected = trec(qrels, run)
        mrr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(
            {q: {d: float(len(ds) - i) for i, d in enumerate(ds[:100])} for q, ds in run.items()})
        for q in qrels:
            assert evaluation.ndcg_at(run[q], qrels[q]) == pytest.approx(expected[q]["ndcg_cut_10"], abs=1e-9)
            assert evaluation.recall_at(run[q], qrels[q]) == pytest.approx(expected[q]["recall_100"], abs=1e-9)
            assert evaluation.reciprocal_rank(run[q], qrels[q]) == pytest.approx(mrr[q]["recip_rank"], abs=1e-9)


def test_collection_loading_and_mean_over_judged_queries():
    queries = evaluation.read_queries((MINI / "queries.jsonl").read_text(encoding="utf-8"))
    qrels = evaluation.read_qrels((MINI / "qrels.tsv").read_text(encoding="utf-8"))
    judged = evaluation.judgments(queries, qrels)
    assert [q for q, _ in judged.queries] == ["1", "2", "3"]     # 4 has no judgment
    assert judged.qrels["1"] == {"101": 2, "102": 1}
    perfect = evaluation.score_run({"1": ["101", "102"], "2": ["103", "104"], "3": ["105"]}, judged)
    assert (perfect["ndcg@10"], perfect["recall@100"], perfect["mrr"]) == (1.0, 1.0, 1.0)
    half = evaluation.score_run({"1": ["102", "101"]}, judged)   # 2 and 3 unanswered: 0
    assert half["recall@100"] == pytest.approx(1 / 3)
    assert half["ndcg@10"] == pytest.approx((1 / 1 + 2 / 1.5849625007211562) / (2 + 1 / 1.5849625007211562) / 3)


def test_relevance_bench_runs_over_http():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "relevance.py"), "--collection", str(MINI),
                             "--mode", "lexical"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "minicollection (3 judged queries, 5 relevant judgments)" in out
    row = next(line for line in out.splitlines() if line.startswith("minicollection kb lexical"))
    ndcg, recall, mrr = map(float, row.split()[3:6])
    assert ndcg > 0.8 and recall == pytest.approx(0.8333, abs=1e-4) and mrr > 0.6
