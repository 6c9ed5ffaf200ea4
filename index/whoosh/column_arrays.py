"""A column of every document at once, read from the segment's bytes.

Whoosh reads a column one value at a time, each a seek and a read in Python (~5 µs): a searcher's
first facet count read the ``document_id`` and ``ordinal`` columns of a million documents in
21 s. Here a segment's ``VarBytesColumn`` is cut from its data by the offsets and lengths Whoosh
keeps for it, and a ``NumericColumn`` is one numpy array."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from whoosh import columns
from whoosh.filedb.structfile import BufferFile


def file_bytes(dbfile, start: int, length: int):
    """The bytes of the file from ``start``: a slice of the mapping when it is one (no copy)."""
    if isinstance(dbfile, BufferFile):
        return dbfile._buf[start:start + length]
    return dbfile.get(start, length)


def _leaf_column(leaf, fieldname: str, column):
    if fieldname not in leaf.schema or not leaf.has_column(fieldname):   # an index made before the field
        return None
    return leaf._perdoc.column_reader(fieldname, column)


def var_bytes(reader, fieldname: str, docnums=None) -> list[bytes]:
    """The ``VarBytesColumn`` values of ``docnums`` (every document when None) of a reader of one or
    more segments, ``b""`` where a document (or its segment) has none."""
    out: list[bytes] = []
    for segment_docnums, values, _ in _by_segment(reader, fieldname, docnums):
        out.extend(values(segment_docnums))
    return out


def iter_var_bytes(reader, fieldname: str, docnums) -> Iterator[tuple[int, bytes]]:
    """(docnum, value) of each of ``docnums`` (ascending), a segment at a time: memory for one value."""
    for segment_docnums, values, base in _by_segment(reader, fieldname, docnums):
        for docnum, value in zip(segment_docnums, values(segment_docnums)):
            yield docnum + base, value


def _by_segment(reader, fieldname: str, docnums):
    """Per segment: (its docnums, counted from 0, a function of those docnums to their values, the
    segment's first docnum in the reader)."""
    wanted = None if docnums is None else np.asarray(docnums, dtype=np.int64)
    for leaf, base in reader.leaf_readers():
        n = leaf.doc_count_all()
        if wanted is None:
            local = range(n)
        else:
            lo, hi = np.searchsorted(wanted, [base, base + n])
            local = (wanted[lo:hi] - base).tolist()
        column = _leaf_column(leaf, fieldname, columns.VarBytesColumn())
        values = _empty if column is None else _cutter(column)
        yield local, values, base


def _empty(docnums) -> list[bytes]:
    return [b""] * len(docnums)


def _cutter(column):
    offsets, lengths = column._offsets, column._lengths
    data = file_bytes(column._dbfile, column._basepos, (offsets[-1] + lengths[-1]) if len(lengths) else 0)
    as_bytes = isinstance(data, bytes)

    def values(docnums) -> list[bytes]:
        if as_bytes:
            return [data[offsets[d]:offsets[d] + lengths[d]] for d in docnums]
        return [bytes(data[offsets[d]:offsets[d] + lengths[d]]) for d in docnums]
    return values


def numeric_sortable(reader, fieldname: str, field) -> np.ndarray:
    """Every document's value of a ``NUMERIC(sortable=True)`` field as Whoosh keeps it in the column
    (ordered as the numbers are), the column's default where a document has none."""
    dtype = np.dtype(">" + field.column_type._typecode)
    parts = []
    for leaf, _ in reader.leaf_readers():
        n = leaf.doc_count_all()
        column = _leaf_column(leaf, fieldname, field.column_type)
        values = np.full(n, field.column_type.default_value(), dtype=dtype)
        if column is not None:
            count = min(column._count, n)   # the writer leaves out the defaults at the end
            values[:count] = np.frombuffer(file_bytes(column._dbfile, column._basepos, count * dtype.itemsize),
                                           dtype=dtype, count=count)
        parts.append(values.astype(dtype.newbyteorder("=")))
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
