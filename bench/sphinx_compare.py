"""Both backends side by side, through the real path: SciFact ingested by `kb ingest` into the
embedded Whoosh index and into a local Sphinx cluster (`kb cluster start`), each served by
`kb serve`, every judged claim sent over HTTP. Prints nDCG@10 and Recall@100 (document level,
`group_by=document&limit=100`) beside SQLite FTS5 on the same passages in this process, and query
latency (relevance pass, and a typical `limit=10` search with snippets and facets), interleaved
query by query so that both backends see the same machine load.

    .venv/bin/python bench/sphinx_compare.py [--shards 2] [--replicas 2] [--queries 300]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the real packages first, then the test helpers

from helpers import KB_BIN  # noqa: E402
from helpers.servers import LiveServer, SphinxCluster  # noqa: E402

COLLECTION = ROOT.parent / "shared" / "eval" / "scifact"


def load(collection: Path, limit: int | None):
    qrels: dict[str, dict[str, int]] = {}
    for line in (collection / "qrels.tsv").read_text().splitlines()[1:]:
        qid, doc, score = line.split("\t")
        if int(score) > 0:
            qrels.setdefault(qid, {})[doc] = int(score)
    queries = [json.loads(line) for line in (collection / "queries.jsonl").read_text().splitlines()]
    queries = [q for q in queries if q["_id"] in qrels]
    return queries[:limit] if limit else queries, qrels


def words(text: str) -> str:
    """A claim as plain words: query syntax characters blanked, lowercased (no AND/OR/NOT)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text).lower().split())


def ndcg10(ranked: list[str], relevant: dict[str, int]) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def recall100(ranked: list[str], relevant: dict[str, int]) -> float:
    return len(set(ranked[:100]) & set(relevant)) / len(relevant)


def ingest(home: Path, corpus: Path, env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([str(KB_BIN), "ingest", str(corpus), "--home", str(home)], capture_output=True,
                          text=True, env={**os.environ, **env})
    took = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"kb ingest failed: {done.stderr[-500:]}")
    return took, next(line for line in done.stdout.splitlines() if line.startswith("ingested"))


class Fts5:
    """SQLite FTS5 over the same passages (`kb export`), porter tokenizer, bm25 order."""

    def __init__(self, home: Path, env: dict):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE VIRTUAL TABLE p USING fts5(doc UNINDEXED, content, tokenize='porter unicode61')")
        out = subprocess.run([str(KB_BIN), "export", "--home", str(home)], capture_output=True, text=True,
                             env={**os.environ, **env}, check=True).stdout
        rows = [json.loads(line) for line in out.splitlines()]
        self.db.executemany("INSERT INTO p VALUES (?, ?)", [  # what kb indexes: title, section, text
            (r["document_id"], f"{r.get('document_title', '')}\n{r.get('section', '')}\n{r['text']}") for r in rows])

    def search(self, q: str) -> list[str]:
        terms = " OR ".join(f'"{w}"' for w in dict.fromkeys(q.split()))
        if not terms:
            return []
        ranked: list[str] = []
        for (doc,) in self.db.execute("SELECT doc FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT 400", (terms,)):
            if doc not in ranked:
                ranked.append(doc)
        return ranked[:100]


def timed(fn, *args):
    started = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - started) * 1000


def http_search(server: LiveServer, params: dict) -> list[str]:
    r = server.get("/api/v1/search", params=params)
    if r.status_code != 200:
        raise SystemExit(f"{server.url}: {r.status_code} {r.text[:300]}")
    body = r.json()
    if body.get("partial"):
        raise SystemExit("a shard did not answer: the figures would be wrong")
    return [h["document"]["id"] for h in body["hits"]]


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    return f"mean {statistics.mean(ms):6.1f}  p50 {ms[len(ms) // 2]:6.1f}  p95 {ms[int(0.95 * (len(ms) - 1))]:6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=COLLECTION)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--queries", type=int, default=None, help="only the first N judged queries")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of each kb serve")
    args = parser.parse_args()
    queries, qrels = load(args.collection, args.queries)
    corpus = args.collection / "corpus.jsonl"
    with tempfile.TemporaryDirectory(prefix="kb-sphinx-bench-") as tmp:
        tmp = Path(tmp)
        cluster = SphinxCluster(tmp / "cluster", args.shards, args.replicas)
        servers = {}
        try:
            envs = {"whoosh": {"KB_BACKEND": "whoosh"}, "sphinx": cluster.env}
            print(f"SciFact: {len(queries)} judged queries; Sphinx: {args.shards} shards x {args.replicas} mirrors "
                  f"({cluster.nodes})\n")
            print("ingest (kb ingest: read + split + tag + index)")
            for name, env in envs.items():
                took, line = ingest(tmp / name, corpus, env)
                print(f"  {name:<7} {took:6.1f} s  {line}")
            fts = Fts5(tmp / "whoosh", envs["whoosh"])
            for name, env in envs.items():
                servers[name] = LiveServer(tmp / name, env=env, workers=args.workers)
            results = {name: {"ndcg": [], "recall": [], "ms": [], "typical": []} for name in [*servers, "fts5"]}
            for q in queries:  # interleaved: each backend answers the same query in turn
                text, relevant = words(q["text"]), qrels[q["_id"]]
                for name, server in servers.items():
                    ranked, ms = timed(http_search, server, {"q": text, "group_by": "document", "limit": 100,
                                                             "highlight": "false"})
                    _, typical = timed(http_search, server, {"q": text, "limit": 10})
                    for key, value in (("ndcg", ndcg10(ranked, relevant)), ("recall", recall100(ranked, relevant)),
                                       ("ms", ms), ("typical", typical)):
                        results[name][key].append(value)
                ranked, ms = timed(fts.search, text)
                results["fts5"]["ndcg"].append(ndcg10(ranked, relevant))
                results["fts5"]["recall"].append(recall100(ranked, relevant))
                results["fts5"]["ms"].append(ms)
            print("\nrelevance (document level) and latency in ms")
            print(f"  {'engine':<22} {'nDCG@10':>8} {'R@100':>7}   group_by=document, limit=100 (HTTP)"
                  "           limit=10, snippets, facets (HTTP)")
            labels = {"whoosh": "kb whoosh", "sphinx": f"kb sphinx {args.shards}x{args.replicas}",
                      "fts5": "sqlite fts5 (in-proc)"}
            for name, r in results.items():
                typical = summary(r["typical"]) if r["typical"] else "-"
                print(f"  {labels[name]:<22} {statistics.mean(r['ndcg']):8.4f} {statistics.mean(r['recall']):7.4f}   "
                      f"{summary(r['ms'])}   {typical}")
            print("\nbest BM25 in ../shared/eval/BASELINES.md: bm25s 0.6891 nDCG@10 (fts5 there: 0.6874)")
            p50 = {engine: statistics.median(results[engine]["ms"]) for engine in ("sphinx", "whoosh", "fts5")}
            print(f"p50 ratio sphinx/whoosh (relevance pass): {p50['sphinx'] / p50['whoosh']:.2f}; "
                  f"sphinx/fts5: {p50['sphinx'] / p50['fts5']:.2f}")
        finally:
            for server in servers.values():
                server.stop()
            cluster.stop()


if __name__ == "__main__":
    main()
