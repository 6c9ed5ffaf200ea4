"""The knowledge base a worker serves: opened once per process (one long-lived searcher,
refreshed by the index when a commit lands), shared by every request of that worker."""
from __future__ import annotations

import logging
import threading

from flask import current_app

from kb.core import KnowledgeBase, query_limits
from kb.embedding import ModelLoading


_opening = threading.Lock()


def init_app(app) -> None:
    app.extensions["kb"] = None


def get_kb() -> KnowledgeBase:
    kb = current_app.extensions.get("kb")
    if kb is not None:
        return kb
    with _opening:   # the warm-up thread and the first request may both get here
        kb = current_app.extensions.get("kb")
        if kb is not None:
            return kb
        config = current_app.config
        limits = query_limits(time_limit=config.get("KB_QUERY_TIME_LIMIT"),
                              max_expansions=config.get("KB_MAX_EXPANSIONS"))
        kb = KnowledgeBase(home=config.get("KB_HOME"), taxonomy=config.get("KB_TAXONOMY"),
                           lock_timeout=config.get("KB_LOCK_TIMEOUT", 5.0), limits=limits,
                           backend=config.get("KB_BACKEND"), nodes=config.get("KB_SPHINX_NODES"),
                           workers=0)  # an upload is prepared in the request's process: no fork in a server
        current_app.extensions["kb"] = kb
    return kb


def warm_up(app) -> None:
    """Start loading the embedding model in the background as a worker starts, so that the
    first semantic query need not wait for it."""
    try:
        with app.app_context():
            kb = get_kb()
            if kb.semantic:
                kb.embedder.threads = 1   # a query is short; the workers are the parallelism
                kb.embedder.wait_ready(0)
    except Exception:   # the first request will say what is wrong
        logging.getLogger("kb.api").exception("could not open the knowledge base")


def wait_for_model(kb: KnowledgeBase, mode: str | None) -> None:
    """Before a semantic or hybrid query: the model must be loaded. Waits a little for it, then
    answers 503 with Retry-After rather than hold a worker past its timeout."""
    if (mode or kb.default_mode) == "lexical" or not kb.semantic:
        return
    if not kb.embedder.wait_ready(current_app.config.get("KB_MODEL_WAIT", 20.0)):
        raise ModelLoading("the embedding model is still loading; retry in a few seconds")
