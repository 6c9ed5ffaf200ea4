"""One writer, many readers, in separate processes: readers of a live server never fail while
`kb ingest` writes and see each commit on their next request; a replaced document is never seen
half old, half new; writers queue on the index lock and one that cannot get it says so cleanly."""
from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time

import pytest
import requests

from helpers import ROOT
from helpers.servers import LiveServer
from helpers.trials import KbProcess, abstracts, snapshot, whole_document_problems
from index.storage import write_lock
from kb.core import KnowledgeBase
from kb.models import Document

READERS = 8


READS = [
    ("/api/v1/search", {"q": "cell"}), ("/api/v1/search", {"q": "protein expression", "limit": 20}),
    ("/api/v1/search", {"q": '"public health"'}), ("/api/v1/search", {"q": "immun*", "group_by": "document"}),
    ("/api/v1/search", {"tag": "public-health", "limit": 5}), ("/api/v1/search", {"q": "cancer", "sort": "document"}),
    ("/api/v1/documents", {"limit": 5}), ("/api/v1/stats", None), ("/api/v1/tags", None),
    ("/api/v1/suggest", {"q": "prote"}), ("/api/v1/passages/science-diplomacy:2", None),
    ("/api/v1/passages/science-diplomacy:1/similar", {"limit": 3}), ("/api/v1/health", None),
]


@pytest.mark.slow
def test_eight_readers_never_fail_while_another_process_ingests(kb_home, tmp_path):
    corpus = tmp_path / "more.jsonl"
    ids = abstracts(corpus, 2000, 300)
    server = LiveServer(kb_home)
    attempted, failures, stop = [0] * READERS, [], threading.Event()

    def reader(n):
        rng, session = random.Random(n), requests.Session()
        while not stop.is_set():
            path, params = rng.choice(READS)
            attempted[n] += 1
            try:
                r = session.get(server.url + path, params=params, timeout=30)
                if r.status_code != 200 or not isinstance(r.json(), dict):
                    failures.append((path, params, r.status_code, r.text[:300]))
            except (requests.RequestException, ValueError) as exc:
                failures.append((path, params, repr(exc)))

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    try:
        for t in threads:
            t.start()
        writer = KbProcess("ingest", corpus, "--home", kb_home, "--batch-size", 25)
        fresh, seen = [], 0
        session = requests.Session()
        while writer.alive() or seen < len(writer.commits()):
            commits = writer.commits()
            if seen == len(commits):
                time.sleep(0.005)
                continue
            committed_at, documents, _ = commits[seen]
            seen += 1
            newest = ids[documents - 1]     # the last document of the batch just committed
            asked = time.monotonic()
            body = session.get(server.url + "/api/v1/search", timeout=30,
                               params={"document": newest, "limit": 100, "highlight": "false"}).json()
            doc = session.get(server.url + f"/api/v1/documents/{newest}", timeout=30).json()
            fresh.append({"documents": documents, "asked_after_s": asked - committed_at,
                          "answered_after_s": time.monotonic() - committed_at,
                          "total": body.get("total"), "passages": len(doc.get("passages", []))})
        assert writer.finish() == 0, writer.stderr
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    reads = sum(attempted)
    print(f"{READERS} readers: {reads} reads attempted, {len(failures)} failed; "
          f"{len(fresh)} commits, slowest fresh answer "
          f"{max(f['answered_after_s'] for f in fresh) * 1000:.0f} ms after the commit was reported")
    assert failures == []
    assert reads > 10 * READERS
    assert len(fresh) == 300 // 25
    for f in fresh:   # the first request after a commit sees it, whole
        assert f["asked_after_s"] < 1.0, f
        assert f["total"] == f["passages"] > 0, f


VERSIONS = {   # one passage, then several: a reader that mixed them would see a wrong count
    "alphaword": "Alpha\n\nThis short note says alphaword about vaccine trials in developing countries "
                 "and the public health programs that carried them through the year.",
    "betaword": "Beta\n\n" + "\n\n".join(
        f"Section {i} tells betaword of science diplomacy between rival states, of shared "
        f"laboratories and of agreements on research data number {j}. " for i in range(12) for j in range(4)),
}

FLIPPER = """
import sys
from kb.core import KnowledgeBase
from kb.models import Document
texts = {texts!r}
kb = KnowledgeBase(sys.argv[1])
for i in range(int(sys.argv[2])):
    word = sorted(texts)[i % 2]
    kb.ingest([Document(id="flip", title="Flip", text=texts[word])])
print("done", flush=True)
"""


@pytest.mark.slow
def test_a_replaced_document_is_never_half_old_half_new(kb_home):
    kb = KnowledgeBase(kb_home)
    counts = {w: len(kb.prepare(Document(id="flip", title="Flip", text=t).validate()))
              for w, t in VERSIONS.items()}
    assert counts["alphaword"] != counts["betaword"]
    kb.ingest([Document(id="flip", title="Flip", text=VERSIONS["alphaword"])])
    server = LiveServer(kb_home)
    seen, problems, stop = {"alphaword": 0, "betaword": 0}, [], threading.Event()

    def reader():
        session = requests.Session()
        while not stop.is_set():
            doc = session.get(server.url + "/api/v1/documents/flip", timeout=30).json()
            hits = session.get(server.url + "/api/v1/search", timeout=30,
                               params={"document": "flip", "limit": 100, "highlight": "false"}).json()
            for texts, label in (([p["text"] for p in doc["passages"]], "document"),
                                 ([h["text"] for h in hits["hits"]], "search")):
                words = {w for w in VERSIONS if any(w in t for t in texts)}
                if len(words) != 1 or len(texts) != counts[words.pop()]:
                    problems.append((label, len(texts), [t[:40] for t in texts]))
            word = "alphaword" if "alphaword" in doc["text"] else "betaword"
            if any(word not in p["text"] for p in doc["passages"]):
                problems.append(("document text and passages differ", word))
            seen[word] += 1

    threads = [threading.Thread(target=reader) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        code = FLIPPER.format(texts=VERSIONS)
        flipper = subprocess.run([sys.executable, "-c", code, str(kb_home), "40"], capture_output=True,
                                 text=True, timeout=300, cwd=ROOT)
        assert flipper.returncode == 0, flipper.stderr
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        server.stop()
    print(f"replaced 40 times; readers saw {seen}")
    assert problems == []
    assert seen["alphaword"] and seen["betaword"]


def test_two_cli_writers_at_once_both_land(sample_home, tmp_path):
    home = tmp_path / "kb"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ids = abstracts(a, 2300, 60) + abstracts(b, 2360, 60)
    writers = [KbProcess("ingest", path, "--home", home, "--batch-size", 6) for path in (a, b)]
    for w in writers:
        assert w.finish() == 0, w.stderr
        assert "ingested 60 documents" in w.stdout
    snap = snapshot(home)
    assert sorted(snap["docs"]) == sorted(ids)
    kb = KnowledgeBase(tmp_path / "scratch")
    expected = {}
    for path in (a, b):
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            doc = Document(id=str(obj["_id"]), title=obj["title"], text=obj["text"]).validate()
            expected[doc.id] = len(kb.prepare(doc))
    assert whole_document_problems(snap, expected) == []


def test_a_writer_that_cannot_get_the_lock_says_so_and_reads_go_on(kb_home, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("A note\n\nThe WHO shipped vaccines to developing countries.\n")
    with write_lock(kb_home / "index", timeout=1):
        started = time.monotonic()
        blocked = KbProcess("ingest", note, "--home", kb_home, "--lock-timeout", 0.5)
        assert blocked.finish() == 1
        assert time.monotonic() - started < 30
        lines = blocked.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("kb: another writer holds the index lock"), lines
        assert "stopped after committing 0 documents" in lines[0]
        search = KbProcess("search", "public health", "--json", "--home", kb_home)
        assert search.finish() == 0 and json.loads(search.stdout)["total"] > 0
        delete = KbProcess("delete", "science-diplomacy", "--home", kb_home, "--lock-timeout", 0.2)
        assert delete.finish() == 1 and delete.stderr.startswith("kb: another writer")
    again = KbProcess("ingest", note, "--home", kb_home)
    assert again.finish() == 0, again.stderr
