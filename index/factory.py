"""The one place that chooses the engine behind ``SearchIndex``: kb calls ``open_index``."""
from __future__ import annotations

import os
from pathlib import Path

from .base import BackendUnavailable, SearchIndex
from .querying import QueryLimits

BACKENDS = ("whoosh", "sphinx")


def open_index(home: str | Path, backend: str | None = None, nodes: str | None = None,
               lock_timeout: float = 10.0, limits: QueryLimits | None = None,
               vector_model: str | None = None) -> SearchIndex:
    """``backend``: ``whoosh`` (embedded, the default) or ``sphinx`` (a SphinxQL cluster listed by
    ``nodes``, e.g. ``h:9306|h:9307,h:9308|h:9309``); each falls back to ``KB_BACKEND`` and
    ``KB_SPHINX_NODES``. ``vector_model``: store and use passage embeddings of that model (whoosh
    only; see index.semantic)."""
    backend = (backend or os.environ.get("KB_BACKEND") or "whoosh").strip().lower()
    if backend == "whoosh":
        from .whoosh_index import WhooshIndex
        return WhooshIndex(home, lock_timeout=lock_timeout, limits=limits, vector_model=vector_model)
    if backend == "sphinx":
        nodes = nodes or os.environ.get("KB_SPHINX_NODES")
        if not nodes:
            raise BackendUnavailable("the sphinx backend needs its nodes: set KB_SPHINX_NODES "
                                     "(e.g. 127.0.0.1:9306|127.0.0.1:9307,127.0.0.1:9308) or --sphinx-nodes")
        from .sphinx_index import SphinxIndex
        return SphinxIndex(home, nodes, lock_timeout=lock_timeout, limits=limits)
    raise BackendUnavailable(f"unknown backend '{backend}': use one of {', '.join(BACKENDS)}")
