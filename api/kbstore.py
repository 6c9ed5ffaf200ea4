"""The knowledge base a worker serves: opened once per process (one long-lived searcher,
refreshed by the index when a commit lands), shared by every request of that worker."""
from __future__ import annotations

from flask import current_app

from kb.core import KnowledgeBase


def init_app(app) -> None:
    app.extensions["kb"] = None


def get_kb() -> KnowledgeBase:
    kb = current_app.extensions.get("kb")
    if kb is None:
        config = current_app.config
        kb = KnowledgeBase(home=config.get("KB_HOME"), taxonomy=config.get("KB_TAXONOMY"),
                           lock_timeout=config.get("KB_LOCK_TIMEOUT", 5.0),
                           backend=config.get("KB_BACKEND"), nodes=config.get("KB_SPHINX_NODES"))
        current_app.extensions["kb"] = kb
    return kb
