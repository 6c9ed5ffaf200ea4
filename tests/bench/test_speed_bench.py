"""bench/speed.py runs end to end on a small synthetic set (real ``kb ingest``, ``kb serve``,
gunicorn, FTS5) and prints every figure it promises, each kb figure beside FTS5's. The figures
themselves are not checked: they are measurements, not properties."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from helpers import ROOT


def test_speed_bench_prints_kb_beside_fts5(tmp_path):
    out_json = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "speed.py"), "--scale", "1k", "--work", str(tmp_path),
         "--short", "6", "--claims", "4", "--warmup", "4", "--servers", "gunicorn-sync:1",
         "--clients", "2", "--load-requests", "20", "--load-seconds", "10", "--json", str(out_json)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"kb ingest \(read\+split\+tag\+index\): 1,000 documents, 1,000 passages", out), out
    assert "FTS5 build (same passages, index only): 1,000 passages" in out
    for block in ("in-process, ms", "over HTTP, ms"):
        header = next(line for line in out.splitlines() if line.strip().startswith(block))
        assert "kb p50  FTS5 p50  ratio" in header
    assert re.search(r"^\s+1-3 words\s+[\d.]+\s+[\d.]+\s+[\d.]+", out, re.M)
    assert re.search(r"^\s+claims\s+[\d.]+\s+[\d.]+\s+[\d.]+", out, re.M)
    assert re.search(r"gunicorn-sync:1 .* req/s .* \(20 requests, 0 errors\)", out)
    assert re.search(r"fts5:2 .* \(20 requests, 0 errors\)", out)
    figures = json.loads(out_json.read_text())[0]
    assert figures["ingest"]["passages"] == 1000 and figures["ingest"]["index_mb"] > 0
    assert figures["in_process"]["short"]["kb"]["n"] == 6 and figures["http"]["claims"]["fts5"]["n"] == 4
