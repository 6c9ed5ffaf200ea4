"""The taxonomy and tags corrected by hand: GET /api/v1/taxonomy, PATCH
/api/v1/passages/<id>/tags, POST /api/v1/tags/<tag>/passages and GET /api/v1/tags/<tag>/suggestions
(the same KnowledgeBase calls as ``kb taxonomy show`` and ``kb tag add|remove|suggest``)."""
from __future__ import annotations

import dataclasses

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from index import SearchRequest
from kb.curation import InvalidTags

from .kbstore import get_kb
from .openapi import WRITE_SECURITY, errors
from .resources import passage_or_404
from .search import filters_from
from .tag_schemas import (
    TagEditResultSchema,
    TagEditSchema,
    TagQueryResultSchema,
    TagQuerySchema,
    TagSuggestionArgs,
    TagSuggestionsSchema,
    TaxonomyArgs,
    TaxonomySchema,
)

blp = Blueprint("tags", __name__, url_prefix="/api/v1", description="The taxonomy, and tags corrected by hand")

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")


def _who(given: str | None) -> str:
    return given or f"http:{request.remote_addr or 'unknown'}"


@blp.route("/taxonomy")
class TaxonomyView(MethodView):
    @blp.arguments(TaxonomyArgs(), location="query")
    @blp.response(200, TaxonomySchema)
    @blp.doc(responses={200: {"content": {"application/yaml": {
        "schema": {"type": "object", "description": "The taxonomy file as stored: version, name, topics."},
        "example": "version: 1\nname: science-diplomacy\ntopics: ..."}}}})
    @errors(blp, 304, 401)
    @blp.doc(operationId="getTaxonomy")
    def get(self, args):
        """The knowledge base's taxonomy: JSON (topics with their synonyms), or the YAML as stored"""
        kb = get_kb()
        info = kb.taxonomy_info()
        taxonomy = kb.taxonomy
        accepted = request.accept_mimetypes.best_match(["application/json", *YAML_TYPES])
        if args["format"] == "yaml" or (args["format"] is None and accepted in YAML_TYPES):
            return Response(taxonomy.text, mimetype="application/yaml")
        topics = {t.id: {k: v for k, v in dataclasses.asdict(t).items() if k != "id"} for t in taxonomy.topics.values()}
        return {**info, "topics": topics}


@blp.route("/passages/<path:passage_id>/tags")
class PassageTags(MethodView):
    @blp.arguments(TagEditSchema())
    @blp.response(200, TagEditResultSchema)
    @blp.doc(security=WRITE_SECURITY)
    @errors(blp, 400, 401, 403, 404, 413, 422, 503)
    @blp.doc(operationId="editPassageTags")
    def patch(self, args, passage_id):
        """Add and remove tags on a passage by hand

        `{"add": [...], "remove": [...]}`. Kept through `kb rebuild`, a taxonomy switch, a re-ingest and
        an export: an added tag carries evidence `manual` (who, when), a removed tag stays removed."""
        passage_or_404(passage_id)
        try:
            done = get_kb().curation.edit([passage_id], args["add"], args["remove"], _who(args["by"]))
        except InvalidTags as exc:
            abort(422, message=str(exc), errors={"json": {"add": [str(exc)]}})
        if done["missing"]:   # deleted between the look and the edit
            abort(404, message=f"no passage with id '{passage_id[:200]}'")
        if done["changed"]:
            passage, changed = done["changed"][0], True
        else:
            passage, changed = get_kb().get_passage(passage_id), False
        return {"id": passage_id, "tags": passage["tags"], "manual": passage.get("manual", []), "changed": changed}


@blp.route("/tags/<path:tag>/passages")
class TagPassages(MethodView):
    @blp.arguments(TagQuerySchema())
    @blp.response(200, TagQueryResultSchema)
    @blp.doc(security=WRITE_SECURITY)
    @errors(blp, 400, 401, 403, 413, 422, 503)
    @blp.doc(operationId="tagPassages")
    def post(self, args, tag):
        """Tag every passage a query and its filters find (a dry run unless `dry_run` is false)

        The first answer says how many passages match and how many would change; send the same body
        with `"dry_run": false` to do it. `"remove": true` removes the tag instead."""
        kb = get_kb()
        search = SearchRequest(q=args["q"], filters=filters_from(args), syntax=args["syntax"])
        try:
            return kb.curation.edit_matching(tag, search, remove=args["remove"], dry_run=args["dry_run"],
                                             by=_who(args["by"]), limit=kb.settings.tag_query_limit)
        except InvalidTags as exc:
            abort(422, message=str(exc), errors={"path": {"tag": [str(exc)]}})
        except ValueError as exc:
            abort(422, message=str(exc), errors={"json": {"q": [str(exc)]}})


@blp.route("/tags/<path:tag>/suggestions")
class TagSuggestions(MethodView):
    @blp.arguments(TagSuggestionArgs(), location="query")
    @blp.response(200, TagSuggestionsSchema)
    @errors(blp, 304, 401, 422)
    @blp.doc(operationId="listTagSuggestions")
    def get(self, args, tag):
        """The passages that the passages tagged by hand suggest the tag for, best first

        Like the examples in words (always) or by embeddings (with the semantic extra). Never a tag:
        accept one by adding the tag by hand (PATCH /api/v1/passages/<id>/tags)."""
        return get_kb().tag_suggestions(tag, args["limit"], args["min_score"])
