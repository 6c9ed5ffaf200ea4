#!/usr/bin/env python3
"""Relevance through the real thing: ``kb ingest`` a test collection into a temporary home, start
``kb serve``, send every judged query over HTTP, and score the ranking.

    python bench/relevance.py                                  # ../shared/eval/scifact
    python bench/relevance.py --collection DIR                 # any collection of the same layout
    python bench/relevance.py --home DIR                       # reuse (or keep) an ingested home

Each query goes, as written, to ``GET /api/v1/search?q=...&group_by=document&limit=100
&highlight=false&syntax=words``: test-collection queries are natural language (claims, questions),
whose capitalised AND/OR/NOT, quotes, brackets and leading ``-`` are text, not operators; kb's
words mode says so. ``--syntax none`` leaves the parameter out (kb's default, ``auto``). ``--mode
semantic|hybrid`` (and ``--fusion``) measure semantic search (the semantic extra). nDCG@10 and Recall@100 are
computed by ``bench.metrics`` (trec_eval definitions, graded gains) and cross-checked with
pytrec_eval when it is installed; they are printed beside the rows of ``BASELINES.md`` for the
same collection, with the mean and p95 query time (client wall time and the server's took_ms).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.metrics import Collection, evaluate, load_collection, percentile  # noqa: E402

SHARED = REPO.parent / "shared"
KB_BIN = Path(sys.executable).with_name("kb")


def build_parser() -> argparse.ArgumentParser:
    """The options; other benchmarks and backends add theirs here."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, default=SHARED / "eval" / "scifact",
                        help="folder with corpus.jsonl, queries.jsonl, qrels.tsv (default: %(default)s)")
    parser.add_argument("--baselines", type=Path, default=SHARED / "eval" / "BASELINES.md",
                        help="markdown tables of other engines' figures to print beside kb's")
    parser.add_argument("--home", type=Path, default=None,
                        help="knowledge base home to use and keep; ingests only when it is empty "
                             "(default: a temporary one, removed afterwards)")
    parser.add_argument("--limit", type=int, default=100, help="documents asked for per query")
    parser.add_argument("--syntax", choices=["auto", "query", "words", "none"], default="words",
                        help="syntax= sent with every query (default: words, as the queries are natural "
                             "language; none: not sent, kb's default, auto, applies)")
    parser.add_argument("--mode", choices=["lexical", "semantic", "hybrid", "none"], default="none",
                        help="mode= sent with every query (semantic and hybrid need the semantic extra; "
                             "default none: not sent, kb's default, lexical)")
    parser.add_argument("--fusion", choices=["normalized", "rrf", "none"], default="none",
                        help="fusion= sent with hybrid queries (default none: kb's default, normalized)")
    parser.add_argument("--workers", type=int, default=1, help="kb serve workers (queries are sequential)")
    parser.add_argument("--ingest-args", default="", help="extra arguments for kb ingest, e.g. '--target-words 200'")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures and the run here")
    return parser


# ---------------------------------------------------------------------- the real kb

def kb_command() -> list[str]:
    return [str(KB_BIN)] if KB_BIN.exists() else ["kb"]


def ingest(collection: Collection, home: Path, extra: str, embed: bool = False) -> float:
    """Embeddings only when a semantic mode will be measured (they cost most of the ingest time)."""
    started = time.perf_counter()
    env = {**os.environ, "KB_SEMANTIC": "1" if embed else "0"}
    result = subprocess.run(kb_command() + ["ingest", str(collection.corpus), "--home", str(home)] + extra.split(),
                            capture_output=True, text=True, env=env)
    if result.returncode not in (0, 2):   # 2: some records refused, the rest landed
        sys.exit(f"kb ingest failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    for line in result.stderr.splitlines():
        if "refused" in line:
            print(line, file=sys.stderr)
    return time.perf_counter() - started


def document_count(home: Path) -> int:
    result = subprocess.run(kb_command() + ["stats", "--home", str(home)], capture_output=True, text=True)
    return json.loads(result.stdout)["documents"] if result.returncode == 0 else 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``kb serve`` on a free loopback port, stopped on exit."""

    def __init__(self, home: Path, workers: int, semantic: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            kb_command() + ["serve", "--port", str(self.port), "--workers", str(workers), "--home", str(home)],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "KB_HOME": str(home), "KB_SEMANTIC": "1" if semantic else "0"})
        deadline = time.monotonic() + (300 if semantic else 60)   # a semantic worker loads its model first
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                sys.exit(f"kb serve exited: {self.log.read().decode(errors='replace')[-2000:]}")
            try:
                health = requests.get(self.url + "/api/v1/health", timeout=1)
                if health.ok and (not semantic or health.json().get("semantic") == "ready"):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        sys.exit("kb serve did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_queries(url: str, collection: Collection, limit: int, syntax: str | None, mode: str = "none",
                fusion: str = "none"):
    """{query id: [document ids]}, client wall ms, server took_ms, and the queries that failed."""
    run, wall, took, failed = {}, [], [], []
    params = {"group_by": "document", "limit": limit, "highlight": "false"}
    if syntax and syntax != "none":
        params["syntax"] = syntax
    if mode != "none":
        params["mode"] = mode
    if fusion != "none":
        params["fusion"] = fusion
    with requests.Session() as session:
        session.get(url + "/api/v1/search", params={**params, "q": collection.queries[0][1]}, timeout=60)
        for qid, text in collection.queries:
            started = time.perf_counter()
            response = session.get(url + "/api/v1/search", params={**params, "q": text}, timeout=60)
            wall.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failed.append((qid, response.status_code, response.text[:200]))
                continue
            body = response.json()
            took.append(body["took_ms"])
            run[qid] = [hit["document"]["id"] for hit in body["hits"]]
    return run, wall, took, failed


def check_with_pytrec_eval(run: dict, collection: Collection, ours: dict) -> str:
    try:
        import pytrec_eval
    except ImportError:
        return "pytrec_eval not installed: in-house metrics not cross-checked"
    qids = [q for q, _ in collection.queries]
    scored = {q: {d: float(len(run.get(q, [])) - i) for i, d in enumerate(dict.fromkeys(run.get(q, [])))}
              for q in qids}
    evaluator = pytrec_eval.RelevanceEvaluator({q: collection.qrels[q] for q in qids}, {"ndcg_cut.10", "recall.100"})
    out = evaluator.evaluate(scored)
    ndcg = statistics.fmean(out[q]["ndcg_cut_10"] if q in out else 0.0 for q in qids)
    recall = statistics.fmean(out[q]["recall_100"] if q in out else 0.0 for q in qids)
    agree = abs(ndcg - ours["ndcg@10"]) < 1e-6 and abs(recall - ours["recall@100"]) < 1e-6
    return (f"pytrec_eval: nDCG@10 {ndcg:.4f}, R@100 {recall:.4f} "
            f"({'agrees' if agree else 'DISAGREES'} with bench.metrics)")


# ---------------------------------------------------------------------- baselines

def baseline_rows(path: Path, collection_name: str) -> list[tuple[str, str, list[str]]]:
    """(table title, engine, cells) of every markdown table row for this collection."""
    if not path.exists():
        return []
    rows, title = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 4 and cells[0] == collection_name:
            rows.append((title, cells[1], cells[2:]))
    return rows


def short_title(title: str) -> str:
    match = re.match(r"Table (\d+)", title)
    return f"t{match.group(1)}" if match else title[:10]


def report(collection: Collection, metrics: dict, wall: list, took: list, failed: list,
           baselines: Path, ingest_s: float | None) -> None:
    name = collection.path.name
    print(f"\ncollection {name}: {len(collection.queries)} judged queries, "
          f"{sum(len(v) for v in collection.qrels.values())} judgments")
    print(f"{'engine':<26} {'nDCG@10':>8} {'R@100':>7} {'q ms mean':>10} {'q ms p95':>9}")
    print(f"{'kb (HTTP, client wall)':<26} {metrics['ndcg@10']:>8.4f} {metrics['recall@100']:>7.4f} "
          f"{statistics.fmean(wall):>10.2f} {percentile(wall, 95):>9.2f}")
    if took:
        print(f"{'kb (server took_ms)':<26} {'':>8} {'':>7} {statistics.fmean(took):>10.2f} "
              f"{percentile(took, 95):>9.2f}")
    for title, engine, cells in baseline_rows(baselines, name):
        ndcg, recall = cells[0], cells[1]
        mean, p95 = (cells[3], cells[4]) if len(cells) >= 5 else ("", "")
        print(f"{engine + ' (' + short_title(title) + ')':<26} {ndcg:>8} {recall:>7} {mean:>10} {p95:>9}")
    if ingest_s is not None:
        print(f"kb ingest: {ingest_s:.1f} s")
    if failed:
        print(f"{len(failed)} queries failed (scored 0):")
        for qid, status, text in failed[:10]:
            print(f"  {qid}: {status} {text}")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    collection = load_collection(args.collection)
    temporary = None
    if args.home is None:
        temporary = tempfile.TemporaryDirectory(prefix="kb-relevance-")
        home = Path(temporary.name) / "kb"
    else:
        home = args.home
    try:
        ingest_s = None
        semantic = args.mode in ("semantic", "hybrid")
        if temporary is not None or document_count(home) == 0:
            ingest_s = ingest(collection, home, args.ingest_args, embed=semantic)
        server = Server(home, args.workers, semantic=semantic)
        try:
            run, wall, took, failed = run_queries(server.url, collection, args.limit, args.syntax,
                                                  args.mode, args.fusion)
        finally:
            server.stop()
        metrics = evaluate(run, collection)
        report(collection, metrics, wall, took, failed, args.baselines, ingest_s)
        print(check_with_pytrec_eval(run, collection, metrics))
        if args.json:
            args.json.write_text(json.dumps({
                "collection": str(collection.path), **metrics,
                "query_ms_mean": statistics.fmean(wall), "query_ms_p95": percentile(wall, 95),
                "failed": failed, "run": run}, indent=1), encoding="utf-8")
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
