"""Ingest with worker processes gives exactly what an in-process ingest gives, in order."""
from __future__ import annotations

import os

import pytest

from kb.core import KnowledgeBase
from kb.models import Document
from kb.pipeline import Preparer
from kb.readers import ReadError, read_path
from kb.settings import Settings

DATA = __import__("pathlib").Path(__file__).resolve().parents[1] / "data"
PARENT = os.getpid()
WORDS = ("science diplomacy public health vaccine trial cooperation research China United States climate "
         "ocean policy agreement university student exchange pandemic security technology").split()


def documents() -> list:
    """45 items: generated documents, real files, a document with neither text nor title, an unreadable file."""
    items: list = []
    for n in range(40):
        sentences = [" ".join(WORDS[(n * 7 + i * 3 + j) % len(WORDS)] for j in range(6 + (i % 5))).capitalize() + "."
                     for i in range(12 + n % 9)]
        items.append(Document(id=f"gen-{n}", title=f"Generated {n}", text=" ".join(sentences),
                              tags=["given"] if n % 4 == 0 else [], ingested_at="2024-01-01T00:00:00+00:00"))
        if n == 17:
            items.append(Document(id="blank", title="", text="   ", ingested_at="x"))   # no text, no title
        if n == 29:
            items.append(ReadError("broken.pdf: not a PDF"))
    for name in ("notes.md", "page.html", "docs.jsonl"):
        for item in read_path(DATA / name):
            if not isinstance(item, ReadError):
                item.document.ingested_at = "2024-01-01T00:00:00+00:00"
            items.append(item)
    return items


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_ingest_equals_in_process_ingest(tmp_path, workers):
    alone = KnowledgeBase(Settings.from_env(home=tmp_path / "alone", ingest_workers=0))
    together = KnowledgeBase(Settings.from_env(home=tmp_path / "together", ingest_workers=workers))
    expected = alone.ingest(documents(), extra_tags=["batch"]).to_dict()
    got = together.ingest(documents(), extra_tags=["batch"]).to_dict()
    assert got == expected
    assert expected["documents"] > 40 and [r["source"] for r in expected["refused"]][:2] == ["blank", "broken.pdf"]
    assert list(together.export()) == list(alone.export())
    assert together.stats()["passages"] == alone.stats()["passages"] > 40


def double_unless_bad(x):
    if x == 7:
        raise ValueError("seven is refused")
    if x == 41 and os.getpid() != PARENT:
        os._exit(1)  # a worker dies: the pool breaks, the chunk is prepared in-process
    return x * 2


def test_preparer_keeps_order_reports_value_errors_and_survives_a_dead_worker():
    out = list(Preparer(double_unless_bad, workers=2, chunk=4).map(range(100)))
    assert [task for task, _, _ in out] == list(range(100))
    assert [result for _, ok, result in out if ok] == [x * 2 for x in range(100) if x != 7]
    assert [str(result) for _, ok, result in out if not ok] == ["seven is refused"]


def lock_descriptors(_task):
    """In a worker: how many descriptors of a write lock it holds."""
    held = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            held += os.readlink(f"/proc/self/fd/{name}").endswith("write.lock")
        except OSError:
            pass
    return held


def test_workers_do_not_keep_the_write_lock(tmp_path):
    """A worker forked while the parent holds the write lock lets go of its copy (else a kill -9
    of the parent would leave the knowledge base locked while the worker lives)."""
    from index.storage import write_lock
    with write_lock(tmp_path, timeout=1):
        out = list(Preparer(lock_descriptors, workers=2, chunk=2).map(range(12)))
    assert [held for _, _, held in out[:2]] == [1, 1]   # the first chunk runs here, in the parent
    assert [held for _, _, held in out[2:]] == [0] * 10


PARENT_SCRIPT = """
import os, sys, time
from kb.pipeline import Preparer
PARENT = os.getpid()
def slow(x):
    if os.getpid() != PARENT:
        open(os.path.join(sys.argv[1], str(os.getpid())), "w").close()
        time.sleep(60)
    return x
for _ in Preparer(slow, workers=2, chunk=1).map(range(20)):
    pass
"""


def test_workers_die_with_their_parent(tmp_path):
    import signal
    import subprocess
    import sys
    import time
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, str(tmp_path)])
    deadline = time.monotonic() + 30
    while len(list(tmp_path.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = [int(p.name) for p in tmp_path.iterdir()]
    assert len(workers) == 2
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 5
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if os.path.exists(f"/proc/{pid}") and
                 "zombie" not in open(f"/proc/{pid}/status").read().lower()]
        time.sleep(0.05)
    assert alive == [], "workers outlived a kill -9 of their parent"


def test_chunks_close_at_their_weight_so_big_documents_wait_in_small_numbers():
    from kb.pipeline import _chunks

    sizes = [10, 10, 500, 10, 10, 10, 900, 5]
    chunks = list(_chunks(sizes, 4, weigh=lambda n: n, max_weight=500))
    assert chunks == [[10, 10, 500], [10, 10, 10, 900], [5]]
    assert [x for c in chunks for x in c] == sizes
    assert list(_chunks(sizes, 3)) == [sizes[:3], sizes[3:6], sizes[6:]]


def test_what_waits_for_the_writer_is_bounded_by_weight_too():
    from kb.pipeline import Preparer

    submitted = []
    preparer = Preparer(str, workers=1, chunk=1, ahead=1000, weigh=len, chunk_weight=10, pending_weight=25)
    original = preparer._submit

    def counting(chunk):
        submitted.append(chunk)
        return original(chunk)

    preparer._submit = counting
    out, most_ahead = [], 0
    for _task, _ok, result in preparer.map(["x" * 10] * 12):
        out.append(result)
        most_ahead = max(most_ahead, len(submitted) - (len(out) - 1))
    assert out == ["x" * 10] * 12
    assert most_ahead <= 4   # 25 characters: two chunks of 10 waiting, the third submitted, one in hand


def test_a_long_load_keeps_no_item_per_document_unless_asked(tmp_path):
    """`kb ingest` (without --verbose) lists refusals, not every landed document: at a million
    documents that list alone held hundreds of MB. The counts are the same either way."""
    docs = [Document(id=f"d{i}", title=f"Doc {i}", text=f"Passage number {i} about cells and diplomacy.")
            for i in range(30)] + [Document(id="empty", title="", text="   ")]
    itemized = KnowledgeBase(tmp_path / "a").ingest(docs, workers=0)
    lean = KnowledgeBase(tmp_path / "b").ingest(docs, workers=0, itemize=False)
    assert (lean.documents, lean.passages, lean.statuses, lean.tags) == \
        (itemized.documents, itemized.passages, itemized.statuses, itemized.tags) and lean.documents == 30
    assert len(itemized.items) == 31 and len(itemized.ids) == 30
    assert lean.ids == [] and [item.get("error") is not None for item in lean.items] == [True] * len(lean.refused)
    assert lean.refused == itemized.refused and lean.refused
