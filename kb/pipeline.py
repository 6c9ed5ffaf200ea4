"""Preparing documents (split, tag, keyphrases) in worker processes while the caller writes the
index: results come back in input order, a chunk of documents per task.

Splitting and tagging are pure Python, so threads would not help; forked workers inherit the
compiled tagger and splitter instead of rebuilding them. Small inputs never start a pool (the
first chunk is prepared in-process), and where ``fork`` is unavailable or a worker dies,
preparation goes on in-process: the same results, only slower.

A worker never outlives its parent nor keeps its locks: it asks the kernel for SIGKILL when the
parent dies, and closes the write-lock descriptors it inherited (a ``kill -9`` of ``kb rebuild``
must leave the knowledge base unlocked, and an ``flock`` lives while any copy of it is open).
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator

_prepare: Callable | None = None  # the worker's preparation function, inherited through fork


LOCK_FILES = ("write.lock", "WRITELOCK")  # kb's write lock, Whoosh's MAIN_WRITELOCK
_PR_SET_PDEATHSIG = 1


def _init(prepare: Callable, parent: int) -> None:
    global _prepare
    _prepare = prepare
    try:  # Linux: die with the parent, even on its kill -9
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent died before the request was made
        os._exit(1)
    _drop_inherited_locks()


def _drop_inherited_locks() -> None:
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:  # pragma: no cover - not Linux
        return
    for name in fds:
        try:
            if os.readlink(f"/proc/self/fd/{name}").endswith(LOCK_FILES):
                os.close(int(name))
        except OSError:
            continue


def _run_chunk(tasks: list) -> list:
    return [_attempt(_prepare, task) for task in tasks]


def _attempt(prepare: Callable, task):
    try:
        return True, prepare(task)
    except ValueError as exc:  # a document that cannot be prepared: reported, not fatal
        return False, exc


class Preparer:
    """``map(tasks)`` yields ``(task, ok, result-or-ValueError)`` in order; ``prepare(task)`` runs
    in ``workers`` processes (0: in-process). Other exceptions propagate, as they would in-process."""

    def __init__(self, prepare: Callable, workers: int, chunk: int = 16, ahead: int = 64,
                 weigh: Callable[[object], int] | None = None, chunk_weight: int = 1 << 20,
                 pending_weight: int = 64 << 20):
        self.prepare = prepare
        self.workers = workers
        self.chunk = chunk
        # Chunks prepared ahead of the writer, per worker: enough to keep the workers busy while
        # the main process commits (16 per worker left them idle for ~1.5 s of 25 on SciFact);
        # ``weigh`` (a task's size, e.g. its characters) closes a chunk at ``chunk_weight`` and
        # stops submitting past ``pending_weight`` in all, so what waits in memory stays bounded
        # for big documents too.
        self.ahead = ahead
        self.weigh = weigh
        self.chunk_weight = chunk_weight
        self.pending_weight = pending_weight
        self._pool: ProcessPoolExecutor | None = None

    def map(self, tasks: Iterable) -> Iterator[tuple[object, bool, object]]:
        chunks = _chunks(tasks, self.chunk, self.weigh, self.chunk_weight)
        first = next(chunks, None)
        if first is None:
            return
        yield from self._local(first)
        pending: deque = deque()
        weight = [0]

        def collect():
            chunk, future = pending.popleft()
            weight[0] -= self._weight(chunk)
            return self._collect(chunk, future)

        try:
            for chunk in chunks:
                future = self._submit(chunk)
                if future is None:  # no pool (any more): what is pending first, then this
                    while pending:
                        yield from collect()
                    yield from self._local(chunk)
                    continue
                pending.append((chunk, future))
                weight[0] += self._weight(chunk)
                while (len(pending) > self.workers * self.ahead
                       or (len(pending) > 1 and weight[0] > self.pending_weight)):
                    yield from collect()
            while pending:
                yield from collect()
        finally:
            self.close()

    def _weight(self, chunk: list) -> int:
        return sum(map(self.weigh, chunk)) if self.weigh else 0

    def _local(self, chunk: list):
        for task in chunk:
            ok, result = _attempt(self.prepare, task)
            yield task, ok, result

    def _collect(self, chunk: list, future):
        try:
            outcomes = future.result()
        except BrokenProcessPool:  # a worker died (killed, out of memory): carry on in-process
            self.workers = 0
            yield from self._local(chunk)
            return
        for task, (ok, result) in zip(chunk, outcomes):
            yield task, ok, result

    def _submit(self, chunk: list):
        if not self._start():
            return None
        try:
            return self._pool.submit(_run_chunk, chunk)
        except BrokenProcessPool:
            self.workers = 0
            return None

    def _start(self) -> bool:
        if self._pool is not None:
            return self.workers > 0
        if self.workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
            return False
        self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                         initializer=_init, initargs=(self.prepare, os.getpid()))
        return True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _chunks(tasks: Iterable, size: int, weigh: Callable | None = None, max_weight: int = 0) -> Iterator[list]:
    chunk: list = []
    weight = 0
    for task in tasks:
        chunk.append(task)
        weight += weigh(task) if weigh else 0
        if len(chunk) >= size or (weigh and weight >= max_weight):
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk
