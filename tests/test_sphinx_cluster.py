"""A real Sphinx cluster under the conditions that matter: the `kb cluster` commands, writes that
must land on every mirror of the right shard, and mirrors killed mid-run (answers complete after a
retry, or marked partial, never silently short)."""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pymysql
import pytest

from helpers import KB_BIN
from helpers.servers import LiveServer
from index.base import BackendUnavailable, QueryError, SearchRequest
from index.sphinx.cluster import load_nodes
from index.sphinx.query import key_token
from index.sphinx.records import shard_of
from kb.core import SAMPLE_PATH, KnowledgeBase
from kb.models import Document
from kb.settings import Settings

TOPICS = ["vaccines for developing countries", "science diplomacy between rival states",
          "public health programs and capacity building", "Arctic research stations and logistics",
          "space cooperation and satellites", "climate negotiations and global governance"]


def documents(n: int) -> list[Document]:
    return [Document(id=f"doc-{i:03d}", title=f"Note {i} on {TOPICS[i % len(TOPICS)]}",
                     text=f"Note {i} on {TOPICS[i % len(TOPICS)]}.\n\n" + " ".join(
                         f"Paragraph {j} discusses {TOPICS[(i + j) % len(TOPICS)]} in some detail, "
                         f"with examples from case {i}-{j}." for j in range(4)), tags=["field-notes"])
            for i in range(n)]


def filled(cluster, home, n: int = 30) -> KnowledgeBase:
    kb = KnowledgeBase(Settings.from_env(home=home, backend="sphinx", sphinx_nodes=cluster.nodes))
    kb.ingest_paths([SAMPLE_PATH])
    kb.ingest(documents(n))
    return kb


def rows_on(node, sql):
    conn = pymysql.connect(host=node.host, port=node.sql_port, charset="utf8mb4")
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def run(*args, env=None, check=False):
    return subprocess.run([str(KB_BIN), *args], capture_output=True, text=True, check=check,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_cluster_start_status_stop(tmp_path):
    directory = tmp_path / "cluster"
    started = run("cluster", "start", "--shards", "1", "--replicas", "2", "--dir", str(directory))
    try:
        assert started.returncode == 0, started.stderr
        nodes = started.stdout.strip().rpartition("KB_SPHINX_NODES=")[2]
        assert nodes.count("|") == 1 and "," not in nodes
        status = run("cluster", "status", "--dir", str(directory))
        assert status.returncode == 0 and status.stdout.count("answering") == 2
        again = run("cluster", "start", "--dir", str(directory))
        assert again.returncode == 1 and again.stderr.startswith("kb: a cluster is already running")
        pids = [n.pid for n in load_nodes(directory)]
    finally:
        stopped = run("cluster", "stop", "--dir", str(directory))
    assert stopped.returncode == 0 and "stopped 2 searchd nodes" in stopped.stdout
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"
    down = run("cluster", "status", "--dir", str(directory))
    assert down.returncode == 1 and down.stdout.count(" down ") == 2
    missing = run("cluster", "stop", "--dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and missing.stderr.startswith("kb: no cluster in")


@pytest.fixture
def free_ports():
    from helpers.servers import free_port
    return [free_port(), free_port()]


def test_bad_node_lists_and_unreachable_nodes_are_one_line_errors(tmp_path, free_ports):
    bad = run("search", "x", "--home", str(tmp_path), "--backend", "sphinx", "--sphinx-nodes", "localhost")
    assert bad.returncode == 1 and "is not host:port" in bad.stderr and "Traceback" not in bad.stderr
    none = run("search", "x", "--home", str(tmp_path), env={"KB_BACKEND": "sphinx"})
    assert none.returncode == 1 and "KB_SPHINX_NODES" in none.stderr
    dead = run("search", "x", "--home", str(tmp_path), "--backend", "sphinx",
               "--sphinx-nodes", f"127.0.0.1:{free_ports[0]}")
    assert dead.returncode == 1 and dead.stderr.startswith("kb: no search node answers")


def test_writes_land_on_every_mirror_of_the_right_shard(private_cluster, tmp_path):
    cluster = private_cluster()
    kb = filled(cluster, tmp_path / "kb")
    nodes = load_nodes(cluster.directory)
    per_node = {n.name: dict(rows_on(n, "SELECT document_id, COUNT(*) FROM kb_rt GROUP BY doc_key LIMIT 1000"))
                for n in nodes}
    expected = {d["id"]: len(kb.index.passages_of(d["id"])) for d in kb.list_documents()[1]}
    assert len(expected) == 31 and all(expected.values())
    for node in nodes:
        mine = {doc: count for doc, count in expected.items() if shard_of(doc, 2) == node.shard}
        assert per_node[node.name] == mine, node.name
    assert per_node["s0r0"] and per_node["s1r0"]  # both shards hold documents
    kb.delete("doc-007")
    for node in nodes:
        counts = dict(rows_on(node, "SELECT document_id, COUNT(*) FROM kb_rt GROUP BY doc_key LIMIT 1000"))
        assert "doc-007" not in counts
        assert not [r for r in rows_on(node, "SELECT document_id FROM kb_meta_rt WHERE kind = 2 LIMIT 1000")
                    if r[0] == "doc-007"]


def test_a_document_is_found_on_whichever_mirror_answers(private_cluster, tmp_path):
    cluster = private_cluster()
    kb = filled(cluster, tmp_path / "kb", n=12)
    on_shard0 = [d for d in (f"doc-{i:03d}" for i in range(12)) if shard_of(d, 2) == 0]
    before = {d: kb.get_document(d) for d in on_shard0}
    for name in ("s0r0", "s0r1"):
        cluster.kill(name)
        if name == "s0r0":
            for doc_id, doc in before.items():
                assert kb.get_document(doc_id) == doc
                assert kb.get_passage(f"{doc_id}:1")["document_id"] == doc_id
    with pytest.raises(BackendUnavailable, match="no mirror of shard 0 answers"):
        kb.get_document(on_shard0[0])


def test_writes_refuse_a_shard_with_a_mirror_down(private_cluster, tmp_path):
    cluster = private_cluster()
    home = tmp_path / "kb"
    filled(cluster, home, n=4)
    cluster.kill("s1r1")
    notes = tmp_path / "notes"
    notes.mkdir()
    ids = {}
    for i in range(8):
        doc_id = f"late-{i}"
        ids.setdefault(shard_of(doc_id, 2), doc_id)
        (notes / f"{doc_id}.txt").write_text(f"Late note {i}\n\nVaccines reached the field station {i}.\n")
    ok = run("ingest", str(notes / f"{ids[0]}.txt"), "--home", str(home), env=cluster.env)
    assert ok.returncode == 0, ok.stderr
    refused = run("ingest", str(notes / f"{ids[1]}.txt"), "--home", str(home), env=cluster.env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("kb: mirror ") and "of shard 1 does not answer" in refused.stderr
    assert "nothing was written" in refused.stderr
    on_live_mirror = load_nodes(cluster.directory)[2]  # s1r0: the other mirror of shard 1 got nothing either
    assert not rows_on(on_live_mirror, f"SELECT id FROM kb_rt WHERE MATCH('@keys {key_token('document', ids[1])}')")


def snapshot(server, params):
    body = server.get("/api/v1/search", params=params).json()
    assert "total" in body, (params, body)
    return body["total"], sorted(h["id"] for h in body["hits"]), body["partial"]


QUERIES = [{"q": "science diplomacy", "limit": 100}, {"q": "vaccines", "limit": 100},
           {"tag": "field-notes", "limit": 100}, {"q": "capacity", "group_by": "document", "limit": 100},
           {"q": "", "sort": "document", "limit": 100}]


def test_mirror_killed_mid_run_complete_or_partial_never_silently_short(private_cluster, tmp_path):
    cluster = private_cluster()
    home = tmp_path / "kb"
    filled(cluster, home)
    server = LiveServer(home, env=cluster.env)
    try:
        baseline = [snapshot(server, q) for q in QUERIES]
        assert all(total > 0 and not partial for total, _, partial in baseline)
        assert "X-Partial" not in server.get("/api/v1/search", params={"q": "science", "format": "csv"}).headers
        answers, stop = [], threading.Event()

        def reader():
            while not stop.is_set():
                for i, q in enumerate(QUERIES):
                    answers.append((i, snapshot(server, q)))

        def answered(count: int, timeout: float = 120.0) -> bool:   # counted, not timed: a slow machine waits
            deadline = time.monotonic() + timeout
            while len(answers) < count and time.monotonic() < deadline and thread.is_alive():
                time.sleep(0.05)
            return len(answers) >= count

        thread = threading.Thread(target=reader)
        thread.start()
        assert answered(len(QUERIES))
        cluster.kill("s1r1")  # one mirror of shard 1 dies mid-run
        after_kill = len(answers)
        reached = answered(after_kill + 3 * len(QUERIES))
        stop.set()
        thread.join()
        assert reached, f"{len(answers) - after_kill} answers after the kill"
        complete = partial = 0
        for i, (total, hits, is_partial) in answers:
            if is_partial:
                partial += 1
                assert total < baseline[i][0]
            else:
                complete += 1
                assert (total, hits) == baseline[i][:2], QUERIES[i]  # never silently short
        assert complete > 0
        after = [snapshot(server, q) for q in QUERIES]  # the other mirror answers: complete again
        assert after == baseline

        cluster.kill("s1r0")  # the whole of shard 1 is down now
        for q, (total, hits, _) in zip(QUERIES, baseline):
            down_total, down_hits, down_partial = snapshot(server, q)
            assert down_partial is True and down_total < total and set(down_hits) < set(hits)
        as_csv = server.get("/api/v1/search", params={"q": "science", "format": "csv"})
        assert as_csv.status_code == 200 and as_csv.headers["X-Partial"] == "true"  # said in every format
        listing = server.get("/api/v1/documents")
        assert listing.status_code == 503 and listing.json()["code"] == 503
        assert "shard" in listing.json()["message"] and listing.headers.get("Retry-After")
        cli = run("search", "science", "--home", str(home), env=cluster.env)
        assert cli.returncode == 0 and "kb: warning: a shard did not answer" in cli.stderr
    finally:
        server.stop()


def test_searches_in_process_report_partial(private_cluster, tmp_path):
    cluster = private_cluster(shards=2, replicas=1)
    kb = filled(cluster, tmp_path / "kb", n=10)
    full = kb.search(SearchRequest(q="science", limit=100))
    cluster.kill("s0r0")
    part = kb.search(SearchRequest(q="science", limit=100))
    assert not full.partial and part.partial and part.total < full.total
    assert json.dumps(part.facets)  # facets of what answered, still well-formed


def test_facets_stay_exact_past_a_thousand_tags(private_cluster, tmp_path):
    """FACET keeps at most max_matches groups: with more tags in play, they are counted apart."""
    cluster = private_cluster(shards=1, replicas=1)
    many = [f"topic-{i:04d}" for i in range(1100)]
    docs = [Document(id="wide", title="Wide", text="Science diplomacy and vaccines.\n\n" * 3, tags=many),
            Document(id="narrow", title="Narrow", text="Science and the Arctic.", tags=many[:3])]
    answers = []
    for backend, nodes in (("whoosh", None), ("sphinx", cluster.nodes)):
        kb = KnowledgeBase(Settings.from_env(home=tmp_path / backend, backend=backend, sphinx_nodes=nodes,
                                             max_tags=2000))   # past KB_MAX_TAGS on purpose
        kb.ingest([Document(**vars(d)) for d in docs])
        response = kb.search(SearchRequest(q="science", limit=1))
        answers.append((response.total, response.facets, kb.index.tag_counts()))
    assert answers[0] == answers[1]
    assert len(answers[1][1]["tags"]) >= 1100 and answers[1][1]["tags"]["topic-0001"] == 2


def test_patterns_matching_too_many_words_are_refused_on_both_backends(private_cluster, tmp_path):
    cluster = private_cluster(shards=2, replicas=1)
    text = "Field words.\n\n" + "\n\n".join(" ".join(f"zq{i:04d}x" for i in range(j, 600, 6)) + "." for j in range(6))
    answers = []
    for backend, nodes in (("whoosh", None), ("sphinx", cluster.nodes)):
        kb = KnowledgeBase(Settings.from_env(home=tmp_path / backend, backend=backend, sphinx_nodes=nodes))
        kb.ingest([Document(id="wordy", title="Wordy", text=text)])
        with pytest.raises(QueryError) as refused:
            kb.search(SearchRequest(q="zq*"))
        narrow = kb.search(SearchRequest(q="zq00* OR zq011?x", limit=100))
        answers.append((str(refused.value), narrow.total, sorted(h["id"] for h in narrow.hits)))
    assert answers[0] == answers[1]
    assert answers[1][0] == "'zq' matches more than 500 words; make it more specific" and answers[1][1] > 0
