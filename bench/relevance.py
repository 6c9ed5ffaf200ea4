#!/usr/bin/env python3
"""Relevance through the real thing, on every development collection at once: ``kb ingest`` each
collection into a temporary home, start ``kb serve``, send its judged queries to ``POST
/api/v1/eval`` (kb's own ``kb eval``, over HTTP), and print kb beside every baseline of
``BASELINES.md`` in one table.

    python bench/relevance.py                                  # ../shared/eval/scifact and cacm
    python bench/relevance.py --collection DIR [--collection DIR2]   # collections of the same layout
    python bench/relevance.py --home DIR                       # keep (or reuse) the ingested homes
    python bench/relevance.py --env KB_LONG_QUERY_TERMS=0      # a setting for ingest and serve

Queries are natural language: they are read as words (``--syntax``). Modes: lexical, and hybrid
when the semantic extra is installed (``--mode`` chooses). The metrics (nDCG@10, Recall@100, MRR:
trec_eval's definitions, graded gains) are kb's, computed by the server (``kb/evaluation.py``);
tests/bench checks them against pytrec_eval.
"""
from __future__ import annotations

import argparse
import importlib.util
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

from kb.evaluation import judgments, read_qrels, read_queries  # noqa: E402

SHARED = REPO.parent / "shared"
KB_BIN = Path(sys.executable).with_name("kb")
COLLECTIONS = [SHARED / "eval" / "scifact", SHARED / "eval" / "cacm"]


def semantic_installed() -> bool:
    return importlib.util.find_spec("sentence_transformers") is not None


def build_parser() -> argparse.ArgumentParser:
    """The options; other benchmarks and backends add theirs here."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", type=Path, action="append", default=None,
                        help="folder with corpus.jsonl, queries.jsonl, qrels.tsv (repeatable; default: "
                             "../shared/eval/scifact and ../shared/eval/cacm)")
    parser.add_argument("--baselines", type=Path, default=SHARED / "eval" / "BASELINES.md",
                        help="markdown tables of other engines' figures to print beside kb's")
    parser.add_argument("--home", type=Path, default=None,
                        help="folder of knowledge base homes (one per collection) to use and keep; a home "
                             "is ingested only when it is empty (default: temporary ones)")
    parser.add_argument("--syntax", choices=["auto", "query", "words"], default="words",
                        help="how the queries are read (default: words, as they are natural language)")
    parser.add_argument("--mode", choices=["lexical", "semantic", "hybrid"], action="append", default=None,
                        help="modes to measure (repeatable; default lexical, and hybrid when the semantic "
                             "extra is installed)")
    parser.add_argument("--fusion", choices=["normalized", "rrf"], default=None,
                        help="how hybrid fuses (default: kb's default fusion)")
    parser.add_argument("--env", action="append", default=[], metavar="KB_X=VALUE",
                        help="a setting for kb ingest and kb serve (repeatable)")
    parser.add_argument("--workers", type=int, default=1, help="kb serve workers")
    parser.add_argument("--ingest-args", default="", help="extra arguments for kb ingest, e.g. '--target-words 200'")
    parser.add_argument("--json", type=Path, default=None, help="also write every report here")
    return parser


# ---------------------------------------------------------------------- the real kb

def kb_command() -> list[str]:
    return [str(KB_BIN)] if KB_BIN.exists() else ["kb"]


def ingest(corpus: Path, home: Path, extra: str, embed: bool = False, env: dict | None = None) -> float:
    """Embeddings only when a semantic mode will be measured (they cost most of the ingest time)."""
    started = time.perf_counter()
    env = {**os.environ, **(env or {}), "KB_SEMANTIC": "1" if embed else "0"}
    result = subprocess.run(kb_command() + ["ingest", str(corpus), "--home", str(home)] + extra.split(),
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

    def __init__(self, home: Path, workers: int, semantic: bool = False, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            kb_command() + ["serve", "--port", str(self.port), "--workers", str(workers), "--home", str(home)],
            stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {}), "KB_HOME": str(home), "KB_SEMANTIC": "1" if semantic else "0"})
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
    match = re.search(r"table (\d+)", title, re.I)
    return f"t{match.group(1)}" if match else title[:10]


def table(results: list[tuple[str, dict]], baselines: Path) -> None:
    """kb's rows and every baseline row of each collection, in one table."""
    print(f"\n{'collection':<12} {'engine':<26} {'nDCG@10':>8} {'R@100':>7} {'MRR':>7} "
          f"{'q ms mean':>10} {'q ms p50':>9} {'q ms p95':>9}")
    for name, report in results:
        print(f"{name:<12} ({report['queries']} judged queries, {report['judgments']} relevant judgments)")
        for mode, s in report["modes"].items():
            print(f"{name:<12} {'kb ' + mode:<26} {s['ndcg@10']:>8.4f} {s['recall@100']:>7.4f} {s['mrr']:>7.4f} "
                  f"{s['query_ms_mean']:>10.2f} {s['query_ms_p50']:>9.2f} {s['query_ms_p95']:>9.2f}")
        for title, engine, cells in baseline_rows(baselines, name):
            mean, p95 = (cells[3], cells[4]) if len(cells) >= 5 else ("", "")
            print(f"{name:<12} {engine + ' (' + short_title(title) + ')':<26} {cells[0]:>8} {cells[1]:>7} "
                  f"{'':>7} {mean:>10} {'':>9} {p95:>9}")


BATCH = 25   # queries per POST: an evaluation request must finish within kb serve's worker timeout (60 s)


def evaluate_over_http(server: "Server", collection: Path, modes: list[str], syntax: str,
                       fusion: str | None = None, batch: int = BATCH) -> dict:
    """One ``POST /api/v1/eval`` per mode and batch of judged queries, merged into one report
    (means over the per-query figures, times from each query's ``query_ms``)."""
    judged = judgments(read_queries((collection / "queries.jsonl").read_text(encoding="utf-8")),
                       read_qrels((collection / "qrels.tsv").read_text(encoding="utf-8")))
    report = {"group_by": "document", "queries": len(judged.queries),
              "judgments": sum(1 for q, _ in judged.queries for g in judged.qrels[q].values() if g > 0), "modes": {}}
    for mode in modes:
        per_query: dict = {}
        for at in range(0, len(judged.queries), batch):
            chunk = judged.queries[at:at + batch]
            body = {"queries": [{"_id": q, "text": t} for q, t in chunk],
                    "qrels": [{"query_id": q, "id": d, "score": g} for q, _ in chunk
                              for d, g in judged.qrels[q].items()],
                    "modes": [mode], "group_by": "document", "syntax": syntax, **({"fusion": fusion} if fusion else {})}
            response = requests.post(server.url + "/api/v1/eval", json=body, timeout=3600)
            if response.status_code != 200:
                server.log.seek(0)
                sys.exit(f"POST /api/v1/eval: {response.status_code} {response.text[:500]}\n"
                         f"{server.log.read().decode(errors='replace')[-3000:]}")
            answer = response.json()
            per_query.update(answer["modes"][mode]["queries"])
            report.setdefault("fusion", answer.get("fusion"))
        took = sorted(q["query_ms"] for q in per_query.values())
        report["modes"][mode] = {
            **{m: statistics.fmean(q[m] for q in per_query.values()) for m in ("ndcg@10", "recall@100", "mrr")},
            "query_ms_mean": statistics.fmean(took), "query_ms_p50": statistics.median(took),
            "query_ms_p95": took[min(len(took) - 1, int(0.95 * len(took)))], "queries": per_query}
    return report


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    collections = args.collection or COLLECTIONS
    modes = args.mode or (["lexical", "hybrid"] if semantic_installed() else ["lexical"])
    semantic = any(m != "lexical" for m in modes)
    env = dict(item.split("=", 1) for item in args.env)
    results = []
    for collection in collections:
        temporary = None
        if args.home is None:
            temporary = tempfile.TemporaryDirectory(prefix="kb-relevance-")
            home = Path(temporary.name) / "kb"
        else:
            home = args.home / collection.name
        try:
            if temporary is not None or document_count(home) == 0:
                seconds = ingest(collection / "corpus.jsonl", home, args.ingest_args, embed=semantic, env=env)
                print(f"{collection.name}: kb ingest {seconds:.1f} s", file=sys.stderr)
            server = Server(home, args.workers, semantic=semantic, env=env)
            try:
                report = evaluate_over_http(server, collection, modes, args.syntax, args.fusion)
                results.append((collection.name, report))
            finally:
                server.stop()
        finally:
            if temporary is not None:
                temporary.cleanup()
    table(results, args.baselines)
    if args.json:
        args.json.write_text(json.dumps(dict(results), indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
