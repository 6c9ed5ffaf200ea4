"""Fusing rankings: reciprocal rank fusion and normalised score fusion.

Both take each ranking as a list of ``(item, score)`` pairs, best first, already cut to the depth
that counts (items a ranking does not list get nothing from it), and return ``{item: fused}``.

* ``rrf``: Σ 1 / (k + rank) over the rankings (Cormack, Clarke & Büttcher 2009; k = 60 as there).
  It ignores the scores, so it needs no calibration between BM25 and cosine similarity.
* ``normalized``: Σ w · (score − min) / (max − min) over the rankings, min and max taken within
  each ranking (the "convex combination" of Bruch, Gai & Ingber 2023), equal weights by default.
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


def normalized(rankings: Sequence[Ranking], weights: Sequence[float] | None = None) -> dict:
    weights = list(weights) if weights is not None else [1.0 / max(len(rankings), 1)] * len(rankings)
    if len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict = {}
    for weight, ranking in zip(weights, rankings):
        if not ranking:
            continue
        scores = [s for _, s in ranking]
        low, high = min(scores), max(scores)
        span = high - low
        for item, score in ranking:
            value = (score - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * value
    return fused


def fuse(rankings: Sequence[Ranking], method: str = "rrf") -> dict:
    if method == "rrf":
        return rrf(rankings)
    if method == "normalized":
        return normalized(rankings)
    raise ValueError(f"unknown fusion method '{method}' (known: {', '.join(METHODS)})")


def ordered(fused: dict) -> list[tuple[Hashable, float]]:
    """Best first; ties broken by item so that pages are stable."""
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
