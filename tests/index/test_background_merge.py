"""Background merges during a bulk load: the merged segment is swapped in whole, documents replaced
while it merged stay replaced, and a kill -9 at any moment leaves the last commit, no merger
process, and debris the next writer removes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers.records import batch, live_counts, positive, recount
from index import storage
from index.base import SearchRequest
from index.whoosh import background_merge, merging
from index.whoosh.engine import WhooshIndex


def segment_count(ix: WhooshIndex) -> int:
    return len(ix.searcher().reader().leaf_readers())


def merge_dirs(ix: WhooshIndex) -> list[Path]:
    return list(storage.live_dir(ix.home).glob(f"*{storage.MERGE_SUFFIX}"))


@pytest.fixture
def merge_everything(monkeypatch):
    """Every merge the tiered policy picks runs in the background, however small."""
    monkeypatch.setattr(background_merge, "MIN_RECORDS", 0)


def test_a_bulk_load_merges_in_a_child_and_swaps_the_result_in(tmp_path, merge_everything):
    ix = WhooshIndex(tmp_path / "kb")
    started = []
    with ix.bulk_load():
        for n in range(12):
            ix.replace_documents(batch(n * 10, 10))
            if merge_dirs(ix):
                started.append(n)
            if n == 10:   # replace documents of the segments being merged
                ix.replace_documents(batch(0, 5, version=2))
    assert started, "no merge ran in the background"
    assert not merge_dirs(ix)
    assert segment_count(ix) < 10
    ids = sorted(p["id"] for p in ix.iter_passages())
    assert ids == sorted(f"d{i}:{n}" for i in range(120) for n in (1, 2))   # each passage once
    assert ix.get_passage("d3:1")["text"].startswith("Version 2")
    assert ix.get_passage("d7:1")["text"].startswith("Version 1")
    assert ix.search(SearchRequest(q="fisheries")).total == 240
    assert ix.search(SearchRequest(q='"version 2"')).total == 10
    assert positive(live_counts(ix).passages) == positive(recount(ix).passages)


def test_a_merge_whose_sources_are_gone_is_dropped(tmp_path, merge_everything):
    ix = WhooshIndex(tmp_path / "kb")
    with ix.bulk_load():
        for n in range(11):
            ix.replace_documents(batch(n * 10, 10))
        running = ix._background.running
        assert running is not None
        other = WhooshIndex(tmp_path / "kb")   # another writer merges the same segments meanwhile
        other.replace_documents(batch(500, 1))
        assert ix._background.running is running
    assert not merge_dirs(ix)
    assert len(list(ix.iter_passages())) == 222


def test_a_merge_that_fails_is_logged_and_the_load_goes_on(tmp_path, merge_everything, caplog):
    ix = WhooshIndex(tmp_path / "kb")
    with ix.bulk_load():
        for n in range(11):
            ix.replace_documents(batch(n * 10, 10))
        ix._background.running._process.kill()   # as the kernel's OOM killer would
        ix.replace_documents(batch(110, 10))
    assert "a background merge failed, its segments stay as they were: the merging process ended with code -9" \
        in caplog.text
    assert len(list(ix.iter_passages())) == 240
    assert not merge_dirs(ix)


def test_merges_outside_a_bulk_load_run_in_the_commit(tmp_path, merge_everything):
    ix = WhooshIndex(tmp_path / "kb")
    for n in range(11):
        ix.replace_documents(batch(n * 10, 10))
        assert not merge_dirs(ix)
    assert segment_count(ix) < 10


def test_a_bulk_load_merges_large_segments_part_of_a_tier_at_a_time_from_its_second_commit(
        tmp_path, merge_everything, monkeypatch):
    """A full tier whose merge would pass the cap merges two of its segments at a time, in a bulk
    load, from its second commit on: a write of one commit never waits for such a merge."""
    monkeypatch.setattr(merging, "FACTOR", 3)
    monkeypatch.setattr(merging, "MAX_MERGED", 70)   # three segments of 30 records pass it, two do not
    ix = WhooshIndex(tmp_path / "kb")
    for n in range(3):
        ix.replace_documents(batch(n * 10, 10))       # 10 documents, 20 passages: 30 records
    assert segment_count(ix) == 3                     # outside a load: the whole tier or nothing
    with ix.bulk_load():
        ix.replace_documents(batch(30, 10))
        assert segment_count(ix) == 4 and not merge_dirs(ix)   # its first commit: none
        ix.replace_documents(batch(40, 10))
        assert merge_dirs(ix)                         # its second: two of them, in a child
    assert sorted(r.doc_count() for r, _ in ix.searcher().reader().leaf_readers()) == [30, 30, 30, 60]
    assert ix.search(SearchRequest(q="fisheries")).total == 100


KILLED_LOAD = textwrap.dedent("""
    import sys
    from index.whoosh import background_merge
    from index.whoosh.engine import WhooshIndex
    from helpers.records import batch
    background_merge.MIN_RECORDS = 0
    ix = WhooshIndex(sys.argv[1])
    with ix.bulk_load():
        for n in range(1000):
            ix.replace_documents(batch(n * 10, 10))
            print(n, flush=True)
""")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc (Linux)")
def test_kill_9_during_a_background_merge_leaves_the_last_commit_and_no_merger(tmp_path):
    home = tmp_path / "kb"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, str(home)], cwd=root, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": f"{root}:{root / 'tests'}"})
    deadline = time.monotonic() + 300
    merger = []
    while not merger and time.monotonic() < deadline and proc.poll() is None:
        if (home / storage.POINTER).exists() and list(storage.live_dir(home).glob(f"*{storage.MERGE_SUFFIX}")):
            merger = [c for c in children(proc.pid) if alive(c)]
        time.sleep(0.005)
    assert merger, "no background merge started"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(alive(c) for c in merger) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(c) for c in merger), "the merger outlived its killed parent"
    committed = [int(line) for line in proc.stdout.read().split()]
    ix = WhooshIndex(home)
    ids = {p["document_id"] for p in ix.iter_passages()}
    assert len(ids) in (10 * (committed[-1] + 1) if committed else 0, 10 * (committed[-1] + 2) if committed else 10)
    assert merge_dirs(ix)   # the killed merge's work directory is left...
    ix.replace_documents(batch(90_000, 1))   # ...and the next writer clears it
    assert not merge_dirs(ix)
