"""GET /api/v1/search, GET /api/v1/export and GET /api/v1/suggest."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from index import Filters, SearchRequest

from . import examples
from .formats import negotiate, stream
from .kbstore import get_kb, wait_for_model
from .openapi import alternative_formats, errors, passage_links
from .paging import link_header, page_links
from .schemas import (
    ExportArgs,
    ExportedPassageSchema,
    SearchArgs,
    SearchResponseSchema,
    SuggestArgs,
    SuggestResponseSchema,
)

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="Full-text and tag search, and export")

SEARCH_FORMATS = ("json", "text", "csv", "jsonl")
EXPORT_FORMATS = ("jsonl", "csv", "text", "json")


def filters_from(args: dict) -> Filters:
    return Filters(tags=tuple(args.get("tag", ())), any_tags=tuple(args.get("any_tag", ())),
                   not_tags=tuple(args.get("not_tag", ())), documents=tuple(args.get("document", ())))


@blp.route("/search")
class Search(MethodView):
    @blp.arguments(SearchArgs, location="query")
    @blp.response(200, SearchResponseSchema, example=examples.SEARCH,
                  headers={"Link": {"description": 'rel="next" and rel="prev" pages', "schema": {"type": "string"}},
                           "ETag": {"description": "Changes with every commit to the index",
                                    "schema": {"type": "string"}}})
    @alternative_formats(blp, examples.SEARCH_TEXT, examples.SEARCH_CSV, examples.SEARCH_JSONL)
    @passage_links(blp, "/hits/0/id")
    @errors(blp, 304, 400, 401, 406, 501, 503)
    def get(self, args):
        """Search passages by words and tags

        Ranked by BM25 (mode=lexical), by embedding similarity (semantic) or both fused (hybrid);
        highlighted, with tag facets over the whole filtered result set. `format` (or the
        Accept header) picks JSON, text for a terminal, CSV or JSON Lines; pages link to each other in the
        `Link` header and in `next`/`prev`."""
        fmt = negotiate(args["format"], SEARCH_FORMATS)
        kb = get_kb()
        request = SearchRequest(q=args["q"], filters=filters_from(args), limit=args["limit"],
                                offset=args["offset"], group_by=args["group_by"],
                                highlight=args["highlight"], sort=args["sort"], facets=fmt == "json",
                                syntax=args["syntax"], mode=args["mode"], fusion=args["fusion"])
        wait_for_model(kb, request.mode)
        response = kb.search(request)
        links = page_links(args["offset"], args["limit"], response.total)
        headers = {**link_header(links), "X-Total-Count": str(response.total)}
        if response.partial:  # a shard did not answer: said in every format, never silently short
            headers["X-Partial"] = "true"
        if fmt != "json":
            return stream(response.hits, fmt, headers=headers, total=response.total, query=args["q"],
                          color=args["color"], filename="search", next_url=links["next"])
        body = {"query": args["q"], "mode": args["mode"] or kb.default_mode, "total": response.total,
                "offset": args["offset"], "limit": args["limit"], "hits": response.hits, "facets": response.facets,
                "took_ms": response.took_ms, "partial": response.partial,
                "syntax": response.syntax, "notice": response.notice, **links}
        return body, 200, headers


@blp.route("/export")
class Export(MethodView):
    @blp.arguments(ExportArgs, location="query")
    @blp.response(200, ExportedPassageSchema, content_type="application/x-ndjson",
                  description="Every passage matching the filters, in reading order, streamed: one JSON "
                              "object a line (format=jsonl, the default), or text, CSV, or one JSON object.",
                  example=examples.EXPORT_JSONL)
    @alternative_formats(blp, examples.EXPORT_TEXT, examples.EXPORT_CSV, None, json_example=examples.EXPORT_JSON)
    @errors(blp, 304, 401, 406, 503)
    def get(self, args):
        """Every passage (filters like search), streamed: JSON Lines by default, or CSV, text, JSON

        The same rendering as `kb export --nl/--csv/--text/--json`."""
        fmt = negotiate(args["format"], EXPORT_FORMATS)
        passages = get_kb().export(filters_from(args))
        return stream(passages, fmt, color=args["color"], key="passages", filename="passages")


@blp.route("/suggest")
class Suggest(MethodView):
    @blp.arguments(SuggestArgs, location="query")
    @blp.response(200, SuggestResponseSchema, example=examples.SUGGEST)
    @errors(blp, 304, 401)
    def get(self, args):
        """Completions of the last word and a did-you-mean, with the hits each would give"""
        return {"query": args["q"], **get_kb().suggest(args["q"], args["limit"])}
