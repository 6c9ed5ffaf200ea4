"""kill -9 at random moments: of a multi-thousand-document `kb ingest` (generated abstracts) and of
`kb rebuild`. After every kill the index opens, every document in it is whole (its passages are
those of a clean ingest, all of them), no passage is without its document, the CLI has said how
far it got, and the next command runs (the dead writer's locks are gone) and cleans its debris.

The moments are random (seed printed; set KB_TRIAL_SEED to replay) in the process's own
timeline, counted in commits so a slow machine moves them along: some anywhere, some while the
writer holds the index lock (adding documents or committing them)."""
from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers.trials import KbProcess, abstracts, debris, lock_held, snapshot, wait_lock_held, whole_document_problems
from kb.core import KnowledgeBase
from kb.readers import read_path
from kb.tagging import default_taxonomy_path

DOCUMENTS = 2000          # documents per ingest
BATCH = 100               # documents per commit: 20 commits per ingest
KILLS_PER_CHAIN = 3       # two chains run side by side (one per core): 6 kills of `kb ingest`
REBUILD_DOCUMENTS = 200
REBUILD_BATCH = 40        # 5 commits into the new index, then the switch
REBUILD_KILLS = 6

pytestmark = pytest.mark.slow


def seed() -> int:
    value = int(os.environ.get("KB_TRIAL_SEED") or random.randrange(1 << 30))
    print(f"KB_TRIAL_SEED={value}")
    return value


@pytest.fixture(scope="module")
def ingest_corpus(tmp_path_factory) -> tuple[Path, list[str]]:
    """DOCUMENTS generated abstracts as a JSONL file, and their ids in file order."""
    path = tmp_path_factory.mktemp("corpus") / f"abstracts-{DOCUMENTS}.jsonl"
    return path, abstracts(path, 0, DOCUMENTS)


def kill_trial(home: Path, corpus: Path, rng: random.Random, while_writing: bool) -> dict:
    """One `kb ingest` killed with SIGKILL at a random moment; what it said and what it left."""
    proc = KbProcess("ingest", corpus, "--home", home, "--batch-size", BATCH)
    commits = rng.randint(0, 8)
    proc.wait_commits(commits)
    if while_writing:            # inside replace_documents: adding documents, committing, merging
        wait_lock_held(home, proc)
        time.sleep(rng.uniform(0, 1.0))
    else:                        # anywhere: reading, splitting, tagging, writing
        times = [t for t, _, _ in proc.commits()]
        gap = (times[-1] - proc.started) / len(times) if times else 3.0
        time.sleep(rng.uniform(0, gap))
    moment = round(time.monotonic() - proc.started, 2)
    was_writing = lock_held(home)
    killed = proc.kill9()
    return {"killed": killed, "at_s": moment, "lock_held": was_writing, "reported": proc.last_committed(),
            "exit": proc.proc.returncode, "stderr": proc.stderr[-2000:],
            "locks_free": not lock_held(home), "snapshot": snapshot(home)}


def chain(home: Path, corpus: Path, rng: random.Random) -> dict:
    """KILLS_PER_CHAIN killed runs, then one that must complete."""
    trials = [kill_trial(home, corpus, rng, while_writing=bool(i % 2)) for i in range(KILLS_PER_CHAIN)]
    final = KbProcess("ingest", corpus, "--home", home, "--batch-size", BATCH)
    code = final.finish()
    return {"trials": trials, "exit": code, "stdout": final.stdout, "stderr": final.stderr[-2000:],
            "snapshot": snapshot(home), "debris": debris(home)}


def test_kill_9_during_ingest_loses_only_the_batch_in_flight(ingest_corpus, tmp_path):
    corpus, ids = ingest_corpus
    rng = random.Random(seed())
    rngs = [random.Random(rng.random()) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        chains = list(pool.map(chain, [tmp_path / "a", tmp_path / "b"], [corpus] * 2, rngs))

    for c in chains:   # the run after the kills completes, over the dead writers' locks and debris
        assert c["exit"] == 0, c["stderr"]
        assert f"ingested {DOCUMENTS} documents" in c["stdout"]
        assert sorted(c["snapshot"]["docs"]) == sorted(ids)
        assert not c["snapshot"]["orphans"]
        assert c["debris"] == []
    reference = {d: len(o) for d, o in chains[0]["snapshot"]["docs"].items()}
    assert reference == {d: len(o) for d, o in chains[1]["snapshot"]["docs"].items()}
    kb = KnowledgeBase(tmp_path / "scratch")
    results = [r for r in read_path(corpus) if not isinstance(r, Exception)]
    for result in random.Random(7).sample(results, 25):   # the reference is a clean ingest's
        doc = result.document.validate()
        assert reference[doc.id] == len(kb.prepare(doc)), doc.id
    assert whole_document_problems(chains[0]["snapshot"], reference) == []

    kills = 0
    for c in chains:
        reached = 0
        for t in c["trials"]:
            snap, reported = t["snapshot"], t["reported"]
            where = f"killed at {t['at_s']} s, reported {reported}: {t['stderr'][-300:]}"
            assert whole_document_problems(snap, reference) == [], where
            present = len(snap["docs"])
            assert sorted(snap["docs"]) == sorted(ids[:present]), f"not a prefix of the input; {where}"
            assert reported <= present <= max(reached, reported + BATCH), where
            assert t["locks_free"], where
            reached = max(reached, present)
            if t["killed"]:
                kills += 1
                assert t["exit"] == -9
            if reported:
                assert f"committed {reported} documents" in t["stderr"]
    held = sum(t["lock_held"] and t["killed"] for c in chains for t in c["trials"])
    print(f"kill -9 trials of kb ingest: {kills} kills ({held} while the writer held the lock), "
          f"{DOCUMENTS} documents per ingest, batches of {BATCH}; at "
          f"{[t['at_s'] for c in chains for t in c['trials']]} s")
    assert kills >= 2 * KILLS_PER_CHAIN - 1    # a run may rarely finish before its moment comes
    assert held >= 1


# ----------------------------------------------------------------------------------- rebuild

TINY_TAXONOMY = """version: 1
name: tiny
topics:
  cells:
    label: Cells
    description: Mentions cells.
    synonyms: [cell, cells, cellular]
"""


def test_kill_9_during_a_taxonomy_switch_leaves_the_old_or_the_new_index(ingest_corpus, tmp_path):
    corpus, ids = ingest_corpus
    small = tmp_path / "small.jsonl"
    small.write_text("".join(corpus.read_text(encoding="utf-8").splitlines(True)[:REBUILD_DOCUMENTS]))
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text(TINY_TAXONOMY)
    home = tmp_path / "kb"
    first = KbProcess("ingest", small, "--home", home)
    assert first.finish() == 0, first.stderr
    full = snapshot(home)
    expected = {d: len(o) for d, o in full["docs"].items()}
    started = time.monotonic()
    swap = KbProcess("taxonomy", "use", tiny, "--home", home, "--batch-size", REBUILD_BATCH)
    assert swap.finish() == 0, swap.stderr
    duration = time.monotonic() - started
    tagged = {"default": full["tags"], "tiny": snapshot(home)["tags"]}
    assert tagged["default"] != tagged["tiny"] and set(tagged["tiny"]) == {"cells"}

    rng = random.Random(seed())
    chunks = -(-REBUILD_DOCUMENTS // REBUILD_BATCH)
    # after 0..all commits into the new index (all: the switch is next), then a random part of a gap
    moments = [(round(i * chunks / (REBUILD_KILLS - 1)), rng.random()) for i in range(REBUILD_KILLS)]
    rng.shuffle(moments)
    outcomes = []
    files = {"default": default_taxonomy_path(), "tiny": tiny}
    for i, (commits, fraction) in enumerate(moments):
        # every trial switches the taxonomy (kb taxonomy use: store it and re-tag in one rebuild)
        current = snapshot(home)
        target = "default" if current["tags"] == tagged["tiny"] else "tiny"
        args = ("taxonomy", "use", files[target], "--home", home, "--batch-size", REBUILD_BATCH)
        before = current["live"]
        proc = KbProcess(*args)
        proc.wait_commits(commits)
        time.sleep(fraction * (0.1 if commits == chunks else duration / (chunks + 2)))
        killed = proc.kill9()
        snap = snapshot(home)
        assert whole_document_problems(snap, expected) == [], (i, killed)
        assert sorted(snap["docs"]) == sorted(expected)
        live_is = [name for name, tags in tagged.items() if tags == snap["tags"]]
        assert live_is, f"tags of neither index, a mix: {snap['tags']}"
        if snap["live"] == before:
            assert killed, proc.stderr
        else:
            assert live_is == [target]
        assert not lock_held(home)
        dirs = [d.name for d in (home / "index").iterdir() if d.is_dir()]
        assert len(dirs) <= 2, f"a rebuild leaves at most one half-built directory, not {dirs}"
        outcomes.append((commits, "killed" if killed else "finished",
                         "old" if snap["live"] == before else "new"))
    print(f"kill -9 trials of kb rebuild ({REBUILD_DOCUMENTS} documents, a rebuild takes {duration:.1f} s): "
          f"{outcomes}")
    assert sum(k == "killed" for _, k, _ in outcomes) >= REBUILD_KILLS // 2

    note = tmp_path / "note.txt"
    note.write_text("A note\n\nThe WHO shipped vaccines to developing countries.\n")
    again = KbProcess("ingest", note, "--home", home, "--lock-timeout", 2)
    assert again.finish() == 0, again.stderr       # a write clears what killed rebuilds left
    assert debris(home) == []
    assert len(snapshot(home)["docs"]) == REBUILD_DOCUMENTS + 1
