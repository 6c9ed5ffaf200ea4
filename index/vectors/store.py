"""Passage embeddings stored beside the Whoosh index they belong to (``<index dir>/vectors/``).

Why this shape: the Whoosh index commits once per batch, and the vectors must never get out of
step with it, even after a kill between the two writes. So each vector is keyed by its passage
id *and* a fingerprint of the passage's content (title, section, text), and a live passage counts
as embedded only when a stored vector carries its current fingerprint. A vector written for a
batch whose Whoosh commit never landed, or for a passage since re-ingested or deleted, is simply
never matched (and is dropped by the next compaction); a passage committed without its vector
reads as "not embedded yet".

Each batch writes one segment file (``seg-<n>.npz``: ids, fingerprints, a float16 matrix, the
model name) to a temporary name and renames it into place, so a reader sees a segment whole or
not at all. Later segments win over earlier ones. ``compact`` folds the segments into one,
keeping only live vectors. numpy is imported here only: it comes with the ``semantic`` extra.
"""
from __future__ import annotations

import hashlib
import itertools
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEGMENT = re.compile(r"^seg-(\d+)\.npz$")
_loads = itertools.count(1)   # tells one loaded table from the next (see index.hybrid.embedded)
MAX_SEGMENTS = 32   # compact when a write would leave more than this many


def fingerprint(title: str, section: str, text: str) -> str:
    """What a passage's embedding depends on: its document title, section and text."""
    digest = hashlib.blake2b(digest_size=12)
    for part in (title or "", section or "", text or ""):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass
class VectorTable:
    """Every stored vector of one model, merged over the segments: id → (fingerprint, row)."""

    model: str
    rows: dict[str, tuple[str, int]]
    matrix: np.ndarray          # float32, one unit-length row per vector
    generation: int = 0

    def lookup(self, passage_id: str, key: str) -> int | None:
        found = self.rows.get(passage_id)
        return found[1] if found is not None and found[0] == key else None


class VectorStore:
    """The segment files of one index directory."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._cached: tuple[tuple, str, VectorTable] | None = None

    # ------------------------------------------------------------------ writing

    def add(self, ids: list[str], keys: list[str], vectors, model: str) -> Path | None:
        """Write one segment atomically (temp file, fsync, rename). Returns its path."""
        if not ids:
            return None
        matrix = np.asarray(vectors, dtype=np.float16)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids) or len(keys) != len(ids):
            raise ValueError(f"{len(ids)} ids, {len(keys)} keys and a {matrix.shape} matrix do not match")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._remove_debris()
        path = self.directory / f"seg-{self._next_number():08d}.npz"
        self._write(path, ids, keys, matrix, model)
        return path

    def _remove_debris(self) -> None:
        """Temporary files of writers killed mid-write (called by a writer, under the write lock)."""
        for tmp in self.directory.glob(".seg-*.tmp"):
            tmp.unlink(missing_ok=True)

    def compact(self, live: dict[str, str], model: str) -> None:
        """Fold every segment into one holding only the vectors of live passages (id → fingerprint)."""
        segments = self._segments()
        if len(segments) <= 1 and not self._has_dead(live, model):
            return
        table = self.load(model)
        ids, keys, rows = [], [], []
        for passage_id, (key, row) in table.rows.items():
            if live.get(passage_id) == key:
                ids.append(passage_id)
                keys.append(key)
                rows.append(row)
        matrix = table.matrix[rows] if rows else np.zeros((0, table.matrix.shape[1] or 0), np.float32)
        path = self.directory / f"seg-{self._next_number():08d}.npz"
        self._write(path, ids, keys, matrix.astype(np.float16), model)
        for old in segments:
            old.unlink(missing_ok=True)

    def needs_compaction(self) -> bool:
        return len(self._segments()) > MAX_SEGMENTS

    def _has_dead(self, live: dict[str, str], model: str) -> bool:
        table = self.load(model)
        return any(live.get(pid) != key for pid, (key, _) in table.rows.items())

    def _write(self, path: Path, ids, keys, matrix: np.ndarray, model: str) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, ids=np.asarray(ids, dtype=str), keys=np.asarray(keys, dtype=str),
                     vectors=matrix, model=np.asarray(model))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.directory)

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for p in self.directory.glob("seg-*.npz") if (m := SEGMENT.match(p.name))]
        return max(numbers, default=0) + 1

    # ------------------------------------------------------------------ reading

    def _segments(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir() if (m := SEGMENT.match(p.name))]
        return [p for _, p in sorted(found)]

    def _signature(self) -> tuple:
        out = []
        for p in self._segments():
            try:
                out.append((p.name, p.stat().st_mtime_ns))
            except FileNotFoundError:   # compacted away while listing
                continue
        return tuple(out)

    def load(self, model: str) -> VectorTable:
        """The merged table (cached until a segment is added or removed)."""
        signature = self._signature()
        with self._lock:
            cached = self._cached
            if cached is not None and cached[0] == signature and cached[1] == model:
                return cached[2]
            table = self._merge(model)
            self._cached = (self._signature(), model, table)
            return table

    def _merge(self, model: str) -> VectorTable:
        for _ in range(5):
            try:
                return self._read_all(model)
            except FileNotFoundError:   # a concurrent compaction replaced the segments: list again
                continue
        return self._read_all(model)

    def _read_all(self, model: str) -> VectorTable:
        rows: dict[str, tuple[str, int]] = {}
        blocks, count = [], 0
        for path in self._segments():
            with np.load(path, allow_pickle=False) as data:
                if str(data["model"]) != model:
                    continue
                ids, keys, vectors = data["ids"], data["keys"], data["vectors"]
            blocks.append(vectors.astype(np.float32))
            for i, (pid, key) in enumerate(zip(ids.tolist(), keys.tolist())):
                rows[pid] = (key, count + i)
            count += len(ids)
        dim = blocks[0].shape[1] if blocks else 0
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)
        return VectorTable(model=model, rows=rows, matrix=matrix, generation=next(_loads))

    def nbytes(self) -> int:
        return sum(p.stat().st_size for p in self._segments() if p.exists())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
