"""Every match of a query with its score, computed a posting block at a time (numpy), with
exactly Whoosh's arithmetic.

kb needs every match of a query anyway (an exact ``total``, facets over the whole result set),
and Whoosh finds them one posting at a time in Python, through a tree of matcher objects. Here
the tree Whoosh would build for ``Searcher.search`` is evaluated array-wise instead: a term's
postings are decoded into arrays (and kept, see ``PostingsCache``), the weighting's formula
(kb's ``PassageBM25``, or Whoosh's ``BM25F``) runs on whole arrays with the same operations in
the same order, and ORs, ANDs and boosts combine arrays in the order the matchers would add
scores. So every score is bit-for-bit the one Whoosh gives (``tests/index/test_bulk_scoring.py``
checks it on every query shape). A matcher or scorer not known here is walked the ordinary way
(its own ``id()``/``score()``), so any query still works, only slower.
"""
from __future__ import annotations

import time

import numpy as np
from whoosh import query, scoring
from whoosh.codec import whoosh3
from whoosh.matching import binary, combo, mcore, wrappers
from whoosh.reading import TermNotFound
from whoosh.util import make_weighted_tree

from ..base import QueryTimeout
from .flat_postings import FlatPostings
from .posting_arrays import (
    EMPTY,
    accumulate,
    bm25f,
    decode_postings,
    passage_bm25,
    read_length_codes,
    sum_shape,
    union_shape,
    walk,
)
from .postings_cache import PostingsCache
from .scoring import PassageBM25, PassageBM25Scorer

TERM_INFOS_KEPT = 50_000  # term infos looked up, kept per searcher (~400 bytes each)
TIMEOUT_POSTINGS = 256  # past the deadline, a query that has read this many postings times out

# matchers evaluated here from their postings, whatever state a parent left them in
# (ArrayUnionMatcher reads its sub-matchers ahead when it is built)
_FROM_POSTINGS = (whoosh3.W3LeafMatcher, wrappers.WrappingMatcher, wrappers.FilterMatcher,
                  binary.UnionMatcher, binary.IntersectionMatcher, binary.AndNotMatcher,
                  binary.AndMaybeMatcher, mcore.NullMatcherClass)


class BulkScorer:
    """One per searcher; decoded postings and field lengths are shared through ``cache``."""

    def __init__(self, searcher, cache: PostingsCache | None = None):
        self.searcher = searcher
        self.cache = cache if cache is not None else PostingsCache(0)
        self._lengths: dict[tuple[str, str], np.ndarray] = {}
        self._deleted: dict[str, np.ndarray] = {}
        self._avgfl: dict[str, float] = {}
        self._flat: dict[str, FlatPostings | None] = {}
        self._infos: dict[tuple[str, str, bytes], tuple[bytes, object] | None] = {}
        self._deadline: float | None = None
        self._decoded = 0

    def matches(self, q, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(docnums ascending, their scores) of every document ``q`` matches, as Whoosh's
        ``Searcher.search`` would score them. QueryTimeout when the postings read pass
        ``TIMEOUT_POSTINGS`` after the monotonic ``deadline``."""
        self._deadline, self._decoded = deadline, 0
        context = self.searcher.context()
        ids, scores = [], []
        for sub, offset in self.searcher.leaf_searchers():
            seg_ids, seg_scores = self._query(q, sub, context)
            if len(seg_ids):
                ids.append(seg_ids.astype(np.int64) + offset)
                scores.append(seg_scores)
        if not ids:
            return EMPTY
        ids, scores = (ids[0], scores[0]) if len(ids) == 1 else (np.concatenate(ids), np.concatenate(scores))
        weighting = self.searcher.weighting
        if weighting.use_final:  # what Whoosh's collector does to each score, document by document
            final = weighting.final
            scores = np.array([final(self.searcher, d, sc) for d, sc in zip(ids.tolist(), scores.tolist())],
                              dtype=np.float64)
        return ids, scores

    def term_docnums(self, fieldname: str, text: str) -> np.ndarray:
        """Docnums (ascending) of the live documents holding a term; no scores."""
        field = self.searcher.schema[fieldname]
        btext = field.to_bytes(text)
        ids = []
        for sub, offset in self.searcher.leaf_searchers():
            reader = sub.reader()
            if (fieldname, btext) not in reader:
                continue
            m = reader.postings(fieldname, btext)
            if type(m) is wrappers.FilterMatcher:
                m = m.child
                m.reset()
            seg_ids, _ = self._decode(reader, m)
            deleted = reader.deleted_docs_set
            if deleted:
                seg_ids = seg_ids[~np.isin(seg_ids, self._deleted_ids(reader, deleted))]
            ids.append(seg_ids + offset)
        return np.concatenate(ids) if ids else EMPTY[0]

    # -------------------------------------------------------------- query tree

    def _query(self, q, searcher, context):
        kind = type(q)
        if kind is query.Term:
            return self._term(q, searcher, context)
        if kind is query.Or and q.matcher_type == q.AUTO_MATCHER and not q.scale:
            subs = q.subqueries
            if not subs:
                return EMPTY
            if len(subs) == 1:  # CompoundQuery.matcher: the single sub's matcher, boost dropped
                return self._query(subs[0], searcher, context)
            if _preloaded(q, searcher, context):
                return self._preloaded_or(q, searcher, context)
            return self._default_or(q, searcher, context)
        return self._eval(q.matcher(searcher, context), searcher.reader())

    def _term(self, q, searcher, context):
        """``query.Term.matcher``, then its scorer's formula, on arrays."""
        reader = searcher.reader()
        found = self._lookup(q, reader)
        if found is None:
            return EMPTY
        btext, info = found
        field = searcher.schema[q.fieldname]
        weighting = context.weighting
        kind = type(weighting)
        if kind not in (PassageBM25, scoring.BM25F) or not field.scorable or q.minquality:
            return self._eval(q.matcher(searcher, context), reader)
        ids, tf, codes = self._postings(reader, q.fieldname, btext, info)
        self._spent(len(ids))
        deleted = reader.deleted_docs_set
        if deleted:
            keep = ~np.isin(ids, self._deleted_ids(reader, deleted))
            ids, tf, codes = ids[keep], tf[keep], codes[keep]
        parent = searcher.get_parent()
        idf = parent.idf(q.fieldname, btext)
        avgfl = self._avgfl.get(q.fieldname)
        if avgfl is None:  # the searcher sums field lengths over segments on every call
            avgfl = self._avgfl[q.fieldname] = (
                weighting.avg_length(searcher, q.fieldname) if kind is PassageBM25
                else parent.avg_field_length(q.fieldname) or 1)
        if kind is PassageBM25:
            scores = passage_bm25(idf, tf, codes, avgfl, weighting.k1, weighting.b)
        else:
            scores = bm25f(idf, tf, codes, avgfl, weighting._field_B.get(q.fieldname, weighting.B), weighting.K1)
        if q.boost != 1.0:
            scores = scores * q.boost  # WrappingMatcher: child.score() * boost
        return ids, scores

    def _preloaded_or(self, q, searcher, context):
        """Whoosh preloads an OR on a small segment (``ArrayUnionMatcher``), adding
        ``sub.score() * boost`` sub by sub and keeping scores above zero."""
        return accumulate([self._query(sub, searcher, context) for sub in q.subqueries], q.boost)

    def _default_or(self, q, searcher, context):
        """A tree of UnionMatchers shaped by ``make_weighted_tree`` on the subqueries' estimated
        sizes (``DefaultOr``). Placeholders of the very classes Whoosh would compare stand in
        for the matchers, so ties in size are broken as Whoosh breaks them."""
        reader = searcher.reader()
        parts, sized = [], []
        for sub in q.subqueries:
            parts.append(self._query(sub, searcher, context))
            if type(sub) is query.Term:   # Term.estimate_size and the class of Term.matcher
                found = self._lookup(sub, reader)
                size = found[1].doc_frequency() if found else 0
                slot = _Slot.of_term(_term_matcher_class(sub, reader, found))
            else:
                size, slot = sub.estimate_size(reader), _Slot.of(sub, searcher, context)
            slot.part = len(parts) - 1
            sized.append((size, slot))
        tree = make_weighted_tree(_Slot.union, sized)
        ids, scores = sum_shape(_slot_shape(tree), parts)
        if q.boost != 1.0:
            scores = scores * q.boost
        return ids, scores

    # -------------------------------------------------------------- matcher tree

    def _eval(self, m, reader, fresh=True) -> tuple[np.ndarray, np.ndarray]:
        """``fresh``: no parent has moved ``m`` on (unions and boosts never do)."""
        kind = type(m)
        if kind is whoosh3.W3LeafMatcher:
            return self._leaf(m, reader, fresh)
        if kind is binary.UnionMatcher:
            parts: list = []

            def leaf(node):
                parts.append(self._eval(node, reader, fresh))
                return len(parts) - 1

            return sum_shape(union_shape(m, leaf), parts)
        if kind is wrappers.WrappingMatcher or kind is wrappers.FilterMatcher:
            ids, scores = self._eval(m.child, reader, fresh and kind is wrappers.WrappingMatcher)
            if kind is wrappers.FilterMatcher:
                keep = np.isin(ids, np.fromiter(m._ids, dtype=np.int64, count=len(m._ids)))
                if m._exclude:
                    keep = ~keep
                ids, scores = ids[keep], scores[keep]
            return ids, scores * m.boost                       # child.score() * boost
        if kind is binary.IntersectionMatcher:
            (a, sa), (b, sb) = self._eval(m.a, reader, False), self._eval(m.b, reader, False)
            ids, ia, ib = np.intersect1d(a, b, assume_unique=True, return_indices=True)
            return ids, sa[ia] + sb[ib]
        if kind is binary.AndMaybeMatcher:
            (a, sa), (b, sb) = self._eval(m.a, reader, False), self._eval(m.b, reader, False)
            _, ia, ib = np.intersect1d(a, b, assume_unique=True, return_indices=True)
            scores = sa.copy()
            scores[ia] = sa[ia] + sb[ib]
            return a, scores
        if kind is binary.AndNotMatcher:
            (a, sa), (b, _) = self._eval(m.a, reader, False), self._eval(m.b, reader, False)
            keep = ~np.isin(a, b, assume_unique=True)
            return a[keep], sa[keep]
        if isinstance(m, mcore.NullMatcherClass):
            return EMPTY
        if kind is combo.ArrayUnionMatcher and m._scored and _from_postings(m._submatchers):
            return accumulate([self._eval(sub, reader, False) for sub in m._submatchers], m._boost)
        return walk(m)

    def _leaf(self, m, reader, fresh):
        if not fresh:
            m.reset()  # a parent has moved it on
        scorer = m.scorer
        kind = type(scorer)
        if kind not in (PassageBM25Scorer, scoring.BM25FScorer) or m._byteids:
            return walk(m)
        ids, tf = self._decode(reader, m)
        self._spent(len(ids))
        codes = self._length_codes(reader, m._term[0])[ids]
        if kind is PassageBM25Scorer:
            return ids, passage_bm25(scorer.idf, tf, codes, scorer.avgfl, scorer.k1, scorer.b)
        return ids, bm25f(scorer.idf, tf, codes, scorer.avgfl, scorer.B, scorer.K1)

    def _spent(self, postings: int) -> None:
        self._decoded += postings
        if (self._deadline is not None and self._decoded >= TIMEOUT_POSTINGS
                and time.monotonic() >= self._deadline):
            raise QueryTimeout("the query ran past the time limit; make it more specific")

    # -------------------------------------------------------------- per-segment data

    def _lookup(self, q, reader) -> tuple[bytes, object] | None:
        """(its bytes, Whoosh's term info) of a Term query's term in a segment; None when the
        segment has no such term (or the field is not in the schema, or the text not of it).
        Looked up once per segment and term: a query asked three times (is it there, its size
        for an OR's tree, where its list starts), a dictionary lookup in Python each."""
        schema = reader.schema
        if q.fieldname not in schema:
            return None
        try:
            btext = schema[q.fieldname].to_bytes(q.text)
        except ValueError:
            return None
        key = (reader.segment().segment_id(), q.fieldname, btext)
        if key in self._infos:
            return self._infos[key]
        if len(self._infos) >= TERM_INFOS_KEPT:
            self._infos.clear()
        try:
            found = (btext, reader.term_info(q.fieldname, btext))
        except TermNotFound:
            found = None
        self._infos[key] = found
        return found

    def _postings(self, reader, fieldname: str, btext: bytes, info):
        key = (reader.segment().segment_id(), fieldname, btext)
        entry = self.cache.get(key)
        if entry is None:
            found = self._flat_list(reader, info._offset)
            if found is None:
                m = reader.postings(fieldname, btext)
                if type(m) is wrappers.FilterMatcher:  # deletions are applied by the caller
                    m = m.child
                    m.reset()
                found = decode_postings(m)
            ids, tf = found
            codes = self._length_codes(reader, fieldname)[ids]
            entry = (ids.astype(np.int32), tf, codes)
            self.cache.put(key, entry)
        return entry

    def _decode(self, reader, m) -> tuple[np.ndarray, np.ndarray]:
        """(docnums, weights) of a leaf matcher standing at its first posting."""
        found = self._flat_list(reader, m._startoffset)
        return found if found is not None else decode_postings(m)

    def _flat_list(self, reader, start: int | None) -> tuple[np.ndarray, np.ndarray] | None:
        """The postings list starting at ``start`` in the segment's postings file, sliced from its
        flat copy (no unpickling), or None when the segment has none of it (inlined: no start)."""
        key = reader.segment().segment_id()
        if key not in self._flat:
            self._flat[key] = FlatPostings.open(reader)
        flat = self._flat[key]
        return flat.postings(start) if flat is not None and start is not None else None

    def _length_codes(self, reader, fieldname: str) -> np.ndarray:
        key = (reader.segment().segment_id(), fieldname)
        codes = self._lengths.get(key)
        if codes is None:
            codes = self._lengths[key] = read_length_codes(reader, fieldname)
        return codes

    def _deleted_ids(self, reader, deleted) -> np.ndarray:
        key = reader.segment().segment_id()
        ids = self._deleted.get(key)
        if ids is None or len(ids) != len(deleted):
            ids = self._deleted[key] = np.fromiter(deleted, dtype=np.int64, count=len(deleted))
        return ids


class _Slot:
    """Placeholders for the matchers of an OR while Whoosh's ``make_weighted_tree`` shapes it:
    instances of the classes Whoosh's matchers would have, made without running their
    constructors, so that comparisons on equal sizes go exactly as Whoosh's go."""

    @staticmethod
    def of_term(cls):
        return _NullSlot() if cls is mcore.NullMatcherClass else cls.__new__(cls)

    @staticmethod
    def of(sub, searcher, context):
        slot = sub.matcher(searcher, context)  # the real one: only its class matters
        return _NullSlot() if slot is mcore.NullMatcher else slot

    @staticmethod
    def union(a, b):
        node = binary.UnionMatcher.__new__(binary.UnionMatcher)
        node.a, node.b = a, b
        return node


class _NullSlot(mcore.NullMatcherClass):
    """``matching.NullMatcher`` is one shared object: a placeholder of its class, per part.
    (Two NullMatchers compare equal either way, and unequal to any other matcher.)"""

    def __init__(self):
        pass


def _term_matcher_class(q, reader, found):
    """The class of what ``query.Term.matcher`` returns in this segment (``found``: its term info)."""
    if found is None:
        return mcore.NullMatcherClass
    if q.boost != 1.0:
        return wrappers.WrappingMatcher
    return wrappers.FilterMatcher if reader.deleted_docs_set else whoosh3.W3LeafMatcher


def _slot_shape(node):
    """The tree ``make_weighted_tree`` made of placeholders, as nested pairs of part numbers (a
    placeholder may be a real matcher, unions included: it is a leaf here all the same)."""
    if hasattr(node, "part"):
        return node.part
    return (_slot_shape(node.a), _slot_shape(node.b))


def _preloaded(q, searcher, context) -> bool:
    """Whether ``query.Or._matcher`` would choose ``PreloadedOr`` here (whoosh 2.7.5's rule)."""
    subs = q.subqueries
    return not (len(subs) < q.TOO_MANY_CLAUSES and (context.needs_current or q.scale or len(subs) == 2
                                                  or searcher.doc_count_all() > 5000))


def _from_postings(matchers) -> bool:
    for m in matchers:
        if type(m) not in _FROM_POSTINGS and not isinstance(m, mcore.NullMatcherClass):
            return False
        children = [getattr(m, name) for name in ("child", "a", "b") if hasattr(m, name)]
        if children and not _from_postings(children):
            return False
    return True
