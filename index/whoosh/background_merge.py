"""Merges that run in a child process while a bulk load goes on (#18).

A merge of ten 10,000-record segments takes about a minute of CPU; run inside a commit, it held
a bulk load that long every 50,000 passages. During a bulk load (``WhooshIndex.bulk_load``) a
large merge the tiered policy picks runs instead in a spawned process, on the core the writer
leaves idle, and writes its segment into a work directory inside the index (``<token>.merge``).
A later commit of the same load, under kb's write lock, swaps it in: the segment's file moves
into the index and the new table of contents names it in place of the segments it merged, with
the documents deleted from those since the merge began deleted in it too. If any of them is gone
by then (another writer merged it), the result is dropped.

The parent alone writes tables of contents, so a kill -9 at any moment leaves the last commit: the
child dies with its parent (``PR_SET_PDEATHSIG``), and the work directory, whose lock only the
parent held, is debris the next writer removes (``storage.remove_debris``). A spawned child
inherits no descriptor, so it never holds kb's write lock.
"""
from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import multiprocessing
import os
import secrets
import shutil
import signal
from pathlib import Path

from whoosh.filedb.filestore import FileStorage

from .. import storage
from . import merging, segment_merge

log = logging.getLogger("kb")

MIN_RECORDS = 20_000   # smaller merges run in the commit: a child process costs ~1 s to start


class Running:
    """One merge in a child process: its sources as they were when it began, and its result."""

    def __init__(self, folder: Path, schema, segments, indexname: str):
        self.folder = folder
        self.sources = [seg.segment_id() for seg in segments]
        self.deleted_then = [set(seg.deleted_docs()) for seg in segments]
        self.docmaps = [segment_merge.live_docmap(seg) for seg in segments]
        self.workdir = folder / f"{secrets.token_hex(8)}{storage.MERGE_SUFFIX}"
        self.workdir.mkdir()
        self._lock = os.open(self.workdir / storage.MERGE_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._lock, fcntl.LOCK_EX)   # held while it runs: not debris
        context = multiprocessing.get_context("spawn")
        self._result, sender = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_merge_in_child, daemon=True, name="kb-merge",
            args=(str(folder), str(self.workdir), schema, segments, indexname, sender, os.getpid()))
        self._process.start()
        sender.close()

    def ready(self) -> bool:
        return self._result.poll()

    def wait(self) -> None:
        self._result.poll(None)

    def swap(self, segments) -> list | None:
        """``segments`` with the merged segment in place of its sources, or None when the merge
        failed or a source is gone (then nothing changes)."""
        try:
            merged = self._result.recv()
        except EOFError:
            self._process.join(10)
            merged = f"the merging process ended with code {self._process.exitcode}"
        if not isinstance(merged, segment_merge.MergedSegment):
            log.warning("a background merge failed, its segments stay as they were: %s", merged)
            return None
        current = {seg.segment_id(): seg for seg in segments}
        if any(s not in current for s in self.sources):   # another writer merged one meanwhile
            return None
        base = 0
        for sid, then, docmap in zip(self.sources, self.deleted_then, self.docmaps):
            for docnum in set(current[sid].deleted_docs()) - then:   # deleted while it merged
                if docmap[docnum] >= 0:
                    merged.segment.delete_document(base + docmap[docnum])
            base += sum(1 for d in docmap if d >= 0)
        for name in merged.files:
            os.replace(self.workdir / name, self.folder / name)
        return [seg for seg in segments if seg.segment_id() not in self.sources] + [merged.segment]

    def close(self) -> None:
        """Stop the child if it still runs and remove the work directory."""
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._result.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        os.close(self._lock)


class BackgroundMerges:
    """The merges of one bulk load on one index directory, one at a time."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: Running | None = None
        self.commits = 0

    def mergetype(self, writer, segments):
        """A ``mergetype`` for Whoosh's ``writer.commit``: swap a finished merge in, then start
        the next large one in the background (a small one runs here, as ``merging.tiered``)."""
        if self.running is not None and self.running.ready():
            segments = self._swap(segments)
        self.commits += 1
        if self.running is not None:   # one at a time
            return segments
        partial = self.commits > 1   # a load of one commit does not wait for a merge of large segments
        chosen = merging.chosen_segments(segments, partial)
        if not chosen or sum(seg.doc_count() for seg in chosen) < MIN_RECORDS:
            return merging.tiered(writer, segments, partial)
        self.running = Running(self.folder, writer.schema, chosen, writer.indexname)
        return segments

    def swap_when_done(self, writer, segments):
        """A ``mergetype`` for the load's last commit: wait for the running merge and swap it in."""
        if self.running is not None:
            self.running.wait()
            segments = self._swap(segments)
        return segments

    def _swap(self, segments):
        running, self.running = self.running, None
        try:
            swapped = running.swap(segments)
        finally:
            running.close()
        return segments if swapped is None else swapped

    def cancel(self) -> None:
        if self.running is not None:
            self.running.close()
            self.running = None


def _merge_in_child(folder, workdir, schema, segments, indexname, sender, parent) -> None:
    _die_with(parent)
    try:
        into = FileStorage(workdir)
        merged = segment_merge.merge(FileStorage(folder), schema, segments, indexname, into=into)
        result = segment_merge.MergedSegment(merged, list(merged.list_files(into)))
    except Exception as e:  # noqa: BLE001 - the parent drops the merge; the load goes on
        result = f"{type(e).__name__}: {e}"
    with contextlib.suppress(OSError):   # the parent may have cancelled it
        sender.send(result)
        sender.close()


def _die_with(parent: int) -> None:
    """Be killed when the parent dies, however it dies (Linux); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
