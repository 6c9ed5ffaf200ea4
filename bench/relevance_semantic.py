"""Relevance of kb's search modes on a BEIR-style collection, through the HTTP API.

    python bench/relevance_semantic.py                       # SciFact from ../shared/eval
    python bench/relevance_semantic.py --home /tmp/sf-kb     # keep (or reuse) the ingested home
    python bench/relevance_semantic.py --collection DIR      # any corpus.jsonl/queries.jsonl/qrels.tsv

Ingests ``corpus.jsonl`` with the real ``kb ingest`` (embeddings on; timed, and once more without
them for the comparison), starts ``kb serve``, sends every judged query to
``GET /api/v1/search?group_by=document&limit=100&mode=...`` and scores the ranked documents with
nDCG@10 and Recall@100 as trec_eval defines them (graded gains = the qrels score, as BEIR
computes them). Prints one row per mode beside the BM25 baselines of ``BASELINES.md``, and the
query latency of each mode (HTTP round trip, one query at a time, warm). Needs the semantic extra.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))
from conftest import LiveServer  # noqa: E402  (the same real server the end-to-end tests use)

KB_BIN = Path(sys.executable).with_name("kb")
RUNS = {   # name: query parameters
    "lexical": {"mode": "lexical"},
    "semantic": {"mode": "semantic"},
    "hybrid-rrf": {"mode": "hybrid", "fusion": "rrf"},
    "hybrid-normalized": {"mode": "hybrid", "fusion": "normalized"},
}


def load_collection(folder: Path):
    queries = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            queries[str(obj["_id"])] = obj["text"]
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            qid, docid, score = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[docid] = int(score)
    return {q: queries[q] for q in qrels if q in queries}, qrels


def query_text(text: str) -> str:
    """The claim as plain words: query-syntax characters blanked out, as the baselines did."""
    return re.sub(r"[^\w\s']", " ", text).replace("'", " ").lower().strip()


def ndcg_at(ranked: list[str], judged: dict[str, int], k: int = 10) -> float:
    dcg = sum(judged.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], judged: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, g in judged.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def ingest(corpus: Path, home: Path, embed: bool) -> tuple[float, dict]:
    env = {**os.environ, "KB_SEMANTIC": "1" if embed else "0"}
    started = time.perf_counter()
    done = subprocess.run([str(KB_BIN), "ingest", str(corpus), "--home", str(home),
                           "--embed" if embed else "--no-embed"], env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):   # 2: some records refused (said on stderr), the rest landed
        sys.exit(f"kb ingest failed with exit code {done.returncode}")
    stats = json.loads(subprocess.run([str(KB_BIN), "stats", "--home", str(home)], env=env, check=True,
                                      capture_output=True, text=True).stdout)
    return seconds, stats


def run(server: LiveServer, queries: dict, qrels: dict, params: dict) -> dict:
    ndcgs, recalls, latencies = [], [], []
    for qid, text in queries.items():
        started = time.perf_counter()
        r = server.get("/api/v1/search", params={"q": query_text(text), "group_by": "document",
                                                  "limit": 100, "highlight": "false", **params})
        latencies.append((time.perf_counter() - started) * 1000)
        r.raise_for_status()
        ranked = [hit["document"]["id"] for hit in r.json()["hits"]]
        ndcgs.append(ndcg_at(ranked, qrels[qid]))
        recalls.append(recall_at(ranked, qrels[qid]))
    latencies.sort()
    return {"ndcg10": statistics.fmean(ndcgs), "recall100": statistics.fmean(recalls),
            "ms_mean": statistics.fmean(latencies), "ms_p50": latencies[len(latencies) // 2],
            "ms_p95": latencies[int(len(latencies) * 0.95) - 1]}


def baselines(collection: str) -> list[tuple[str, str, str]]:
    """(engine, nDCG@10, R@100) of table 1 in BASELINES.md, when it is there."""
    path = SHARED / "eval" / "BASELINES.md"
    if not path.exists():
        return []
    rows, table = [], 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## Table"):
            table += 1
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if table == 1 and len(cells) >= 4 and cells[0] == collection:
            rows.append((cells[1], cells[2], cells[3]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", type=Path, default=SHARED / "eval" / "scifact")
    parser.add_argument("--home", type=Path, help="ingest here (reused when it already holds an index)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of: {', '.join(RUNS)}")
    parser.add_argument("--no-lexical-ingest", action="store_true",
                        help="skip the ingest without embeddings (timed for comparison)")
    args = parser.parse_args()

    corpus = args.collection / "corpus.jsonl"
    queries, qrels = load_collection(args.collection)
    home = args.home or Path(tempfile.mkdtemp(prefix="kb-relevance-")) / "kb"
    if not (home / "index" / "CURRENT").exists():
        seconds, stats = ingest(corpus, home, embed=True)
        print(f"ingest with embeddings: {stats['documents']} documents, {stats['passages']} passages "
              f"({stats.get('embedded', 0)} embedded) in {seconds:.1f} s = {stats['passages'] / seconds:.1f} "
              f"passages/s; index {stats['index_bytes'] / 1e6:.1f} MB + vectors "
              f"{stats.get('vectors_bytes', 0) / 1e6:.1f} MB", flush=True)
    if not args.no_lexical_ingest:
        with tempfile.TemporaryDirectory() as tmp:
            seconds, stats = ingest(corpus, Path(tmp) / "kb", embed=False)
            print(f"ingest without embeddings: {stats['passages']} passages in {seconds:.1f} s = "
                  f"{stats['passages'] / seconds:.1f} passages/s", flush=True)

    server = LiveServer(home, env={"KB_SEMANTIC": "1"}, workers=1)
    try:
        server.wait_semantic_ready()
        server.get("/api/v1/search", params={"q": "warm up", "mode": "hybrid"}).raise_for_status()
        print(f"\n{args.collection.name}: {len(queries)} judged queries, through HTTP, group_by=document\n")
        print("| run | nDCG@10 | R@100 | query ms mean | p50 | p95 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in args.runs.split(","):
            m = run(server, queries, qrels, RUNS[name])
            print(f"| kb {name} | {m['ndcg10']:.4f} | {m['recall100']:.4f} | {m['ms_mean']:.1f} | "
                  f"{m['ms_p50']:.1f} | {m['ms_p95']:.1f} |", flush=True)
        for engine, ndcg, recall in baselines(args.collection.name):
            print(f"| BM25 baseline: {engine} | {ndcg} | {recall} | | | |")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
