"""Merging segments into one by streaming their postings, already sorted, instead of sorting them.

Whoosh merges a segment by feeding each of its postings, one tuple at a time, into the new
segment's external sort (``PostingPool``), which sorts them all again in Python: about 200 s
for ten segments of 10,000 records, the stall of a bulk load every 55,000 passages (#18). Each
segment's postings are sorted already (by field, term, document), and in the merged segment
the documents come segment after segment, so a term's merged postings are its postings in each
segment in turn, shifted. Here the terms of all segments are walked in order (a heap over their
term lists) and each term's postings are copied block by block: document numbers shifted,
deleted documents dropped, re-blocked and encoded by Whoosh's own postings writer, so the
merged segment is what Whoosh's merge would write; each list longer than a block is also
written flat, for scoring to read without unpickling (``flat_postings``). Stored fields, lengths and sortable columns
are copied document by document, as Whoosh does (a segment made before the ``card`` column
gets it: merges bring an older index up to date).
"""
from __future__ import annotations

import heapq
from array import array
from dataclasses import dataclass
from itertools import accumulate, compress, groupby
from operator import itemgetter

from whoosh.codec import whoosh3
from whoosh.reading import SegmentReader
from whoosh.util.numeric import byte_to_length

from .flat_postings import FlatPostingsWriter
from .posting_arrays import read_length_codes
from .records import card_from_stored


@dataclass
class MergedSegment:
    """A merge's result as a child process hands it over: the segment and the names of its files."""
    segment: object
    files: list[str]


def supports(schema) -> bool:
    """Whether ``merge`` can take segments of this schema: no term vectors (kb's schema has none)."""
    return not any(field.vector for _, field in schema.items())


def merge(storage, schema, segments, indexname: str, into=None):
    """One new segment holding the live documents of ``segments`` (read from ``storage``) in their
    order, written to ``into`` (by default ``storage``) and not yet in any table of contents."""
    into = storage if into is None else into
    codec = segments[0].codec()
    merged = codec.new_segment(into, indexname)
    readers = [SegmentReader(storage, schema, seg) for seg in segments]
    try:
        docmaps = _copy_documents(codec, into, schema, merged, readers)
        _copy_postings(codec, into, schema, merged, readers, docmaps)
    finally:
        for reader in readers:
            reader.close()
    if merged.should_assemble():
        merged.create_compound_file(into)
    return merged


def live_docmap(segment) -> list[int]:
    """What ``merge`` numbers each document of ``segment`` from 0 (-1: deleted), from its deletions."""
    deleted = set(segment.deleted_docs())
    docmap, n = [], 0
    for docnum in range(segment.doc_count_all()):
        if docnum in deleted:
            docmap.append(-1)
        else:
            docmap.append(n)
            n += 1
    return docmap


def _length_codes(reader, fieldname: str) -> list[int]:
    """The length byte of ``fieldname`` of every document of the segment (0: none stored)."""
    return read_length_codes(reader, fieldname, missing=0).tolist()


def _copy_documents(codec, storage, schema, merged, readers) -> list[list[int]]:
    """Stored fields, field lengths and columns of every live document; returns each segment's
    map from its document numbers to the merged ones (-1: deleted)."""
    writer = codec.per_document_writer(storage, merged)
    names = sorted(schema.names())
    docnum = 0
    docmaps = []
    for reader in readers:
        lengths = {name: _length_codes(reader, name) for name in names}
        columns = {name: reader._perdoc.column_reader(name, schema[name].column_type)
                   for name in names if schema[name].column_type and reader.has_column(name)}
        docmap = [-1] * reader.doc_count_all()
        for old, stored in reader.iter_docs():
            docmap[old] = docnum
            writer.start_doc(docnum)
            for name in names:
                field = schema[name]
                writer.add_field(name, field, stored.get(name), byte_to_length(lengths[name][old]))
                if name in columns:
                    writer.add_column_value(name, field.column_type, columns[name][old])
                elif name == "card":   # a segment made before cards: the merge writes them
                    writer.add_column_value(name, field.column_type, card_from_stored(stored))
            writer.finish_doc()
            docnum += 1
        docmaps.append(docmap)
    writer.close()
    merged.set_doc_count(docnum)
    return docmaps


def _terms(reader, fieldname: str, index: int):
    terms = reader._terms
    if fieldname not in terms._fieldmap:
        return
    for (name, btext), info in terms.items_from(fieldname, b""):
        if name != fieldname:
            return
        yield btext, index, info


def _copy_postings(codec, storage, schema, merged, readers, docmaps) -> None:
    writer = codec.field_writer(storage, merged)
    flat = FlatPostingsWriter(merged, storage, min_postings=codec._blocklimit + 1)
    indexed = set()
    for reader in readers:
        indexed.update(name for name in reader._terms.indexed_field_names() if name in schema)
    for fieldname in sorted(indexed):
        field = schema[fieldname]
        lengths = [_length_codes(reader, fieldname) for reader in readers]
        writer.start_field(fieldname, field)
        terms = heapq.merge(*(_terms(r, fieldname, i) for i, r in enumerate(readers)))
        for btext, group in groupby(terms, key=itemgetter(0)):
            ids, weights, values, codes = [], [], [], []
            for _, i, info in group:
                _append_postings(readers[i], info, field.format, docmaps[i], lengths[i],
                                 ids, weights, values, codes)
            if ids:
                writer.start_term(btext)
                flat.add(writer._postwriter._startoffset, ids, weights)
                _write_postings(writer._postwriter, codec._blocklimit, ids, weights, values, codes)
                writer.finish_term()
        writer.finish_field()
    writer.close()
    flat.close()


def _append_postings(reader, info, fmt, docmap, lengths, ids, weights, values, codes) -> None:
    """A term's postings in one segment, live documents only, numbered as in the merged segment."""
    seg_ids, seg_weights, seg_values = _read_postings(reader, info, fmt)
    new_ids = [docmap[d] for d in seg_ids]
    seg_codes = [lengths[d] for d in seg_ids]
    if -1 in new_ids:
        live = [d >= 0 for d in new_ids]
        new_ids = list(compress(new_ids, live))
        seg_weights = list(compress(seg_weights, live))
        seg_values = list(compress(seg_values, live))
        seg_codes = list(compress(seg_codes, live))
    ids.extend(new_ids)
    weights.extend(seg_weights)
    values.extend(seg_values)
    codes.extend(seg_codes)


def _read_postings(reader, info, fmt):
    """(docnums, weights, values) of a term in one segment, decoded block by block."""
    if info.is_inlined():
        ids, weights, values = info.inlined_postings()
        return list(ids), list(weights), list(values)
    offset, _ = info.extent()
    m = whoosh3.W3LeafMatcher(reader._terms._postfile, offset, None, fmt)
    fixed = fmt.fixed_value_size()
    ids, weights, values = [], [], []
    while m.is_active():
        m._read_data()
        raw_ids, raw_weights, raw_values = m._data
        count = m._blocklength
        ids.extend(accumulate(raw_ids))   # stored as deltas
        if raw_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(raw_weights, float):
            weights.extend([raw_weights] * count)
        else:
            weights.extend(raw_weights)
        if fixed is None or fixed < 0:
            values.extend(raw_values)
        elif fixed == 0:
            values.extend([b""] * count)
        else:
            values.extend(raw_values[j:j + fixed] for j in range(0, len(raw_values), fixed))
        m._next_block()
    return ids, weights, values


def _write_postings(postwriter, limit: int, ids, weights, values, codes) -> None:
    """Fill Whoosh's postings writer a block at a time, as ``add_posting`` would one by one: blocks
    of ``limit`` postings, the last one written by ``finish_postings`` (``finish_term``)."""
    for start in range(0, len(ids), limit):
        end = start + limit
        block_weights = weights[start:end]
        postwriter._ids = array("I", ids[start:end])
        postwriter._weights = array("f", block_weights)
        postwriter._values = [v for v in values[start:end] if v]
        postwriter._maxweight = max(0, max(block_weights))
        present = [c for c in codes[start:end] if c]
        postwriter._minlength = byte_to_length(min(present)) if present else None
        postwriter._maxlength = byte_to_length(max(present)) if present else 0
        if end < len(ids):
            postwriter._write_block()
