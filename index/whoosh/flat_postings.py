"""A segment's long postings lists also kept as flat arrays (docnums, term weights) in a file of
the segment, read by slicing its memory map.

Whoosh stores postings in blocks of 128, each a compressed pickle of a tuple of docnums, weights
and every posting's positions. Scoring needs no positions, yet a short query at a million
passages unpickled tens of thousands of such blocks: 80-250 ms of its time, ``pickle.loads`` and
``zlib`` (#18). The streaming merge (``segment_merge``) has each term's postings in hand and
writes every list longer than one block here too, keyed by where the list starts in Whoosh's
postings file (so Whoosh's own term dictionary finds it). The file goes into the segment's
compound file, so it lives and dies with the segment, and the table of contents that names the
segment is the commit that makes it visible. A segment without it (one written by Whoosh's own
writer: small and fresh) is read from its blocks, as is any list not in it.

Layout: for each list, its docnums (``<u4``) then its weights (none when all are 1.0, ``u1``
when all are whole numbers below 256, else ``<f4``), padded to 4 bytes; then a table of
(start in the postings file, position here, count, weight kind), sorted by start; then a
footer (magic, table position, rows)."""
from __future__ import annotations

import struct

import numpy as np

from .column_arrays import file_bytes

EXT = ".flat"
_MAGIC = b"KBFLAT01"
_FOOTER = struct.Struct("<8sqq")
_TABLE = np.dtype([("start", "<i8"), ("at", "<i8"), ("count", "<i8"), ("kind", "<i8")])
_ONES, _BYTES, _FLOATS = 0, 1, 2
_WEIGHT_TYPE = {_BYTES: np.dtype("u1"), _FLOATS: np.dtype("<f4")}


class FlatPostingsWriter:
    """Written beside the merged segment's postings, list by list, in the order of their starts."""

    def __init__(self, segment, storage, min_postings: int):
        self.min_postings = min_postings
        self._file = segment.create_file(storage, EXT)
        self._rows: list[tuple[int, int, int, int]] = []
        self._at = 0

    def add(self, start: int, ids, weights) -> None:
        """A term's postings (docnums ascending, weights), its list starting at ``start``."""
        if len(ids) < self.min_postings:
            return
        weights = np.asarray(weights, dtype=np.float32)
        if (weights == 1.0).all():
            kind, data = _ONES, b""
        elif ((weights >= 0) & (weights < 256) & (weights == np.floor(weights))).all():
            kind, data = _BYTES, weights.astype("u1").tobytes()
        else:
            kind, data = _FLOATS, weights.astype("<f4").tobytes()
        data = np.asarray(ids, dtype="<u4").tobytes() + data
        data += b"\0" * (-len(data) % 4)
        self._file.write(data)
        self._rows.append((start, self._at, len(ids), kind))
        self._at += len(data)

    def close(self) -> None:
        table = np.array(self._rows, dtype=_TABLE)
        pad = b"\0" * (-self._at % 8)
        self._file.write(pad + table.tobytes() + _FOOTER.pack(_MAGIC, self._at + len(pad), len(table)))
        self._file.close()


def written(storage, segment) -> bool:
    """Whether the segment has the file (the streaming merge wrote it), whatever its lists."""
    name = segment.make_filename(EXT)
    if not segment.is_compound():
        return storage.file_exists(name)
    inside = segment.open_compound_file(storage)
    try:
        return inside.file_exists(name)
    finally:
        inside.close()


class FlatPostings:
    """The flat lists of one segment reader, or ``open`` gives None when the segment has none."""

    def __init__(self, dbfile, length: int):
        self._file = dbfile
        magic, at, rows = _FOOTER.unpack(file_bytes(dbfile, length - _FOOTER.size, _FOOTER.size))
        if magic != _MAGIC:
            raise ValueError(f"not a file of flat postings: {magic!r}")
        table = np.frombuffer(file_bytes(dbfile, at, rows * _TABLE.itemsize), dtype=_TABLE).copy()
        self._starts = table["start"]
        self._table = table

    @classmethod
    def open(cls, reader) -> FlatPostings | None:
        storage, name = reader.storage(), reader.segment().make_filename(EXT)
        if not storage.file_exists(name):
            return None
        return cls(storage.open_file(name), storage.file_length(name))

    def postings(self, start: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(docnums int64, weights float64) of the list starting at ``start``; None if not here."""
        i = int(np.searchsorted(self._starts, start))
        if i == len(self._starts) or self._starts[i] != start:
            return None
        _, at, count, kind = self._table[i].tolist()
        ids = np.frombuffer(file_bytes(self._file, at, 4 * count), dtype="<u4").astype(np.int64)
        if kind == _ONES:
            return ids, np.ones(count)
        dtype = _WEIGHT_TYPE[kind]
        raw = file_bytes(self._file, at + 4 * count, dtype.itemsize * count)
        return ids, np.frombuffer(raw, dtype=dtype).astype(np.float64)
