"""Fusing rankings: reciprocal rank fusion and normalised score fusion.

Both take each ranking as a list of ``(item, score)`` pairs, best first, already cut to the depth
that counts (items a ranking does not list get nothing from it), and return ``{item: fused}``.

* ``rrf``: Σ 1 / (k + rank) over the rankings (Cormack, Clarke & Büttcher 2009; k = 60 as there).
  It ignores the scores, so it needs no calibration between BM25 and cosine similarity.
* ``normalized``: Σ w · (score − floor) / (max − floor) over the rankings (the "convex
  combination" of Bruch, Gai & Ingber 2023), equal weights by default. ``floor`` is the lowest score
  the ranking gives any candidate, what an item it does not list gets from it; by default the
  lowest score listed. Hybrid search passes the floors of the whole candidate set: 0 for BM25 (a
  passage the words do not match) and the lowest cosine of every passage for the vectors, so that
  no cut of a list at an arbitrary depth sets the scale (bench/RELEVANCE.md, "Hybrid").
"""
from __future__ import annotations

from typing import Hashable, Sequence

RRF_K = 60
METHODS = ("rrf", "normalized")

Ranking = Sequence[tuple[Hashable, float]]


def rrf(rankings: Sequence[Ranking], k: int = RRF_K) -> dict:
    fused: dict = {}
    for ranking in rankings:
        for rank, (item, _score) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


def normalized(rankings: Sequence[Ranking], weights: Sequence[float] | None = None,
               floors: Sequence[float | None] | None = None) -> dict:
    weights = list(weights) if weights is not None else [1.0 / max(len(rankings), 1)] * len(rankings)
    floors = list(floors) if floors is not None else [None] * len(rankings)
    if len(weights) != len(rankings) or len(floors) != len(rankings):
        raise ValueError("one weight and one floor per ranking")
    fused: dict = {}
    for weight, floor, ranking in zip(weights, floors, rankings):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        if floor is not None:
            low = min(low, floor)
        span = high - low
        for item, score in ranking:
            value = (score - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * value
    return fused


def fuse(rankings: Sequence[Ranking], method: str = "rrf", floors: Sequence[float | None] | None = None) -> dict:
    """``floors`` (normalized only): each ranking's lowest score over the whole candidate set."""
    if method == "rrf":
        return rrf(rankings)
    if method == "normalized":
        return normalized(rankings, floors=floors)
    raise ValueError(f"unknown fusion method '{method}' (known: {', '.join(METHODS)})")


def ordered(fused: dict) -> list[tuple[Hashable, float]]:
    """Best first; ties broken by item so that pages are stable."""
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
