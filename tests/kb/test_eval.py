"""``kb eval`` and ``POST /api/v1/eval``: the README's example on the sample, run as written; the
same report from the command and over real HTTP; qrels as TSV or JSON Lines; clear refusals."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import requests

from helpers import KB_BIN, ROOT
from helpers.servers import LiveServer
from kb import KnowledgeBase, evaluation

QUERIES, QRELS = ROOT / "kb/data/sample-queries.jsonl", ROOT / "kb/data/sample-qrels.tsv"


def readme_eval_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("### `kb eval`"):]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def run(argv, home):
    return subprocess.run([str(KB_BIN), *argv.split()[1:], "--home", str(home)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_readme_example_runs_as_written(tmp_path):
    home = tmp_path / "kb"
    commands = readme_eval_block()
    assert [c.split()[:2] for c in commands] == [["kb", "ingest"], ["kb", "eval"]]
    assert run(commands[0], home).returncode == 0
    done = run(commands[1], home)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "4 judged queries, 5 relevant judgments, by passage"
    figures = lines[2].split()
    assert figures[0] == "lexical" and float(figures[1]) >= 0.9 and float(figures[2]) == 1.0


def test_the_command_and_http_give_the_same_report(sample_home, tmp_path):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    cli = run(f"kb eval {QUERIES} {QRELS} --group-by passage --format json", home)
    assert cli.returncode == 0, cli.stderr
    report = json.loads(cli.stdout)
    queries = [json.loads(line) for line in QUERIES.read_text().splitlines()]
    qrels = [{"query_id": q, "id": i, "score": int(s)}
             for q, i, s in (line.split("\t") for line in QRELS.read_text().splitlines()[1:])]
    server = LiveServer(home, workers=1)
    try:
        r = requests.post(server.url + "/api/v1/eval", timeout=60,
                          json={"queries": queries, "qrels": qrels, "group_by": "passage"})
        assert r.status_code == 200, r.text
        http = r.json()
        figures = ("ndcg@10", "recall@100", "mrr")   # each query's figures; its time is its own
        assert {q: {m: f[m] for m in figures} for q, f in http["modes"]["lexical"]["queries"].items()} == \
            {q: {m: f[m] for m in figures} for q, f in report["modes"]["lexical"]["queries"].items()}
        assert all(f["query_ms"] > 0 for f in http["modes"]["lexical"]["queries"].values())
        assert http["modes"]["lexical"]["ndcg@10"] == pytest.approx(report["modes"]["lexical"]["ndcg@10"])
        by_document = requests.post(server.url + "/api/v1/eval", timeout=60, json={
            "queries": queries, "qrels": [{"query_id": "q1", "id": "science-diplomacy"}], "format": "csv"})
        assert by_document.status_code == 200 and by_document.text.splitlines()[1] == \
            "lexical,all,1.0000,1.0000,1.0000"
        wrong = requests.post(server.url + "/api/v1/eval", timeout=60,
                              json={"queries": queries, "qrels": [{"query_id": "nope", "id": "x"}]})
        assert wrong.status_code == 422 and "no query has a relevant judgment" in wrong.json()["message"]
        bad_mode = requests.post(server.url + "/api/v1/eval", timeout=60,
                                 json={"queries": queries, "qrels": qrels, "modes": ["fast"]})
        assert bad_mode.status_code == 422 and bad_mode.json()["code"] == 422
    finally:
        server.stop()


def test_an_evaluation_past_its_time_budget_is_a_413_and_the_worker_stays(sample_home, tmp_path):
    home = tmp_path / "kb"
    shutil.copytree(sample_home, home)
    queries = [json.loads(line) for line in QUERIES.read_text().splitlines()]
    server = LiveServer(home, workers=1, env={"KB_HTTP_EVAL_TIME": "0"})   # past it before the first search
    try:
        r = requests.post(server.url + "/api/v1/eval", timeout=60,
                          json={"queries": queries, "qrels": [{"query_id": "q1", "id": "science-diplomacy"}]})
        assert r.status_code == 413 and r.json()["code"] == 413, r.text
        assert "ran past 0 s after 0 of 1 searches" in r.json()["message"] and "kb eval" in r.json()["message"]
        assert requests.get(server.url + "/api/v1/search", params={"q": "science"}, timeout=60).status_code == 200
    finally:
        server.stop()
    judged = evaluation.judgments({q["_id"]: q["text"] for q in queries}, {"q1": {"science-diplomacy": 1}})
    assert KnowledgeBase(home).evaluate(judged, budget=None)["queries"] == 1   # no budget: the CLI's


def test_qrels_as_json_lines_and_per_query_figures(tmp_path):
    tsv = evaluation.read_qrels(QRELS.read_text())
    jsonl = evaluation.read_qrels("\n".join(json.dumps({"query_id": q, "corpus_id": d, "score": g})
                                            for q, items in tsv.items() for d, g in items.items()))
    assert jsonl == tsv and tsv["q3"] == {"science-diplomacy:5": 2, "science-diplomacy:2": 1}
    judged = evaluation.judgments({"a": "x", "b": "y", "c": "unjudged"}, {"a": {"d1": 1, "d2": 2}, "b": {"d3": 1}})
    scored = evaluation.score_run({"a": ["d9", "d2", "d1"], "b": []}, judged)
    assert scored["queries"]["b"] == {"ndcg@10": 0.0, "recall@100": 0.0, "mrr": 0.0}
    assert scored["queries"]["a"]["mrr"] == 0.5 and scored["queries"]["a"]["recall@100"] == 1.0
    assert [q for q, _ in judged.queries] == ["a", "b"]
    with pytest.raises(evaluation.EvaluationError, match="qrels line 2"):
        evaluation.read_qrels("query-id\tcorpus-id\tscore\nq1\td1\tmany\n")
    with pytest.raises(evaluation.EvaluationError, match="queries line 1"):
        evaluation.read_queries('{"text": 5}\n')


def test_bad_files_are_one_line_errors(tmp_path, kb_home):
    bad = tmp_path / "qrels.tsv"
    bad.write_text("q1\tscience-diplomacy:1\t1\nq1\tscience-diplomacy:2\tlots\n", encoding="utf-8")
    done = run(f"kb eval {QUERIES} {bad}", kb_home)
    assert done.returncode == 1 and done.stderr.startswith("kb: qrels line 2") and "Traceback" not in done.stderr
