"""Tiered merging: segments of like size are merged together, a bounded number at a time.

Whoosh's default policy (``MERGE_SMALL``) merges every segment below a Fibonacci bound, which on
bulk loads re-merges the largest segments again and again (a half-hour stall at a million
passages, #18). Here segments fall into tiers by their live records (below ``FLOOR``, then one tier
per power of ``FACTOR``); when a tier holds ``FACTOR`` segments, its smallest ``FACTOR`` are merged
into one of the next tier, unless the result would exceed ``MAX_MERGED`` records. A bulk load (from
its second commit on, so a write of a few documents never waits for it) merges instead as many of
the smallest as stay within the cap (at least two): a full tier of large segments still merges two
or three at a time (a million passages end in ~11 segments, not 30), and segments past half the
cap are left alone. Each record is rewritten about once per tier. One merge per commit, the
smallest first, so no commit waits long. A merge streams the segments' sorted postings into one
new segment (``segment_merge``) instead of Whoosh's re-sort. Deleted records are dropped by the merge that takes
their segment (a segment's tier counts its live records, so a mostly deleted one merges early)."""
from __future__ import annotations

import math

from whoosh.reading import SegmentReader

from . import segment_merge

FACTOR = 10
FLOOR = 1_000
MAX_MERGED = 250_000


def tier_of(records: int) -> int:
    return 0 if records < FLOOR else 1 + int(math.log(records / FLOOR, FACTOR))


def plan(counts: list[int], partial: bool = False) -> list[int]:
    """Which segments (indexes into ``counts``, their live records) to merge now: none, or the
    smallest ``FACTOR`` of the lowest full tier that stays under ``MAX_MERGED`` (``partial``: as
    many of those as stay under it)."""
    tiers: dict[int, list[int]] = {}
    for i, n in enumerate(counts):
        tiers.setdefault(tier_of(n), []).append(i)
    for tier in sorted(tiers):
        members = sorted(tiers[tier], key=lambda i: counts[i])
        if len(members) >= FACTOR:
            chosen = _under_cap(members[:FACTOR], counts)
            if len(chosen) >= 2 and (partial or len(chosen) == FACTOR):
                return chosen
    return []


def _under_cap(members: list[int], counts: list[int]) -> list[int]:
    """The smallest of ``members`` (sorted by size) whose records add up to at most ``MAX_MERGED``:
    a full tier of large segments still merges two or three at a time, up to the cap."""
    chosen, total = [], 0
    for i in members:
        total += counts[i]
        if total > MAX_MERGED:
            break
        chosen.append(i)
    return chosen


def chosen_segments(segments, partial: bool = False) -> list:
    """The segments ``plan`` picks to merge now (none, or at least two)."""
    chosen = set(plan([seg.doc_count() for seg in segments], partial))
    return [seg for i, seg in enumerate(segments) if i in chosen] if len(chosen) >= 2 else []


def tiered(writer, segments, partial: bool = False):
    """A ``mergetype`` for Whoosh's ``writer.commit``: merge what ``plan`` picks into one new
    segment (``segment_merge``, streaming), keep the rest."""
    return merged(writer, segments, chosen_segments(segments, partial))


def merged(writer, segments, chosen):
    """``segments`` with ``chosen`` (some of them; one is rewritten alone) merged into one new
    segment, for a ``mergetype``."""
    if not chosen:
        return segments
    kept = [seg for seg in segments if seg not in chosen]
    if not segment_merge.supports(writer.schema):   # term vectors: Whoosh's own merge
        for seg in chosen:
            reader = SegmentReader(writer.storage, writer.schema, seg)
            writer.add_reader(reader)
            reader.close()
        return kept
    return kept + [segment_merge.merge(writer.storage, writer.schema, chosen, writer.indexname)]
