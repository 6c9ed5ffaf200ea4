"""Health and statistics."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

import kb as kb_package

from . import examples
from .kbstore import get_kb
from .openapi import errors
from .schemas import HealthSchema, StatsSchema

blp = Blueprint("system", __name__, url_prefix="/api/v1", description="Health and statistics")


def kb_version() -> str:
    return kb_package.__version__   # looked up once (kb/__init__.py): every ETag asks for it


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema, example={"status": "ok"})
    @blp.doc(operationId="health")
    def get(self):
        """Liveness: the index opens and answers; ``semantic`` says whether the embedding model is
        off, loading or ready"""
        kb = get_kb()
        kb.version()
        semantic = "off" if not kb.semantic else "ready" if kb.embedder.loaded else "loading"
        return {"status": "ok", "semantic": semantic}


@blp.route("/stats")
class Stats(MethodView):
    @blp.response(200, StatsSchema, example=examples.STATS)
    @errors(blp, 304, 401)
    @blp.doc(operationId="stats")
    def get(self):
        """Counts, index size on disk and versions"""
        return {**get_kb().stats(), "kb_version": kb_version()}
