"""Tools for tests that break things on purpose: a `kb` process watched line by line and killed
with SIGKILL at a chosen moment, a probe of the index write lock, and what a reader finds in a
knowledge base afterwards (passages per document, orphans, debris)."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import TOC

from bench import synthetic
from index.storage import LOCK, POINTER
from index.whoosh.engine import WhooshIndex

from . import KB_BIN

TOKEN = "tok-6b1f0c2e9d4a7753"
FORBIDDEN_IN_ERRORS = ("Traceback", "/work", ".py", "File \"", "site-packages")
HTML_TEXT = ('Zebra markup test\n\nThe zebra wrote <script>alert("zebra")</script> and '
             '<img src=x onerror=alert(1)> & more zebra notes on public health.')
COMMITTED = re.compile(r"committed (\d+) documents(?:, (\d+) passages)?")


class KbProcess:
    """A real `kb` subprocess whose stderr lines are collected (with arrival times) as they come."""

    def __init__(self, *args, env: dict | None = None):
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen([str(KB_BIN), *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self._stdout: list[str] = []
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=self._read_out, daemon=True)]
        for t in self._readers:
            t.start()

    def _read_err(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def _read_out(self):
        self._stdout.extend(self.proc.stdout)

    def commits(self) -> list[tuple[float, int, int]]:
        """(time seen, documents, passages) for every 'committed' line so far."""
        out = []
        for seen, line in list(self.lines):
            m = COMMITTED.search(line)
            if m:
                out.append((seen, int(m.group(1)), int(m.group(2) or 0)))
        return out

    def wait_commits(self, count: int, timeout: float = 600) -> bool:
        """True once `count` commits are reported, False if the process ended first."""
        deadline = time.monotonic() + timeout
        while len(self.commits()) < count:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return len(self.commits()) >= count
            time.sleep(0.01)
        return True

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> bool:
        """SIGKILL now; True if it was still running (a real kill, not a finished process)."""
        if self.proc.poll() is not None:
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.finish()
        return self.proc.returncode == -signal.SIGKILL

    def finish(self, timeout: float = 900) -> int:
        self.proc.wait(timeout=timeout)
        for t in self._readers:
            t.join(timeout=10)
        return self.proc.returncode

    @property
    def stdout(self) -> str:
        return "".join(self._stdout)

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def last_committed(self) -> int:
        commits = self.commits()
        return commits[-1][1] if commits else 0


def abstracts(path: Path, start: int, count: int) -> list[str]:
    """Write generated abstracts [start, start + count) to a JSONL file; their ids in order. Like
    scientific abstracts in size (100 to 300 words in sentences: one or two passages each), the
    same every run (bench/synthetic.py; no outside data)."""
    docs = list(synthetic.documents(start + count, min_words=100, max_words=300, seed=3))[start:]
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf-8")
    return [doc["_id"] for doc in docs]


def lock_held(home: Path) -> bool:
    """Whether some process holds the knowledge base's write lock right now (a non-blocking
    probe that lets go at once)."""
    path = home / "index" / LOCK
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return True
        raise
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def wait_lock_held(home: Path, proc: KbProcess, timeout: float = 600) -> bool:
    deadline = time.monotonic() + timeout
    while proc.alive() and time.monotonic() < deadline:
        if lock_held(home):
            return True
        time.sleep(0.01)
    return False


def snapshot(home: Path) -> dict:
    """What a reader of the live index finds: ``docs`` {document id: passage ordinals},
    ``orphans`` {document id: passages whose document record is missing}, and the live directory."""
    ix = WhooshIndex(home / "index")
    try:
        s = ix.searcher()
        ordinals: dict[str, list[int]] = {f["id"]: [] for f in s.documents(kind="d")}
        orphans: dict[str, int] = defaultdict(int)
        for fields in s.documents(kind="p"):
            doc = fields["document_id"]
            if doc in ordinals:
                ordinals[doc].append(fields["ordinal"])
            else:
                orphans[doc] += 1
        tags: dict[str, int] = defaultdict(int)
        for fields in s.documents(kind="p"):
            for tag in filter(None, (fields.get("tags") or "").split(",")):
                tags[tag] += 1
        live = (home / "index" / POINTER).read_text().strip()
        return {"docs": {d: sorted(o) for d, o in ordinals.items()}, "orphans": dict(orphans),
                "tags": dict(tags), "live": live}
    finally:
        ix.close()


def whole_document_problems(snap: dict, expected: dict[str, int]) -> list[str]:
    """Every way the snapshot breaks "each document whole, no half document"."""
    problems = [f"{doc}: {n} passages without their document" for doc, n in snap["orphans"].items()]
    for doc, ordinals in snap["docs"].items():
        want = expected.get(doc)
        if want is None:
            problems.append(f"{doc}: not a document of the input")
        elif ordinals != list(range(1, want + 1)):
            problems.append(f"{doc}: passages {ordinals[:8]}... ({len(ordinals)}), a clean ingest has {want}")
    return problems


def debris(home: Path) -> list[str]:
    """Leftovers of killed writers: stale index directories, temporaries, unreferenced segments."""
    index = home / "index"
    live = index / (index / POINTER).read_text().strip()
    found = [p.name for p in index.iterdir() if p.is_dir() and p != live]
    found += [p.name for p in index.iterdir() if p.name.startswith(f".{POINTER}.")]
    segments = {s.segment_id() for s in TOC.read(FileStorage(str(live)), "MAIN").segments}
    for p in live.iterdir():
        if p.name.endswith(".tmp") or ".toc." in p.name:
            found.append(p.name)
        elif p.name.startswith("MAIN_") and p.name != "MAIN_WRITELOCK" and p.name.split(".")[0] not in segments:
            found.append(p.name)
    return found
