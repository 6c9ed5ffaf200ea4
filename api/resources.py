"""Passages, documents and tags."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from kb.models import valid_document_id

from .kbstore import get_kb
from .schemas import (DocumentDetailSchema, DocumentListSchema, PageArgs, PassageDetailSchema,
                      SimilarArgs, SimilarResponseSchema, TagListSchema)
from .search import filters_from

blp = Blueprint("resources", __name__, url_prefix="/api/v1", description="Passages, documents and tags")


def _passage_or_404(passage_id: str) -> dict:
    doc_id, sep, ordinal = passage_id.rpartition(":")
    passage = None
    if sep and ordinal.isdigit() and valid_document_id(doc_id):
        passage = get_kb().get_passage(passage_id)
    if passage is None:
        abort(404, message=f"no passage with id '{passage_id[:200]}'")
    return passage


@blp.route("/passages/<path:passage_id>")
class Passage(MethodView):
    @blp.response(200, PassageDetailSchema)
    def get(self, passage_id):
        """One passage, with the ids of the passages before and after it and its tag evidence"""
        return _passage_or_404(passage_id)


@blp.route("/passages/<path:passage_id>/similar")
class SimilarPassages(MethodView):
    @blp.arguments(SimilarArgs, location="query")
    @blp.response(200, SimilarResponseSchema)
    def get(self, args, passage_id):
        """Passages like this one (more like this), excluding itself"""
        _passage_or_404(passage_id)
        hits = get_kb().similar(passage_id, args["limit"], filters_from(args))
        return {"id": passage_id, "hits": hits or []}


@blp.route("/documents")
class Documents(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DocumentListSchema)
    def get(self, args):
        """Every document, with its passage count"""
        total, documents = get_kb().list_documents(args["offset"], args["limit"])
        return {"total": total, "offset": args["offset"], "limit": args["limit"], "documents": documents}


@blp.route("/documents/<path:document_id>")
class Document(MethodView):
    @blp.response(200, DocumentDetailSchema)
    def get(self, document_id):
        """One document: its original text and its passages"""
        doc = get_kb().get_document(document_id) if valid_document_id(document_id) else None
        if doc is None:
            abort(404, message=f"no document with id '{document_id[:200]}'")
        return doc


@blp.route("/tags")
class Tags(MethodView):
    @blp.response(200, TagListSchema)
    def get(self):
        """Every tag with its passage count, label and description"""
        return {"tags": get_kb().tags()}
