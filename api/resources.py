"""Passages and tags."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from kb.models import valid_document_id

from . import examples
from .citation_schemas import CitationFormatArgs
from .formats import negotiate, stream
from .kbstore import get_kb
from .openapi import citation_formats, errors
from .schemas import PassageDetailSchema, SimilarArgs, SimilarResponseSchema, TagListSchema
from .search import filters_from

blp = Blueprint("resources", __name__, url_prefix="/api/v1", description="Passages and tags")


def passage_or_404(passage_id: str) -> dict:
    doc_id, sep, ordinal = passage_id.rpartition(":")
    passage = None
    if sep and ordinal.isdigit() and valid_document_id(doc_id):
        passage = get_kb().get_passage(passage_id)
    if passage is None:
        abort(404, message=f"no passage with id '{passage_id[:200]}'")
    return passage


@blp.route("/passages/<path:passage_id>")
class Passage(MethodView):
    @blp.arguments(CitationFormatArgs(), location="query")
    @blp.response(200, PassageDetailSchema, example=examples.PASSAGE)
    @citation_formats(blp)
    @errors(blp, 304, 401, 404, 406)
    @blp.doc(operationId="getPassage")
    def get(self, args, passage_id):
        """One passage, with the ids of the passages before and after it and its tag evidence

        `format=csl|bibtex|ris` (or the Accept header): the passage's citation instead, its document
        as the entry, its text as the note and its page as the locator (what the search page links to)."""
        fmt = negotiate(args["format"], ("json", "csl", "bibtex", "ris"))
        passage = passage_or_404(passage_id)
        if fmt != "json":
            return stream([passage], fmt, filename=passage["document_id"])
        return passage


@blp.route("/passages/<path:passage_id>/similar")
class SimilarPassages(MethodView):
    @blp.arguments(SimilarArgs(), location="query")
    @blp.response(200, SimilarResponseSchema, example=examples.SIMILAR)
    @errors(blp, 304, 401, 404)
    @blp.doc(operationId="similarPassages")
    def get(self, args, passage_id):
        """Passages like this one (more like this), excluding itself"""
        passage_or_404(passage_id)
        hits = get_kb().similar(passage_id, args["limit"], filters_from(args))
        return {"id": passage_id, "hits": hits or []}


@blp.route("/tags")
class Tags(MethodView):
    @blp.response(200, TagListSchema, example=examples.TAGS)
    @errors(blp, 304, 401)
    @blp.doc(operationId="listTags")
    def get(self):
        """Every tag with its passage count, label and description, and which taxonomy is the
        knowledge base's"""
        kb = get_kb()
        return {"tags": kb.tags(), "taxonomy": kb.taxonomy_info()}
