"""Postings as numpy arrays, and the arithmetic of Whoosh's matchers and scorers on them:
BM25 over whole arrays, union trees summed in Whoosh's order, blocks decoded at once. Used by
``bulk_scoring``; every function mirrors a Whoosh loop operation for operation, so the floats
come out identical."""
from __future__ import annotations

import functools

import numpy as np
from whoosh.codec import whoosh3
from whoosh.matching import binary
from whoosh.util.numeric import byte_to_length

EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
MASK_LIMIT = 1 << 20   # docnums up to this are united by a mask whatever their number


def union_shape(m, leaf):
    """A tree of UnionMatchers as nested pairs, ``leaf(matcher)`` at the leaves."""
    if type(m) is binary.UnionMatcher:
        return (union_shape(m.a, leaf), union_shape(m.b, leaf))
    return leaf(m)


def sum_shape(shape, parts):
    """Scores of a union tree: each node adds its children's scores, an absent child adding 0.0
    (which leaves a float as it is), so every document's sum is formed in Whoosh's order."""
    if not isinstance(shape, tuple):
        return parts[shape]
    leaves = shape_leaves(shape)
    chain = _chain(shape)
    if chain is not None and _top([parts[i][0] for i in leaves]) <= MASK_LIMIT:
        return _sum_chain([parts[i] for i in chain])
    ids = union_ids([parts[i][0] for i in leaves])
    where = positions_in(ids)
    dense = {}
    for i in leaves:
        d = np.zeros(len(ids))
        d[where(parts[i][0])] = parts[i][1]
        dense[i] = d

    def add(node):
        return dense[node] if isinstance(node, int) else add(node[0]) + add(node[1])

    return ids, add(shape)


def _chain(shape) -> list[int] | None:
    """The leaves of a union tree in an order whose sum from left to right is the tree's, or None.
    Addition commutes, so a node with a leaf child is (its other child) + (that leaf); a node of
    two subtrees, ``(a + b) + (c + d)``, is no chain."""
    if not isinstance(shape, tuple):
        return [shape]
    a, b = shape
    if isinstance(b, tuple):
        a, b = b, a
    if isinstance(b, tuple):
        return None
    rest = _chain(a)
    return None if rest is None else rest + [b]


def _sum_chain(parts) -> tuple[np.ndarray, np.ndarray]:
    """``((p0 + p1) + p2) + ...``: each part's scores added in turn onto one array by docnum
    (half the work of placing each part in an array of the union and adding those)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return EMPTY
    top = _top([p[0] for p in parts])
    present = np.zeros(top, dtype=bool)
    sums = np.zeros(top)
    first_ids, first_scores = parts[0]
    present[first_ids] = True
    sums[first_ids] = first_scores
    for ids, scores in parts[1:]:
        present[ids] = True
        sums[ids] += scores
    ids = np.flatnonzero(present)
    return ids, sums[ids]


def _top(arrays) -> int:
    """One past the largest docnum of ascending docnum arrays (0 when all are empty)."""
    return max((int(a[-1]) + 1 for a in arrays if len(a)), default=0)


def union_ids(arrays: list[np.ndarray]) -> np.ndarray:
    """The sorted union of docnum arrays, by a mask over the docnums unless they are few in a
    large segment: ``np.unique`` sorts them all again (140 ms a query for common words at a
    million passages; 0.4 ms for a union of rare ones in a segment of 30,000)."""
    arrays = [a for a in arrays if len(a)]
    if not arrays:
        return np.empty(0, dtype=np.int64)
    top = _top(arrays)
    if top > MASK_LIMIT and sum(len(a) for a in arrays) * 16 < top:
        return np.unique(np.concatenate(arrays))
    mask = np.zeros(top, dtype=bool)
    for a in arrays:
        mask[a] = True
    return np.flatnonzero(mask)


def positions_in(ids: np.ndarray):
    """A function giving where docnums (all of them in ``ids``, ascending) stand in ``ids``: a
    table by docnum when they fit under ``MASK_LIMIT`` (no binary search per docnum)."""
    if not len(ids) or ids[-1] >= MASK_LIMIT:
        return lambda sub: np.searchsorted(ids, sub)
    table = np.empty(int(ids[-1]) + 1, dtype=np.int64)
    table[ids] = np.arange(len(ids))
    return table.__getitem__


def shape_leaves(shape) -> list[int]:
    if isinstance(shape, tuple):
        return shape_leaves(shape[0]) + shape_leaves(shape[1])
    return [shape]


def passage_bm25(idf, tf, codes, avgfl, k1, b):
    """``PassageBM25Scorer._score``, operation for operation; the length norm, a function of
    the length byte alone, is taken from a table of its 256 values (the same operations on the
    same floats, so the same results, once per byte instead of once per posting)."""
    return idf * tf * (k1 + 1) / (tf + _norms(k1, b, avgfl)[codes])


def bm25f(idf, tf, codes, avgfl, B, K1):
    """``whoosh.scoring.bm25``, operation for operation (its length norm from a table, as above)."""
    return idf * ((tf * (K1 + 1)) / (tf + _norms(K1, B, avgfl)[codes]))


@functools.lru_cache(maxsize=256)
def _norms(k1: float, b: float, avgfl: float) -> np.ndarray:
    """``k1 * ((1 - b) + b * fl / avgfl)`` for the length of each length byte, as both formulas
    write it (``byte_to_length``: scoring reads lengths back from their byte)."""
    return k1 * ((1 - b) + b * LENGTH_OF_BYTE / avgfl)


def accumulate(subs, boost) -> tuple[np.ndarray, np.ndarray]:
    """``ArrayUnionMatcher``: ``a[id] += sub.score() * boost`` sub by sub, scores above 0 kept."""
    ids = union_ids([s[0] for s in subs])
    where = positions_in(ids)
    acc = np.zeros(len(ids))
    for sub_ids, sub_scores in subs:
        acc[where(sub_ids)] += sub_scores * boost
    keep = acc > 0
    return ids[keep], acc[keep]


def decode_postings(m) -> tuple[np.ndarray, np.ndarray]:
    """(docnums, weights) of a W3LeafMatcher from where it stands, block by block."""
    ids, weights = [], []
    if m.is_active() and m._i:  # part of this block was consumed: walk it the slow way
        while m.is_active() and m._i:
            ids.append(np.array([m.id()], dtype=np.int64))
            weights.append(np.array([m.weight()], dtype=np.float64))
            m.next()
    while m.is_active():
        if m._data is None:
            m._read_data()
        raw_ids, raw_weights = m._data[0], m._data[1]
        ids.append(np.cumsum(np.asarray(raw_ids, dtype=np.int64)))  # stored as deltas
        count = m._blocklength
        if raw_weights is None:
            weights.append(np.ones(count))
        elif isinstance(raw_weights, float):  # Whoosh widens it to an array("f") first
            weights.append(np.full(count, np.float32(raw_weights), dtype=np.float64))
        else:  # a tuple of floats
            weights.append(np.asarray(raw_weights, dtype=np.float64))
        m._next_block()
    if not ids:
        return EMPTY
    if len(ids) == 1:
        return ids[0], weights[0]
    return np.concatenate(ids), np.concatenate(weights)


def read_length_codes(reader, fieldname: str, missing: int = 1) -> np.ndarray:
    """The length byte ``reader.doc_field_length`` decodes, for every docnum at once; ``missing``
    when the segment stores no lengths of the field (scoring reads a length of 1, byte 1)."""
    count = reader.doc_count_all()
    codes = np.zeros(count, dtype=np.uint8)
    column = reader._perdoc._cached_reader(whoosh3._lenfield(fieldname), whoosh3.LENGTHS_COLUMN)
    if column is None:
        codes[:] = missing
        return codes
    stored = min(column._count, count)
    codes[:stored] = np.frombuffer(column._dbfile.get(column._basepos, stored), dtype=np.uint8)
    return codes


def walk(m) -> tuple[np.ndarray, np.ndarray]:
    """Any matcher, the ordinary way: its own ids and scores, one at a time."""
    ids, scores = [], []
    while m.is_active():
        ids.append(m.id())
        scores.append(m.score())
        m.next()
    return np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float64)
