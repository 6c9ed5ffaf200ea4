"""The one place that chooses the engine behind ``SearchIndex``: kb calls ``open_index``."""
from __future__ import annotations

from pathlib import Path

from .base import BackendUnavailable, SearchIndex
from .querying import QueryLimits

BACKENDS = ("whoosh", "sphinx")


def open_index(home: str | Path, backend: str = "whoosh", nodes: str | None = None,
               lock_timeout: float = 10.0, limits: QueryLimits | None = None,
               vector_model: str | None = None, postings_cache_bytes: int = 50 * 1024 ** 2) -> SearchIndex:
    """``backend``: ``whoosh`` (embedded, the default) or ``sphinx`` (a SphinxQL cluster listed by
    ``nodes``, e.g. ``h:9306|h:9307,h:9308|h:9309``: shards by ',', mirrors by '|').
    ``vector_model``: store and use passage embeddings of that model (whoosh only; see
    index.whoosh.semantic). ``postings_cache_bytes``: memory for the decoded postings a Whoosh
    index keeps between queries."""
    backend = (backend or "whoosh").strip().lower()
    if backend == "whoosh":
        from .whoosh.engine import WhooshIndex
        return WhooshIndex(home, lock_timeout=lock_timeout, limits=limits, vector_model=vector_model,
                           postings_cache_bytes=postings_cache_bytes)
    if backend == "sphinx":
        if not nodes:
            raise BackendUnavailable("the sphinx backend needs its nodes: set KB_SPHINX_NODES "
                                     "(e.g. 127.0.0.1:9306|127.0.0.1:9307,127.0.0.1:9308) or --sphinx-nodes")
        from .sphinx.engine import SphinxIndex
        return SphinxIndex(home, nodes, lock_timeout=lock_timeout, limits=limits)
    raise BackendUnavailable(f"unknown backend '{backend}': use one of {', '.join(BACKENDS)}")
