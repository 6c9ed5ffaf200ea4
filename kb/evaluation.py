"""Judged queries against a knowledge base: how good its ranking is on the user's own questions.

Queries come as BEIR's ``queries.jsonl`` (``{"_id", "text"}`` a line); judgments (qrels) as BEIR's
``qrels.tsv`` (optional header, then ``query-id \\t doc-or-passage-id \\t score``) or JSON Lines
(``{"query_id", "id", "score"}``; ``corpus_id``, ``document_id`` or ``passage_id`` name the judged
item too). A score above 0 is relevant and is its graded gain. Only queries with a relevant item are
evaluated (as trec_eval and BEIR do). Metrics use trec_eval's definitions: nDCG@10 (``ndcg_cut``),
recall@100, and MRR (reciprocal rank of the first relevant item in the top 100).
"""
from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field

from index import SearchRequest

from .semantic import DEFAULT_FUSION

DEPTH = 100               # items ranked per query
MAX_QUERIES = 10_000      # judged queries one evaluation may run
EVAL_GROUPS = ("document", "passage")


class EvaluationError(ValueError):
    """Queries or judgments that cannot be read; the message says which line."""


@dataclass
class Judgments:
    queries: list[tuple[str, str]]                                # (query id, text), judged only
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)  # query id -> {item id: gain}


def read_queries(text: str) -> dict[str, str]:
    """BEIR's queries.jsonl: query id -> text."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            qid, query = record.get("_id", record.get("id")), record["text"]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EvaluationError(f"queries line {n}: expected {{\"_id\", \"text\"}}") from None
        if qid is None or not isinstance(query, str):
            raise EvaluationError(f"queries line {n}: expected {{\"_id\", \"text\"}}")
        out[str(qid)] = query
    return out


def read_qrels(text: str) -> dict[str, dict[str, int]]:
    """BEIR's qrels.tsv, or JSON Lines (told apart by the first non-blank character)."""
    qrels: dict[str, dict[str, int]] = {}
    lines = text.splitlines()
    as_json = text.lstrip().startswith("{")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            if as_json:
                record = json.loads(line)
                item = next(record[k] for k in ("id", "corpus_id", "document_id", "passage_id", "doc_id")
                            if k in record)
                qid, score = record.get("query_id", record.get("query-id")), record.get("score", 1)
            else:
                parts = line.rstrip("\r\n").split("\t")
                if n == 1 and not _is_number(parts[-1]):
                    continue   # the header
                qid, item, score = parts[0], parts[-2], parts[-1]   # trec's 4-column form too
            qrels.setdefault(str(qid), {})[str(item)] = int(float(score))
        except (ValueError, KeyError, IndexError, StopIteration, TypeError, AttributeError):
            raise EvaluationError(f"qrels line {n}: expected query-id, item id and score") from None
    return qrels


def judgments(queries: dict[str, str], qrels: dict[str, dict[str, int]]) -> Judgments:
    judged = [(qid, text) for qid, text in queries.items() if any(g > 0 for g in qrels.get(qid, {}).values())]
    if not judged:
        raise EvaluationError("no query has a relevant judgment (do the query ids of the qrels match?)")
    if len(judged) > MAX_QUERIES:
        raise EvaluationError(f"{len(judged)} judged queries; the limit is {MAX_QUERIES}")
    return Judgments(judged, qrels)


def ndcg_at(ranked: list[str], gains: dict[str, int], k: int = 10) -> float:
    dcg = sum(gains.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]) if gains.get(d, 0) > 0)
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], gains: dict[str, int], k: int = DEPTH) -> float:
    relevant = {d for d, g in gains.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def reciprocal_rank(ranked: list[str], gains: dict[str, int], k: int = DEPTH) -> float:
    return next((1.0 / (i + 1) for i, d in enumerate(ranked[:k]) if gains.get(d, 0) > 0), 0.0)


def score_run(run: dict[str, list[str]], judged: Judgments) -> dict:
    """Mean and per-query figures of one ranking (a query with no answer counts 0)."""
    per_query = {}
    for qid, _ in judged.queries:
        ranked, gains = list(dict.fromkeys(run.get(qid, []))), judged.qrels[qid]
        per_query[qid] = {"ndcg@10": ndcg_at(ranked, gains), "recall@100": recall_at(ranked, gains),
                          "mrr": reciprocal_rank(ranked, gains)}
    means = {m: statistics.fmean(q[m] for q in per_query.values()) for m in ("ndcg@10", "recall@100", "mrr")}
    return {**means, "queries": per_query}


def evaluate(search, judged: Judgments, modes: list[str], group_by: str) -> dict:
    """Run every judged query in every mode through ``search(q, mode) -> [item ids]`` and score it."""
    report = {"group_by": group_by, "queries": len(judged.queries),
              "judgments": sum(1 for q, _ in judged.queries for g in judged.qrels[q].values() if g > 0),
              "modes": {}}
    for mode in modes:
        run, took = {}, []
        for qid, text in judged.queries:
            started = time.perf_counter()
            run[qid] = search(text, mode)
            took.append((time.perf_counter() - started) * 1000)
        scored = score_run(run, judged)
        for (qid, _), ms in zip(judged.queries, took):
            scored["queries"][qid]["query_ms"] = round(ms, 2)
        scored["query_ms_mean"] = statistics.fmean(took)
        scored["query_ms_p95"] = sorted(took)[min(len(took) - 1, int(0.95 * len(took)))]
        report["modes"][mode] = scored
    return report


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class OverTime(EvaluationError):
    """An evaluation that would hold its caller (an HTTP worker) past its time budget."""


def run(kb, judged: Judgments, modes, group_by: str = "document", syntax: str = "words",
        fusion: str | None = None, budget: float | None = None) -> dict:
    """Each mode's figures on a knowledge base (``KnowledgeBase.evaluate``): every query searched
    through the knowledge base's own ``search``, as a user would, top ``DEPTH`` (``fusion``: how
    hybrid fuses, the default when None). ``budget``: seconds it may take, else OverTime (an HTTP
    request must not hold its worker until the worker is killed)."""

    if group_by not in EVAL_GROUPS:
        raise EvaluationError(f"group_by: '{group_by}' is not one of document, passage")
    deadline = None if budget is None else time.monotonic() + budget
    searched = 0

    def ranked(q: str, mode: str) -> list[str]:
        nonlocal searched
        if deadline is not None and time.monotonic() > deadline:
            raise OverTime(f"the evaluation ran past {budget:g} s after {searched} of "
                           f"{len(judged.queries) * len(modes)} searches: send fewer queries per request "
                           "(KB_HTTP_EVAL_TIME), or run `kb eval`, which has no limit")
        searched += 1
        request = SearchRequest(q=q, limit=DEPTH, highlight=False, facets=False, syntax=syntax,
                                group_by="document" if group_by == "document" else None, mode=mode,
                                fusion=fusion if mode == "hybrid" else None)
        hits = kb.search(request).hits
        return [h["document_id"] if group_by == "document" else h["id"] for h in hits]

    report = evaluate(ranked, judged, list(dict.fromkeys(modes)), group_by)
    if "hybrid" in report["modes"]:
        report["fusion"] = fusion or DEFAULT_FUSION
    return report
