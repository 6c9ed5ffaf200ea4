"""Speed of kb next to SQLite FTS5 on the same passages, in one run: ingest throughput, peak
memory and index size; search latency (p50/p95/p99) in-process and over HTTP for 1-3 word and
claim-length queries, kb and FTS5 interleaved query by query; HTTP throughput and p50/p99 under
concurrent clients for the server candidates. Figures are printed, never asserted.

Sets: ``scifact`` (SciFact's 5,183 abstracts through the real ``kb ingest``) and synthetic sets
(``1k`` to ``1m``: one passage per document, words from a Zipf distribution over the SciFact
vocabulary, see ``bench/synthetic.py``). Queries: 1-3 words drawn from SciFact's claims, and the
300 claims themselves (punctuation blanked for both engines). Without ``../shared`` (a clone
alone) the synthetic sets still run: their vocabulary is committed, and the claims are synthetic
sentences of 8 to 24 words from it.

    make bench                                               # scifact and 100k, everything
    .venv/bin/python bench/speed.py --scale scifact --skip-load   # a quick look
    .venv/bin/python bench/speed.py --scale 1m --skip-load --work /var/tmp/kb-bench
    .venv/bin/python bench/speed.py --scale 100k --skip-ingest    # reuse what --work holds
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
CODE = Path(importlib.util.find_spec("kb").origin).resolve().parent.parent  # kb under test (PYTHONPATH)
KB = [str(Path(sys.executable).with_name("kb"))]  # the console script (it honours PYTHONPATH too)
sys.path.insert(0, str(HERE))

import fts5  # noqa: E402
import http_load  # noqa: E402
import synthetic  # noqa: E402

SCALES = {"scifact": None, "1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
SERVERS = ["kb", "gunicorn-sync:2", "gunicorn-sync:4", "gunicorn-gthread:2x4", "waitress:8"]
STOP = set("a an and are as at be by for from has have in is it its of on or that the to was were with "
           "which this these those than not no".split())


# ---------------------------------------------------------------------- data and queries

def dataset(scale: str, work: Path) -> Path:
    if SCALES[scale] is None:
        if not SCIFACT.is_dir():
            raise SystemExit(f"--scale scifact needs the SciFact collection at {SCIFACT}")
        return SCIFACT / "corpus.jsonl"
    path = work / f"synthetic-{scale}.jsonl"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        corpus = SCIFACT / "corpus.jsonl"
        synthetic.write(SCALES[scale], path, corpus=corpus if corpus.exists() else None)
    return path


def claim_texts() -> list[str]:
    """SciFact's 300 claims, or (without ../shared) 300 synthetic sentences."""
    if (SCIFACT / "queries.jsonl").exists():
        with open(SCIFACT / "queries.jsonl", encoding="utf-8") as f:
            return [json.loads(line)["text"] for line in f]
    return [doc["text"].split(". ")[0] for doc in synthetic.documents(300, seed=99, min_words=8, max_words=24)]


def queries(short_count: int, seed: int = 11) -> tuple[list[str], list[str]]:
    """(1-3 word queries, claim-length queries)."""
    claims = [" ".join(re.sub(r"[^\w\s]", " ", text).split()) for text in claim_texts()]
    words = [w for c in claims for w in c.lower().split() if len(w) > 2 and w not in STOP and w.isalpha()]
    rng = random.Random(seed)
    short = [" ".join(rng.sample(words, rng.randint(1, 3))) for _ in range(short_count)]
    return short, claims


# ---------------------------------------------------------------------- ingest

def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


def ingest(source: Path, home: Path) -> dict:
    """The real ``kb ingest`` in a child process: wall and CPU time, peak memory, index size."""
    import subprocess
    argv = KB + ["ingest", str(source), "--home", str(home)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak, main_cpu = [0], [0.0]
    ticks = os.sysconf("SC_CLK_TCK")

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            try:  # utime + stime of the main process alone (fields 14, 15 of /proc/PID/stat)
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                main_cpu[0] = (int(fields[11]) + int(fields[12])) / ticks
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    sampler.join()
    found = re.search(r"ingested (\d+) documents, (\d+) passages", out)
    if process.returncode not in (0, 2) or not found:
        raise RuntimeError(f"kb ingest failed ({process.returncode}): {out[-2000:]}")
    documents, passages = int(found.group(1)), int(found.group(2))
    return {"documents": documents, "passages": passages, "seconds": wall,
            "cpu_seconds": usage.ru_utime + usage.ru_stime, "main_cpu_seconds": main_cpu[0],
            "passages_per_s": passages / wall,
            "max_rss_mb": usage.ru_maxrss / 1024, "tree_rss_mb": peak[0] / 2**20,
            "index_mb": dir_bytes(home) / 2**20}


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------------- latency

def summary(ms: list[float]) -> dict:
    ms = sorted(ms)
    return {"p50": http_load.percentile(ms, 50), "p95": http_load.percentile(ms, 95),
            "p99": http_load.percentile(ms, 99), "mean": statistics.fmean(ms) if ms else float("nan"), "n": len(ms)}


WARMUP: list[str] = []  # other queries of the same kind, run first on every engine (see main)


def interleaved(qs: list[str], *calls) -> list[dict]:
    """Each query on every engine, back to back, the order rotating from query to query.

    First every engine answers WARMUP, a different draw of 1-3 word queries: a server that has
    been up a while has met most words before (kb's per-word analysis memo, SQLite's page
    cache), but not these queries' postings."""
    for q in WARMUP:
        for call in calls:
            call(q)
    ms: list[list[float]] = [[] for _ in calls]
    for i, q in enumerate(qs):
        for j in range(len(calls)):
            k = (i + j) % len(calls)
            ms[k].append(calls[k](q))
    return [summary(m) for m in ms]


def timed(fn):
    def run(q):
        started = time.perf_counter()
        fn(q)
        return (time.perf_counter() - started) * 1000
    return run


def in_process(home: Path, db: Path, short: list[str], claims: list[str]) -> dict:
    from index.base import SearchRequest
    from kb.core import KnowledgeBase
    from kb.settings import Settings
    kb = KnowledgeBase(Settings.from_env(home=home, query_time_limit=0))   # every query timed to its end
    engine = fts5.Fts5(db)
    kb_search = timed(lambda q: kb.search(SearchRequest(q=q)))
    kb_bare = timed(lambda q: kb.search(SearchRequest(q=q, highlight=False)))
    fts_search = timed(lambda q: engine.search(q))
    fts_like_kb = timed(lambda q: engine.search_like_kb(q))
    out = {}
    for name, qs in (("short", short), ("claims", claims)):
        out[name] = dict(zip(("kb", "fts5", "fts5_like_kb", "kb_no_snippets"),
                             interleaved(qs, kb_search, fts_search, fts_like_kb, kb_bare)))
    cache = getattr(kb.index, "postings", None)
    if cache is not None:
        out["postings_cache"] = {"hits": cache.hits, "misses": cache.misses}
    return out


# ---------------------------------------------------------------------- servers

def start(kind: str, home: Path, work: Path, db: Path | None = None) -> http_load.Server:
    """``kb`` (kb serve, its default server), ``fts5:N``, or a candidate from SERVERS."""
    port = http_load.free_port()
    env = {"KB_HOME": str(home), "FTS5_DB": str(db or ""),
           "KB_QUERY_TIME_LIMIT": "0"}   # a slow query is timed, not answered 503 (a 1M run met one)
    py = sys.executable
    name, _, arg = kind.partition(":")
    if name == "kb":
        argv = KB + ["serve", "--home", str(home), "--port", str(port)]
        argv += ["--workers", arg] if arg else []
    elif name == "fts5":
        argv = [py, "-m", "gunicorn", "-w", arg or "2", "-b", f"127.0.0.1:{port}", "--chdir", str(HERE),
                "fts5:create_app()"]
    elif name == "gunicorn-sync":
        argv = [py, "-m", "gunicorn", "-w", arg, "-b", f"127.0.0.1:{port}", "api:create_app()"]
    elif name == "gunicorn-gthread":
        workers, threads = arg.split("x")
        argv = [py, "-m", "gunicorn", "-w", workers, "-k", "gthread", "--threads", threads,
                "-b", f"127.0.0.1:{port}", "api:create_app()"]
    elif name == "waitress":
        argv = [py, "-m", "waitress", f"--listen=127.0.0.1:{port}", f"--threads={arg}", "--call",
                "api:create_app"]
    else:
        raise SystemExit(f"unknown server {kind!r}")
    health = "/health" if name == "fts5" else "/api/v1/health"
    return http_load.Server(kind, argv, port, env, health, work / f"server-{name}-{port}.log",
                            cwd=HERE if name == "fts5" else CODE)


def over_http(home: Path, db: Path, work: Path, short: list[str], claims: list[str]) -> dict:
    out = {}
    with start("kb", home, work) as kb_server, start("fts5:2", home, work, db) as fts_server:
        kb_get = lambda q: http_load.timed_get(kb_server.port, http_load.search_path("/api/v1/search", q))  # noqa: E731
        fts_get = lambda q: http_load.timed_get(fts_server.port, http_load.search_path("/search", q))  # noqa: E731
        for name, qs in (("short", short), ("claims", claims)):
            out[name] = dict(zip(("kb", "fts5"), interleaved(qs, kb_get, fts_get)))
    return out


def under_load(home: Path, db: Path, work: Path, short: list[str], servers: list[str], clients: int,
               max_requests: int, max_seconds: float, rounds: int = 1) -> dict:
    """Every server in turn, ``rounds`` times over (interleaved, so a machine busy with something
    else weighs on all of them alike); with several rounds, the median of each figure."""
    runs: dict[str, list[dict]] = {}
    for round_number in range(rounds):
        for kind in servers + ["fts5:2"]:
            with start(kind, home, work, db) as server:
                prefix = "/search" if kind.startswith("fts5") else "/api/v1/search"
                paths = [http_load.search_path(prefix, q) for q in short]
                http_load.load(server.port, paths[:100], clients, 200, 20)  # warm every worker
                result = http_load.load(server.port, paths, clients, max_requests, max_seconds)
            runs.setdefault(kind, []).append(result)
            print(f"  {kind:<22} {result['rps']:8.1f} req/s  p50 {result['p50']:7.1f} ms  "
                  f"p99 {result['p99']:7.1f} ms  ({result['requests']} requests, {result['errors']} errors)"
                  + (f"  [round {round_number + 1}, load {os.getloadavg()[0]:.1f}]" if rounds > 1 else ""),
                  flush=True)
    out = {kind: {key: statistics.median(r[key] for r in results) for key in results[0]}
           for kind, results in runs.items()}
    if rounds > 1:
        print(f"  medians of {rounds} rounds:")
        for kind, m in out.items():
            print(f"  {kind:<22} {m['rps']:8.1f} req/s  p50 {m['p50']:7.1f} ms  p99 {m['p99']:7.1f} ms  "
                  f"({m['errors']:g} errors)", flush=True)
    return out


# ---------------------------------------------------------------------- report

def print_latency(title: str, figures: dict) -> None:
    print((f"  {title:<24}" + "".join(f" {'kb ' + p:>8} {'FTS5 ' + p:>9} {'ratio':>6}  "
                                      for p in ("p50", "p95", "p99"))).rstrip())
    for name, label in (("short", "1-3 words"), ("claims", "claims")):
        kb = figures[name]["kb"]
        for engine, suffix in (("fts5", ""), ("fts5_like_kb", " *")):
            if engine in figures[name]:
                ft = figures[name][engine]
                print((f"    {label + suffix:<22}" + "".join(f" {kb[p]:8.2f} {ft[p]:9.2f} {kb[p] / ft[p]:6.2f}  "
                                                          for p in ("p50", "p95", "p99"))).rstrip())
    if "fts5_like_kb" in figures["short"]:
        print("    (* FTS5 also counting the exact total and cutting a snippet per hit, as kb does)")
    if "kb_no_snippets" in figures["short"]:
        print("    kb without snippets (highlight=false), p50 / p95: " + ", ".join(
            f"{label} {figures[name]['kb_no_snippets']['p50']:.2f} / {figures[name]['kb_no_snippets']['p95']:.2f}"
            for name, label in (("short", "1-3 words"), ("claims", "claims"))))


def run_scale(scale: str, args, short: list[str], claims: list[str]) -> dict:
    work = args.work / scale
    work.mkdir(parents=True, exist_ok=True)
    home, db = work / "kb", work / "fts5.db"
    result: dict = {"scale": scale}
    print(f"\n== {scale} ==", flush=True)
    if not args.skip_ingest:
        import shutil
        shutil.rmtree(home, ignore_errors=True)
        source = dataset(scale, args.work)
        r = result["ingest"] = ingest(source, home)
        print(f"  kb ingest (read+split+tag+index): {r['documents']:,} documents, {r['passages']:,} passages "
              f"in {r['seconds']:.1f} s = {r['passages_per_s']:,.0f} passages/s (CPU {r['cpu_seconds']:.1f} s, "
              f"{r['main_cpu_seconds']:.1f} s of it in the main process); "
              f"peak RSS {r['max_rss_mb']:.0f} MB per process, {r['tree_rss_mb']:.0f} MB all processes; "
              f"index {r['index_mb']:.1f} MB", flush=True)
    if args.skip_ingest and not home.exists():
        raise SystemExit(f"{home} does not exist: run without --skip-ingest first")
    if args.skip_ingest and db.exists():
        result["fts5_build"] = None
    else:
        from kb.core import KnowledgeBase
        count, seconds = fts5.build(db, KnowledgeBase(home).export())
        result["fts5_build"] = {"passages": count, "seconds": seconds, "db_mb": db.stat().st_size / 2**20}
        print(f"  FTS5 build (same passages, index only): {count:,} passages in {seconds:.1f} s "
              f"= {count / seconds:,.0f} passages/s; database {db.stat().st_size / 2**20:.1f} MB", flush=True)
    if not args.skip_search:
        result["in_process"] = in_process(home, db, short, claims)
        print_latency("in-process, ms", result["in_process"])
        if "postings_cache" in result["in_process"]:
            print(f"    (postings cache: {result['in_process']['postings_cache']})")
    if not args.skip_http:
        result["http"] = over_http(home, db, work, short, claims)
        print_latency("over HTTP, ms", result["http"])
    if not args.skip_load:
        print(f"  HTTP load: {args.clients} clients, at most {args.load_requests} requests and "
              f"{args.load_seconds:g} s, 1-3 word queries", flush=True)
        result["load"] = under_load(home, db, work, short, args.servers, args.clients, args.load_requests,
                                    args.load_seconds, args.rounds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="scifact,100k", help="comma-separated: " + ", ".join(SCALES))
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "kb-bench",
                        help="where data, indexes and logs go (kept between runs)")
    parser.add_argument("--short", type=int, default=300, help="number of 1-3 word queries")
    parser.add_argument("--warmup", type=int, default=300, help="number of warm-up queries (another draw)")
    parser.add_argument("--claims", type=int, default=300, help="number of claim-length queries (max 300)")
    parser.add_argument("--skip-ingest", action="store_true", help="reuse the indexes in --work")
    parser.add_argument("--skip-search", action="store_true", help="no in-process latency")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP latency")
    parser.add_argument("--skip-load", action="store_true", help="no concurrent HTTP load")
    parser.add_argument("--servers", type=lambda s: s.split(","), default=SERVERS,
                        help="load-test candidates (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1,
                        help="load-test every server this many times, interleaved; report medians")
    parser.add_argument("--load-requests", type=int, default=2000)
    parser.add_argument("--load-seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args()
    scales = [s.strip().lower() for s in args.scale.split(",") if s.strip()]
    unknown = [s for s in scales if s not in SCALES]
    if unknown:
        parser.error(f"unknown scale {unknown[0]!r}; known: {', '.join(SCALES)}")
    os.environ["KB_SEMANTIC"] = "0"   # lexical speed: no embedding at ingest, no model in the servers
    short, claims = queries(args.short)
    claims = claims[:args.claims]
    WARMUP[:] = queries(args.warmup, seed=12)[0]
    print(f"kb speed bench ({CODE}): {len(short)} 1-3 word queries, {len(claims)} claims; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; work {args.work}", flush=True)
    results = [run_scale(scale, args, short, claims) for scale in scales]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
