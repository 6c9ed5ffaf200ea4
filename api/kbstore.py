"""The knowledge base a worker serves: opened once per process (one long-lived searcher,
refreshed by the index when a commit lands), shared by every request of that worker."""
from __future__ import annotations

from flask import current_app

from kb.core import KnowledgeBase, query_limits


def init_app(app) -> None:
    app.extensions["kb"] = None


def get_kb() -> KnowledgeBase:
    kb = current_app.extensions.get("kb")
    if kb is None:
        config = current_app.config
        limits = query_limits(time_limit=config.get("KB_QUERY_TIME_LIMIT"),
                              max_expansions=config.get("KB_MAX_EXPANSIONS"))
        kb = KnowledgeBase(home=config.get("KB_HOME"), taxonomy=config.get("KB_TAXONOMY"),
                           lock_timeout=config.get("KB_LOCK_TIMEOUT", 5.0), limits=limits,
                           backend=config.get("KB_BACKEND"), nodes=config.get("KB_SPHINX_NODES"))
        current_app.extensions["kb"] = kb
    return kb
