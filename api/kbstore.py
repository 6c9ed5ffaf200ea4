"""The knowledge base a worker serves: opened once per process (one long-lived searcher,
refreshed by the index when a commit lands), shared by every request of that worker."""
from __future__ import annotations

import logging
import threading

from flask import current_app

from index import SearchRequest
from kb.core import KnowledgeBase
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
        settings = current_app.config["KB_SETTINGS"]
        # an HTTP write waits less for the lock (a worker is held meanwhile), and an upload is
        # prepared in the request's process: no fork in a server
        kb = KnowledgeBase(settings.replace(lock_timeout=settings.http_lock_timeout, ingest_workers=0))
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


def keep_warm(app) -> bool:
    """A worker's idle work: read what every search needs of the index version at hand (each
    passage's document, the reading order, every document's year and authors) before a request
    asks, so that the first search after a start or a commit need not wait for it (seconds at a
    million documents). Once per version, even if it fails. True when it read anything."""
    try:
        with app.app_context():
            kb = get_kb()
            version = kb.version()
            if app.extensions.get("kb_warmed") == version:
                return False
            app.extensions["kb_warmed"] = version
            kb.search(SearchRequest(q="", limit=1, facets=True, highlight=False))
            return True
    except Exception:   # a broken or busy index: the next request will say what is wrong
        logging.getLogger("kb.api").debug("could not warm the knowledge base", exc_info=True)
        return False


def wait_for_model(kb: KnowledgeBase, mode: str | None) -> None:
    """Before a semantic or hybrid query: the model must be loaded. Waits a little for it, then
    answers 503 with Retry-After rather than hold a worker past its timeout."""
    if (mode or kb.default_mode) == "lexical" or not kb.semantic:
        return
    if not kb.embedder.wait_ready(current_app.config["KB_SETTINGS"].model_wait):
        raise ModelLoading("the embedding model is still loading; retry in a few seconds")
